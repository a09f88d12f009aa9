"""Trusted timestamps for sealed captures (docs/timestamps.md).

After a seal, each configured RFC 3161 authority is asked for a token over the capture's checksum
list (``manifests/<id>.sha256``, exact bytes); a reply that checks (``fixity.tokens``) is stored
whole, DER, beside it: ``<id>.sha256.tsr`` from the first authority, ``<id>.sha256.2.tsr`` from the
second, and so on (``Workspace.timestamp_path``). The manifest, written before any token can
exist, lists the authorities asked (``timestamp_authorities``): the n-th listed fills slot n.

Nothing here fails a seal: an authority that is down, slow, or answers badly leaves its slot empty
and says why; ``archiver timestamp`` (``stamp_missing``) asks again. Bounds: one authority gets
``TSA_TIMEOUT`` seconds from connect to last byte and ``MAX_TOKEN_BYTES`` of reply.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..core.errors import ArchiverError, NotArchivedError, TimestampError
from ..core.models import Manifest
from ..core.workspace import Workspace, atomic_write
from .tokens import MAX_TOKEN_BYTES, TokenInfo, check_reply, check_token, load_roots, new_query

TSA_TIMEOUT = 15.0                  # seconds for one authority, connect to last byte
PRECISION = timedelta(seconds=1)    # a genTime in whole seconds may be up to a second behind the moment


@dataclass(frozen=True, slots=True)
class Stamp:
    """One authority asked for one capture's token: the token stored, or why not."""

    capture_id: str
    slot: int
    authority: str
    path: str | None = None            # the token file written, relative to the workspace
    info: TokenInfo | None = None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"capture_id": self.capture_id, "slot": self.slot, "authority": self.authority, "path": self.path,
                "ok": self.problem is None, "problem": self.problem,
                "token": self.info.as_json() if self.info else None}


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """A stored token as verify found it."""

    capture_id: str
    slot: int
    path: str
    authority: str | None              # the authority the manifest lists for this slot, if any
    info: TokenInfo | None
    problem: str | None

    def as_json(self) -> dict[str, Any]:
        return {"capture_id": self.capture_id, "slot": self.slot, "path": self.path, "authority": self.authority,
                "ok": self.problem is None, "problem": self.problem,
                "token": self.info.as_json() if self.info else None}


def stamp_capture(workspace: Workspace, capture_id: str, wanted: Iterable[tuple[int, str]],
                  roots: tuple[Path, ...] = (), *, timeout: float = TSA_TIMEOUT) -> list[Stamp]:
    """Ask each (slot, authority) for a token over the capture's checksum list; store each that
    checks. Never raises for an authority's fault: the Stamp says what went wrong."""
    wanted = list(wanted)
    try:
        data = workspace.checksum_path(capture_id).read_bytes()
        certificates = load_roots(roots)
    except (OSError, ArchiverError) as exc:
        reason = str(exc) if isinstance(exc, ArchiverError) else f"cannot read the checksum list: {exc.strerror}"
        return [Stamp(capture_id, slot, url, problem=reason) for slot, url in wanted]
    return [_stamp_one(workspace, capture_id, slot, url, data, certificates, timeout) for slot, url in wanted]


def _stamp_one(workspace: Workspace, capture_id: str, slot: int, url: str, data: bytes, roots: list[Any],
               timeout: float) -> Stamp:
    try:
        query = new_query(data)
        raw = post_query(url, query.der, timeout=timeout)
        info = check_reply(raw, data, query, roots, authority=url)
    except TimestampError as exc:
        return Stamp(capture_id, slot, url, problem=exc.reason)
    path = workspace.timestamp_path(capture_id, slot)
    with workspace.lock():
        if path.exists():                     # another process stored one meanwhile: that one stays
            return Stamp(capture_id, slot, url, workspace.relative(path))
        try:
            atomic_write(path, raw)
        except OSError as exc:
            return Stamp(capture_id, slot, url, problem=f"cannot write {workspace.relative(path)}: {exc.strerror}")
    return Stamp(capture_id, slot, url, workspace.relative(path), info)


def post_query(url: str, query: bytes, *, timeout: float = TSA_TIMEOUT) -> bytes:
    """POST an RFC 3161 query (RFC 3161 section 3.4); the reply's body, at most MAX_TOKEN_BYTES,
    read within ``timeout`` seconds in all. TimestampError naming the authority otherwise."""
    import http.client
    import urllib.error
    import urllib.request

    from .. import __version__

    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, data=query, method="POST", headers={
        "Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply",
        "User-Agent": f"archiver/{__version__}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            chunks, size = [], 0
            while size <= MAX_TOKEN_BYTES:
                if time.monotonic() > deadline:
                    raise TimestampError(f"no whole reply within {timeout:g} s", authority=url)
                chunk = response.read1(16384)       # one socket read at most: a drip cannot stretch it
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except urllib.error.HTTPError as exc:
        raise TimestampError(f"HTTP {exc.code} {exc.reason}", authority=url) from None
    except urllib.error.URLError as exc:
        raise TimestampError(f"unreachable: {exc.reason}", authority=url) from None
    except TimeoutError:
        raise TimestampError(f"no reply within {timeout:g} s", authority=url) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise TimestampError(f"the exchange failed: {exc or type(exc).__name__}", authority=url) from None
    if size > MAX_TOKEN_BYTES:
        raise TimestampError(f"the reply is larger than {MAX_TOKEN_BYTES} bytes", authority=url)
    return b"".join(chunks)


def wanted_slots(workspace: Workspace, manifest: Manifest, configured: tuple[str, ...]) -> list[tuple[int, str]]:
    """The (slot, authority) pairs the capture still lacks a token for: the authorities its manifest
    lists; for a capture sealed before any was configured, the configured ones, while it has no token."""
    have = workspace.timestamp_paths(manifest.capture_id)
    if manifest.timestamp_authorities:
        return [(n, url) for n, url in enumerate(manifest.timestamp_authorities, 1) if n not in have]
    return [] if have else list(enumerate(configured, 1))


def stamp_missing(workspace: Workspace, manifests: dict[str, Manifest], capture_ids: list[str] | None,
                  configured: tuple[str, ...], roots: tuple[Path, ...] = ()) -> list[Stamp]:
    """``archiver timestamp``: ask for every token the chosen captures (default: all) lack."""
    for capture_id in capture_ids or []:
        if capture_id not in manifests:
            raise NotArchivedError(f"no sealed capture {capture_id} in this workspace", target=capture_id)
    stamps: list[Stamp] = []
    for capture_id in capture_ids or sorted(manifests):
        wanted = wanted_slots(workspace, manifests[capture_id], configured)
        if wanted:
            stamps += stamp_capture(workspace, capture_id, wanted, roots)
    return stamps


def check_tokens(workspace: Workspace, manifest: Manifest, roots: list[Any]) -> tuple[list[TokenCheck], list[int]]:
    """Every stored token of a capture checked against its checksum list as on disk and the capture's
    start; and the slots its manifest expects a token in that hold none."""
    capture_id = manifest.capture_id
    found = workspace.timestamp_paths(capture_id)
    listed = dict(enumerate(manifest.timestamp_authorities, 1))
    checks = []
    try:
        data: bytes | None = workspace.checksum_path(capture_id).read_bytes()
    except OSError:
        data = None
    for slot, path in found.items():
        rel = workspace.relative(path)
        info, problem = None, None
        try:
            if data is None:
                raise TimestampError("the checksum list it covers cannot be read")
            with open(path, "rb") as fh:
                raw = fh.read(MAX_TOKEN_BYTES + 1)
            info = check_token(raw, data, roots, path=rel)
            problem = _too_early(info, manifest.started)
        except TimestampError as exc:
            problem = exc.reason
        except OSError as exc:
            problem = f"cannot read it: {exc.strerror}"
        checks.append(TokenCheck(capture_id, slot, rel, listed.get(slot), info, problem))
    return checks, [slot for slot in listed if slot not in found]


def _too_early(info: TokenInfo, started: str) -> str | None:
    """A token cannot be older than the capture it seals: its time (with its stated accuracy and the
    precision of whole seconds) before ``started`` means the capture's clock, or the files, lie."""
    from ..core.moments import parse_moment

    try:
        start = parse_moment(started)
    except ArchiverError:
        return f"the capture's start {started!r} is not a time to compare the token's time with"
    if info.gen_time + info.accuracy + PRECISION < start:
        return (f"the token's time {info.gen_time:%Y-%m-%d %H:%M:%S} UTC is before the capture started "
                f"({start:%Y-%m-%d %H:%M:%S.%f} UTC): the capture's times cannot be right")
    return None


@dataclass(frozen=True, slots=True)
class StampReport:
    """What verify found of timestamps: every token checked, every slot a manifest expects but lacks."""

    roots: tuple[str, ...]                         # the root files tokens were checked against
    checks: tuple[TokenCheck, ...] = ()
    missing: tuple[tuple[str, int, str], ...] = ()   # (capture id, slot, authority)

    def as_json(self) -> dict[str, Any]:
        return {"roots": list(self.roots), "tokens": [c.as_json() for c in self.checks],
                "missing": [{"capture_id": cid, "slot": slot, "authority": url} for cid, slot, url in self.missing]}


def judge_tokens(workspace: Workspace, report: Any, roots: tuple[Path, ...]) -> StampReport:
    """verify's part: each chosen capture's tokens checked (a bad one is an error naming the file and
    why), and each token its manifest expects but lacks listed (a warning: authorities go down)."""
    certificates = load_roots(roots)
    checks: list[TokenCheck] = []
    missing: list[tuple[str, int, str]] = []
    for capture_id in report.captures:
        manifest = report.loaded[capture_id].manifest
        found, lacking = check_tokens(workspace, manifest, certificates)
        checks += found
        for check in found:
            if check.problem is not None:
                report.error(f"timestamp token: {check.problem}", capture_id=capture_id, path=check.path)
        for slot in lacking:
            url = manifest.timestamp_authorities[slot - 1]
            missing.append((capture_id, slot, url))
            report.warn(f"no timestamp token yet from {url} (its manifest lists it; 'archiver timestamp' asks again)",
                        capture_id=capture_id, path=workspace.relative(workspace.timestamp_path(capture_id, slot)))
    return StampReport(tuple(str(p) for p in roots), tuple(checks), tuple(missing))
