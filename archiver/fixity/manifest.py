"""The capture manifest: a versioned YAML document, written once, atomically, after the WARC files.

The format is described in docs/manifest.md. A manifest is a ``Manifest`` (core.models) both ways:
``build_manifest`` makes one of a finished capture, ``manifest_document`` turns it into the plain
data ``seal`` writes, and ``read_manifest`` reads a file back into the same dataclasses, checking
every field on the way (``ManifestError`` names the first that is wrong). ``manifest_of`` does that
for data already loaded.
"""

from __future__ import annotations

import dataclasses
import platform
import re
import socket
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import __version__
from ..core import yamlemit
from ..core.errors import ManifestError
from ..core.models import (
    ArchivedResource,
    BrowserPage,
    CaptureResult,
    ChainRef,
    Failure,
    Manifest,
    Original,
    PageFlag,
    Role,
    ServerSeen,
    Skipped,
    TextRecord,
    WarcFile,
)
from ..core.settings import MAX_AUTHORITIES, CaptureOptions, Operator
from ..core.yamlload import safe_load
from .manifest_browser import browser_pages_document, read_browser_pages
from .manifest_servers import read_servers, servers_document

FORMAT = "archiver-manifest"
FORMAT_VERSION = 2
REQUIRED = {"format": str, "format_version": int, "capture_id": str, "seeds": list, "started": str,
            "ended": str, "software": dict, "settings": dict, "warc_files": list, "resources": list,
            "failures": list, "skipped": list}
RESOURCE_KEYS = {"url": str, "role": str, "status": int, "payload_sha256": str, "warc": str, "offset": int,
                 "length": int, "record_id": str}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_WARC_PATH = re.compile(r"^archive/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.warc\.gz\Z")
_MAX_INT = 2**63 - 1                 # what SQLite and every other reader can hold
_ROLES = {r.value: r for r in Role}


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def software_versions() -> dict[str, str]:
    """archiver and the libraries that shaped the capture, for provenance."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"archiver": __version__, "python": platform.python_version()}
    for name in ("selectolax", "protego", "pyyaml", "zlib-ng"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


# -- writing -------------------------------------------------------------------------------------

def build_manifest(result: CaptureResult, *, started: datetime, ended: datetime, options: CaptureOptions,
                   operator: Operator, redacted: list[str], schedule: str | None = None,
                   skipped_unlisted: dict[str, int] | None = None, interrupted: bool = False) -> Manifest:
    """The manifest of a finished capture, before the seal sets its place in the chain."""
    return Manifest(
        capture_id=result.capture_id, seeds=tuple(result.seeds), started=iso(started), ended=iso(ended),
        software=software_versions(), settings=options.public(), warc_files=tuple(result.warc_files),
        resources=tuple(result.resources), failures=tuple(result.failures), skipped=tuple(result.skipped),
        flags=tuple(result.flags), seed_problems=tuple(result.seed_problems), format_version=FORMAT_VERSION,
        operator={"name": operator.name, "contact": operator.contact}, host=socket.gethostname(),
        redacted_headers=tuple(redacted), schedule=schedule, skipped_unlisted=skipped_unlisted or None,
        interrupted=interrupted, servers=tuple(result.servers), browser_pages=tuple(result.browser_pages))


_AS_IS = frozenset({str, int, bool, float, dict, list, tuple})     # never a dataclass or a role


def _plain(entry: Any) -> Any:
    """A dataclass as a mapping, None fields left out, nested dataclasses likewise; roles as text."""
    if type(entry) in _AS_IS:
        return entry
    if isinstance(entry, Role):
        return entry.value
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        return {name: _plain(value) for name in _field_names(type(entry))
                if (value := getattr(entry, name)) is not None}
    return entry


@lru_cache(maxsize=64)
def _field_names(kind: type) -> tuple[str, ...]:
    """A dataclass's field names, in order (asked once per class, not once per resource)."""
    return tuple(f.name for f in dataclasses.fields(kind))


def _resource_document(res: ArchivedResource) -> dict[str, Any]:
    """A resource as written. A revisit leaves out what its entry says already (docs/manifest.md,
    "A revisit's compact form"): ``revisit_of.url`` when it is the resource's URL, and the payload
    digest (``revisit_of.payload_digest`` and ``warc_payload_digest``) when both are ``sha256:`` and
    the resource's payload_sha256, and ``revisit_of.warc`` when it is the original capture's first
    WARC file; ``_resource`` puts them back."""
    doc = _plain(res)
    original = res.revisit_of
    if original is None:
        return doc
    if original.url == res.url:
        del doc["revisit_of"]["url"]
    if original.warc == _first_file(original.capture_id):
        del doc["revisit_of"]["warc"]
    digest = f"sha256:{res.payload_sha256}"
    if original.payload_digest == digest and res.warc_payload_digest == digest:
        del doc["revisit_of"]["payload_digest"]
        del doc["warc_payload_digest"]
    return doc


def manifest_document(m: Manifest) -> dict[str, Any]:
    """The manifest as the plain data written to its YAML file, in docs/manifest.md's order."""
    doc: dict[str, Any] = {
        "format": FORMAT, "format_version": m.format_version, "capture_id": m.capture_id,
        "sequence": m.sequence, "previous": _plain(m.previous), "seeds": list(m.seeds),
        "started": m.started, "ended": m.ended, "operator": m.operator, "host": m.host,
        "software": m.software, "settings": m.settings, "redacted_headers": list(m.redacted_headers),
        "summary": {"resources": len(m.resources), "failures": len(m.failures), "skipped": len(m.skipped),
                    "warc_bytes": m.warc_bytes, "payload_bytes": m.payload_bytes},
        "warc_files": [_plain(w) for w in m.warc_files],
        "resources": [_resource_document(r) for r in m.resources],
        "failures": [_plain(f) for f in m.failures],
        "skipped": [_plain(s) for s in m.skipped],
        "flags": [_plain(f) for f in m.flags],
        "seed_problems": list(m.seed_problems),
    }
    for key in ("schedule", "skipped_unlisted", "imported_from"):
        if getattr(m, key) is not None:
            doc[key] = getattr(m, key)
    if m.notes:
        doc["notes"] = list(m.notes)
    if m.interrupted:
        doc["interrupted"] = True
    if m.signing_key is not None:
        doc["signing_key"] = m.signing_key
    if m.timestamp_authorities:
        doc["timestamp_authorities"] = list(m.timestamp_authorities)
    if m.servers:
        doc["servers"] = servers_document(m.servers)
    if m.browser_pages:
        doc["browser_pages"] = browser_pages_document(m.browser_pages)
    return doc


def dump_manifest(document: Manifest | dict[str, Any]) -> bytes:
    """A manifest (or its plain data) as UTF-8 YAML, block style (core.yamlemit: PyYAML reads it back exactly)."""
    data = manifest_document(document) if isinstance(document, Manifest) else document
    return yamlemit.dump(data).encode("utf-8")


# -- reading -------------------------------------------------------------------------------------

def read_manifest(path: Path, raw: bytes | None = None) -> Manifest:
    """Load a manifest and check it follows the format; ManifestError says what is wrong.

    ``raw`` is the file's content when the caller has read it already (verify hashes those bytes)."""
    import yaml

    try:
        data = safe_load(path.read_bytes() if raw is None else raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"cannot be read: {exc}", path=str(path)) from None
    return manifest_of(data, str(path))


def manifest_of(data: Any, where: str = "") -> Manifest:
    """The Manifest of loaded YAML data; ManifestError (naming ``where``) for the first field that is
    missing, of the wrong type or out of range."""
    try:
        return _manifest(data)
    except _Wrong as wrong:
        raise ManifestError(str(wrong), path=where or None) from None


class _Wrong(Exception):  # noqa: N818 - what is wrong, said once by manifest_of with the file's name
    pass


def _manifest(data: Any) -> Manifest:
    if not isinstance(data, dict):
        raise _Wrong("is not a YAML mapping")
    for key, kind in REQUIRED.items():
        if not isinstance(data.get(key), kind):
            raise _Wrong(f"field {key!r} is missing or not a {kind.__name__}")
    if data["format"] != FORMAT:
        raise _Wrong(f"format is {data['format']!r}, expected {FORMAT!r}")
    version = data["format_version"]
    if version > FORMAT_VERSION:
        raise _Wrong(f"format_version {version} is newer than this archiver understands ({FORMAT_VERSION})")
    sequence, previous = data.get("sequence"), data.get("previous")
    if version >= 2:
        if type(sequence) is not int or sequence < 1:
            raise _Wrong("field 'sequence' is missing or not a positive integer")
        if previous is not None and not (isinstance(previous, dict) and type(previous.get("capture_id")) is str
                                         and type(previous.get("sha256")) is str):
            raise _Wrong("field 'previous' must be null or have capture_id and sha256")
    elif sequence is not None or previous is not None:
        raise _Wrong("format_version 1 has no 'sequence' or 'previous'")
    resources = tuple(_resource(res, i) for i, res in enumerate(data["resources"]))
    return Manifest(
        capture_id=data["capture_id"], seeds=_texts(data["seeds"], "seeds"), started=data["started"],
        ended=data["ended"], software=data["software"], settings=data["settings"],
        warc_files=tuple(_warc_file(w, i) for i, w in enumerate(data["warc_files"])), resources=resources,
        failures=tuple(_failure(f, i) for i, f in enumerate(data["failures"])),
        skipped=tuple(_skipped(s, i) for i, s in enumerate(data["skipped"])),
        flags=tuple(_flag(f, i) for i, f in enumerate(_optional(data, "flags", list) or ())),
        seed_problems=_texts(_optional(data, "seed_problems", list) or [], "seed_problems"),
        format_version=version, sequence=sequence,
        previous=ChainRef(previous["capture_id"], previous["sha256"]) if previous else None,
        operator=_optional(data, "operator", dict), host=_optional(data, "host", str),
        redacted_headers=_texts(_optional(data, "redacted_headers", list) or [], "redacted_headers"),
        signing_key=_optional(data, "signing_key", str), schedule=_optional(data, "schedule", str),
        skipped_unlisted=_counts(_optional(data, "skipped_unlisted", dict)),
        imported_from=_optional(data, "imported_from", dict),
        notes=_texts(_optional(data, "notes", list) or [], "notes"),
        interrupted=_optional(data, "interrupted", bool) or False, servers=_servers(data.get("servers")),
        browser_pages=_browser_pages(data.get("browser_pages")),
        timestamp_authorities=_authorities(_optional(data, "timestamp_authorities", list) or []))


def _browser_pages(value: Any) -> tuple[BrowserPage, ...]:
    try:
        return read_browser_pages(value)
    except ValueError as exc:
        raise _Wrong(str(exc)) from None


def _servers(value: Any) -> tuple[ServerSeen, ...]:
    try:
        return read_servers(value)
    except ValueError as exc:
        raise _Wrong(str(exc)) from None


def _optional(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if value is not None and type(value) is not kind:
        raise _Wrong(f"field {key!r} is not a {kind.__name__}")
    return value


def _texts(values: list[Any], what: str) -> tuple[str, ...]:
    if any(type(v) is not str for v in values):
        raise _Wrong(f"field {what!r} is not a list of text")
    return tuple(values)


def _authorities(values: list[Any]) -> tuple[str, ...]:
    if len(values) > MAX_AUTHORITIES:
        raise _Wrong(f"field 'timestamp_authorities' lists {len(values)} authorities; at most {MAX_AUTHORITIES}")
    return _texts(values, "timestamp_authorities")


def _counts(value: dict[str, Any] | None) -> dict[str, int] | None:
    if value is not None and any(type(k) is not str or type(n) is not int for k, n in value.items()):
        raise _Wrong("field 'skipped_unlisted' is not a mapping of reasons to counts")
    return value


def _warc_file(w: Any, i: int) -> WarcFile:
    if not (isinstance(w, dict) and type(w.get("path")) is str and type(w.get("bytes")) is int
            and type(w.get("sha256")) is str and _HEX64.match(w["sha256"])):
        raise _Wrong(f"warc_files[{i}] needs path, bytes and a sha256 of 64 hex digits")
    if w["path"].startswith("/") or ".." in w["path"].split("/"):
        raise _Wrong(f"warc_files[{i}].path {w['path']!r} leaves the workspace")
    if not _WARC_PATH.match(w["path"]) or not 0 <= w["bytes"] <= _MAX_INT:
        raise _Wrong(f"warc_files[{i}] is not a WARC file of archive/ with a size")
    return WarcFile(w["path"], w["bytes"], w["sha256"])


def _role(value: Any, what: str) -> Role:
    role = _ROLES.get(value) if type(value) is str else None
    if role is None:
        raise _Wrong(f"{what}.role is not one of {', '.join(_ROLES)}")
    return role


def _fields(entry: Any, what: str, required: dict[str, type], optional: tuple[str, ...]) -> dict[str, Any]:
    """``entry``'s required fields of their types and its optional text fields (None when absent)."""
    if not isinstance(entry, dict):
        raise _Wrong(f"{what} is not a mapping")
    for key, kind in required.items():
        # YAML builds exact str and int (a bool is not an int here), so the type is the test
        if type(entry.get(key)) is not kind:
            raise _Wrong(f"{what}.{key} is missing or not a {kind.__name__}")
    for key in optional:
        value = entry.get(key)
        if value is not None and type(value) is not str:
            raise _Wrong(f"{what}.{key} is not text")
    return entry


_RESOURCE_MORE = {"depth": int, "payload_bytes": int, "date": str}
_TEXT_KEYS = {"record_id": str, "offset": int, "length": int, "sha256": str, "chars": int}
_ORIGINAL_KEYS = {"capture_id": str, "record_id": str, "url": str, "date": str, "payload_digest": str,
                  "warc": str, "offset": int}


def _resource(res: Any, i: int) -> ArchivedResource:
    # read_manifest's hot loop (verify reads every resource of every manifest): each value fetched
    # once, checked, and handed over by position (ArchivedResource's field order)
    if type(res) is not dict:
        raise _Wrong(f"resources[{i}] is not a mapping")
    get: Any = res.get                 # values of any type: each is checked below
    url, role, status, sha, warc = get("url"), get("role"), get("status"), get("payload_sha256"), get("warc")
    offset, length, record_id = get("offset"), get("length"), get("record_id")
    depth, payload_bytes, date = get("depth"), get("payload_bytes"), get("date")
    # YAML builds exact str and int (a bool is not an int here), so the type is the test
    if not (type(url) is str and type(role) is str and type(status) is int and type(sha) is str
            and type(warc) is str and type(offset) is int and type(length) is int and type(record_id) is str
            and type(depth) is int and type(payload_bytes) is int and type(date) is str):
        for key, kind in _REQUIRED_OF_RESOURCE:
            if type(get(key)) is not kind:
                raise _Wrong(f"resources[{i}].{key} is missing or not a {kind.__name__}")
    texts = (get("via"), get("content_type"), get("request_record_id"), get("remote_address"), get("location"),
             get("truncated"), get("warc_payload_digest"))
    for key, value in zip(_RESOURCE_TEXT, texts):
        if value is not None and type(value) is not str:
            raise _Wrong(f"resources[{i}].{key} is not text")
    if not _HEX64.match(sha):
        raise _Wrong(f"resources[{i}].payload_sha256 is not 64 hex digits")
    if not 0 <= offset <= _MAX_INT or not 0 < length <= _MAX_INT:
        raise _Wrong(f"resources[{i}].offset or length is out of range")
    if not 0 <= status <= 999:
        raise _Wrong(f"resources[{i}].status {status} is not an HTTP status")
    checked_role = _ROLES.get(role)
    if checked_role is None:
        raise _Wrong(f"resources[{i}].role is not one of {', '.join(_ROLES)}")
    metadata, text, original, limits = get("metadata"), get("text"), get("revisit_of"), get("limits")
    if metadata is not None or text is not None or original is not None or limits is not None:
        what = f"resources[{i}]"
        metadata, text = _metadata(metadata, what), _text(text, what)
        original, limits = _original(original, what, url, sha), _limits(limits, what)
    via, content_type, request_record_id, remote_address, location, truncated, digest = texts
    if digest is None and original is not None and "warc_payload_digest" not in res \
            and "payload_digest" not in res["revisit_of"]:
        digest = original.payload_digest          # a revisit's compact form (_resource_document)
    return ArchivedResource(url, checked_role, via, depth, status, content_type, sha, payload_bytes, warc, offset,
                            length, record_id, request_record_id, date, remote_address, location, truncated,
                            metadata, text, digest, original, limits)


_REQUIRED_OF_RESOURCE = tuple({**RESOURCE_KEYS, **_RESOURCE_MORE}.items())
_RESOURCE_TEXT = ("via", "content_type", "request_record_id", "remote_address", "location", "truncated",
                  "warc_payload_digest")


def _limits(value: Any, what: str) -> list[str] | None:
    if value is not None and type(value) is not list:
        raise _Wrong(f"{what}.limits is not a list")
    return None if value is None else list(_texts(value, f"{what}.limits"))


def _metadata(value: Any, what: str) -> dict[str, dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or any(type(k) is not str or not isinstance(v, dict) for k, v in value.items()):
        raise _Wrong(f"{what}.metadata is not a mapping of fields to mappings")
    return value


def _text(value: Any, what: str) -> TextRecord | None:
    if value is None:
        return None
    t = _fields(value, f"{what}.text", _TEXT_KEYS, ("warc",))
    if not 0 <= t["offset"] <= _MAX_INT or not 0 < t["length"] <= _MAX_INT:
        raise _Wrong(f"{what}.text's offset or length is out of range")
    if t.get("warc") is not None and not _WARC_PATH.match(t["warc"]):
        raise _Wrong(f"{what}.text.warc is not a WARC file of archive/")
    return TextRecord(t["record_id"], t["offset"], t["length"], t["sha256"], t["chars"], t.get("warc"))


def _original(value: Any, what: str, url: str, sha: str) -> Original | None:
    """A revisit's original; in the compact form its ``url`` and ``payload_digest`` may be left out
    (they are then the resource's URL and ``sha256:`` its payload_sha256)."""
    if value is None:
        return None
    if isinstance(value, dict) and not value.keys() >= {"url", "payload_digest", "warc"}:
        first = _first_file(value["capture_id"]) if type(value.get("capture_id")) is str else None
        value = {"url": url, "payload_digest": f"sha256:{sha}", "warc": first, **value}
    o = _fields(value, f"{what}.revisit_of", _ORIGINAL_KEYS, ())
    return Original(o["capture_id"], o["record_id"], o["url"], o["date"], o["payload_digest"], o["warc"], o["offset"])


def _first_file(capture_id: str) -> str:
    return f"archive/{capture_id}-00000.warc.gz"


def _failure(f: Any, i: int) -> Failure:
    what = f"failures[{i}]"
    _fields(f, what, {"url": str, "kind": str, "reason": str}, ("via",))
    return Failure(f["url"], _role(f.get("role"), what), f.get("via"), f["kind"], f["reason"])


def _skipped(s: Any, i: int) -> Skipped:
    what = f"skipped[{i}]"
    _fields(s, what, {"url": str, "reason": str}, ("via",))
    return Skipped(s["url"], _role(s.get("role"), what), s.get("via"), s["reason"])


def _flag(f: Any, i: int) -> PageFlag:
    _fields(f, f"flags[{i}]", {"url": str, "flag": str, "detail": str}, ())
    return PageFlag(f["url"], f["flag"], f["detail"])
