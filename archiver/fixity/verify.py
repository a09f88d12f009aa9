"""Verifying a workspace: fixity of every WARC file and record, the manifest chain, the seals and
signatures, and debris left by interrupted captures. Collects every problem, then reports once;
never changes a file.

Quick mode checks presence, sizes, checksum lists, signatures and the chain. Full mode also hashes
every WARC file and checks every record's block and payload digest and that each manifest entry
matches its record.

With more than one worker, full mode cuts the work into tasks for a pool of processes: the sha256
of each file is one task, and the records of each file are checked in ranges of about
``RANGE_BYTES`` (``warcscan.scan_range``; ``join_ranges`` proves the ranges meet at member
boundaries, or the file is scanned again in one pass). The tasks for the WARC files in archive/
start before the manifests are read, so reading them overlaps the scans; the manifests then decide
which results count.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.workspace import Workspace
from ..warc.reader import ScanResult, file_digest, join_ranges, plan_ranges, scan_range, scan_warc
from .lenient import KNOWN, defects_warning, recorded_defects

if TYPE_CHECKING:
    from ..core.models import Manifest, WarcFile
    from .chain import ChainLink
    from .key_history import KeyHistory, KeyUse
    from .segment_check import PackageView, Split
    from .timestamps import StampReport
    from .trust_rules import Finding, SigState


class Severity(StrEnum):
    ERROR = "error"        # a sealed capture is not intact: verify fails
    WARNING = "warning"    # debris or an unsigned capture in a signed workspace: reported, not fatal


@dataclass(frozen=True, slots=True)
class Problem:
    severity: Severity
    message: str
    capture_id: str | None = None
    path: str | None = None
    record_id: str | None = None
    url: str | None = None

    def line(self) -> str:
        where = [p for p in (self.path, self.capture_id and f"capture {self.capture_id}") if p]
        if self.record_id:
            where.append(f"record {self.record_id}" + (f" ({self.url})" if self.url else ""))
        return f"{self.severity}: {': '.join(where + [self.message])}"


@dataclass(slots=True)
class VerifyReport:
    quick: bool
    captures: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    signed: list[str] = field(default_factory=list)
    unsigned: list[str] = field(default_factory=list)
    warc_files: int = 0
    bytes_hashed: int = 0
    records_checked: int = 0
    head: ChainLink | None = None
    key: str | None = None                  # the public key file signatures were checked with
    key_fingerprint: str | None = None
    key_pinned: str | None = None           # the key this user pinned for the workspace, if any
    witness_files: list[str] = field(default_factory=list)
    witnessed_captures: int = 0
    loaded: dict[str, _Loaded] = field(default_factory=dict, repr=False)
    seals: list[SigState] = field(default_factory=list, repr=False)
    split: Split | None = field(default=None, repr=False)   # own chain and held segments (fixity.segment_check)
    stamps: StampReport | None = None       # the RFC 3161 tokens found and checked, and those still missing
    key_history: KeyHistory | None = field(default=None, repr=False)   # statements about keys (fixity.key_history)
    keys: list[KeyUse] = field(default_factory=list)   # every key that signed, and how many captures each

    @property
    def ok(self) -> bool:
        return not any(p.severity is Severity.ERROR for p in self.problems)

    def error(self, message: str, **where: Any) -> None:
        self.problems.append(Problem(Severity.ERROR, message, **where))

    def warn(self, message: str, **where: Any) -> None:
        self.problems.append(Problem(Severity.WARNING, message, **where))


@dataclass(slots=True)
class _Loaded:
    path: Path
    sha256: str
    manifest: Manifest


def verify(workspace: Workspace, capture_ids: list[str] | None = None, *, quick: bool = False,
           trusted_key: Path | None = None, workers: int | None = None, witness_file: Path | None = None,
           expect_head: str | None = None, accept_key: str | None = None,
           package: PackageView | None = None, tsa_roots: tuple[Path, ...] = ()) -> VerifyReport:
    """Check the workspace (or the captures named); the report lists every problem found.

    ``witness_file``: a second witness file (the settings' ``witness``) besides the user's own;
    ``expect_head``: the hex sha256 of a head manifest published earlier (it must still be in the
    chain); ``accept_key``: the fingerprint of a new workspace key to pin instead of the old one.
    ``package``: a package laid out as a workspace, checked as one segment (transfer.package_check).
    ``tsa_roots``: PEM files of the roots timestamp tokens must chain to (fixity.timestamps)."""
    report = VerifyReport(quick=quick)
    scans = _Scans(1 if quick else workers or os.cpu_count() or 1)
    try:
        if not quick:
            scans.start_many(_likely_warcs(workspace, capture_ids))
        _verify(workspace, capture_ids, report, trusted_key, scans, package)
        from .timestamps import judge_tokens

        report.stamps = judge_tokens(workspace, report, tsa_roots)
        if package is None:
            _check_trust(workspace, report, trusted_key, witness_file, expect_head, accept_key)
        else:               # a package: its segment under its own key, no witness and no pinned key
            from .segment_check import judge_segments
            for finding in judge_segments(report.split, report.seals, trusted_key=report.key_fingerprint if trusted_key else None):
                _add(report, finding)
            _tally(report)
    finally:
        scans.close()
    return report


def _verify(workspace: Workspace, capture_ids: list[str] | None, report: VerifyReport, trusted_key: Path | None,
            scans: _Scans, package: PackageView | None = None) -> None:
    # imported here, while the workers already hash: the pool starts without waiting for YAML and crypto
    from ..core.errors import ArchiverError
    from .chain import check_chain, link_of
    from .segment import key_path as segment_key
    from .segment_check import split_chain
    from .signing import fingerprint, load_public_key

    loaded = _load_manifests(workspace, report)
    report.loaded = loaded
    links = {cid: link_of(cid, m.sha256, m.manifest) for cid, m in loaded.items()}
    split = report.split = split_chain(workspace, links, {cid: m.manifest for cid, m in loaded.items()}, package)
    chain = check_chain(split.own)
    report.head = chain.head or split.head
    for capture_id, message in (*chain.problems, *split.problems):
        report.error(message, capture_id=capture_id)
    for capture_id, message in split.pending:
        report.warn(message, capture_id=capture_id)
    selected = capture_ids or sorted(loaded)
    for capture_id in selected:
        if capture_id not in loaded:
            report.error("no manifest for this capture in the workspace", capture_id=capture_id)
    chosen = {cid: loaded[cid] for cid in selected if cid in loaded}
    report.captures = sorted(chosen)
    key_path = trusted_key or (workspace.public_key_path if workspace.public_key_path.exists() else None)
    if key_path is None and package is not None:
        key_path = segment_key(package.segment, package.key_folder, None)
    key = None
    if key_path is not None:
        try:
            key = load_public_key(key_path)
        except ArchiverError as exc:
            if trusted_key is not None:
                raise                       # the user's own file: a usage error
            report.error(str(exc), path=workspace.relative(key_path))
    report.key = str(key_path) if key_path else None
    report.key_fingerprint = fingerprint(key) if key is not None else None
    from .key_history import load_history  # keys over time: old keys, rotations, attestations

    history = report.key_history = load_history(workspace, key, trusted=trusted_key is not None)
    # every capture's seal counts for the signature rules; problems are reported for the chosen ones
    report.seals = [_check_seal(workspace, capture_id, m, key if package and trusted_key else
                                split.key_for(capture_id, m.manifest, history.key_for(m.manifest.signing_key, key)),
                                report if capture_id in chosen else VerifyReport(True))
                    for capture_id, m in loaded.items() if m.manifest.sequence is not None]
    _check_revisits(loaded, chosen, report)
    _check_warcs(workspace, chosen, report, scans if not report.quick else None)
    _find_debris(workspace, loaded, report)


def _check_trust(workspace: Workspace, report: VerifyReport, trusted_key: Path | None, witness_file: Path | None,
                 expect_head: str | None, accept_key: str | None) -> None:
    """Signatures as a whole, the witness and the pinned key (archiver.trustcheck's rules)."""
    from ..core.errors import ArchiverError
    from .segment_check import judge_segments
    from .signing import fingerprint, is_canonical_pem, load_public_key
    from .trust_rules import judge_expected_head, judge_key_pin, judge_signatures, judge_witness
    from .witness import read, record_key, witness_paths

    paths = witness_paths(workspace.root, witness_file)
    witnessed = read(paths)
    report.witness_files = [str(p) for p in witnessed.files]
    report.witnessed_captures = len(witnessed.seals)
    report.key_pinned = witnessed.key
    digests = {cid: m.sha256 for cid, m in report.loaded.items()}
    findings = judge_witness(witnessed, digests)
    workspace_key = None
    if workspace.public_key_path.exists():
        try:
            public_key = load_public_key(workspace.public_key_path)
            workspace_key = fingerprint(public_key)
            if not is_canonical_pem(workspace.public_key_path, public_key):
                report.error("the public key file is not byte for byte the PEM archiver keygen writes: altered",
                             path=workspace.relative(workspace.public_key_path))
        except ArchiverError as exc:
            report.error(str(exc), path=workspace.relative(workspace.public_key_path))
    history = report.key_history
    rotated = history is not None and (history.announced(witnessed.key, workspace_key) if trusted_key is None
                                       else workspace_key in history.accepted)
    if trusted_key is None and not rotated:
        findings += judge_key_pin(witnessed, workspace_key, accept_key)
    elif workspace_key is not None and workspace_key != report.key_fingerprint and not rotated:
        report.error(f"the workspace's public key is {workspace_key}, not the trusted key {report.key_fingerprint}",
                     path=workspace.relative(workspace.public_key_path))
    if accept_key is not None and accept_key == workspace_key and witnessed.key != accept_key:
        record_key(paths[:1], workspace.root, accept_key)
        report.key_pinned = accept_key
    attested, about_heads = history.judge_heads(digests) if history is not None else (None, [])
    findings += (history.findings if history is not None else []) + about_heads
    held = report.split.held if report.split else {}
    findings += judge_signatures([s for s in report.seals if s.capture_id not in held], key_id=report.key_fingerprint,
                                 key_source=report.key, trusted=trusted_key is not None, witnessed=witnessed,
                                 attested=attested)
    findings += judge_segments(report.split, report.seals, trusted_key=None)
    if expect_head is not None:
        findings += judge_expected_head(expect_head, digests)
    _tally(report)
    if history is not None:
        report.keys = history.uses(report.seals, report.key_fingerprint, trusted_key is not None,
                                   frozenset(s.declared_key for s in report.seals if s.capture_id in held and s.declared_key))
    chosen = set(report.captures)
    for f in findings:
        if f.capture_id is None or f.capture_id in chosen or f.capture_id not in report.loaded:
            _add(report, f)


def _tally(report: VerifyReport) -> None:
    report.signed = sorted(s.capture_id for s in report.seals if s.valid and s.capture_id in report.captures)
    report.unsigned = sorted(s.capture_id for s in report.seals if not s.has_signature and s.capture_id in report.captures)


def _add(report: VerifyReport, finding: Finding) -> None:
    if finding.level == "error":
        report.error(finding.message, capture_id=finding.capture_id)
    else:
        report.warn(finding.message, capture_id=finding.capture_id)


RANGE_BYTES = 16 * 2**20    # compressed bytes of records per task: small enough that the workers end together


class _Scans:
    """Full scans of WARC files: in this process with one worker, else as tasks for a process pool,
    started as soon as a file is known and collected when its result is needed."""

    def __init__(self, workers: int) -> None:
        self.pool = None if workers <= 1 else ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"))
        self.jobs: dict[Path, tuple[Future[tuple[str, int]], list[Future[Any]]]] = {}

    def start_many(self, paths: list[Path]) -> None:
        if self.pool is None:
            return
        sizes = {}
        for path in paths:
            try:
                sizes[path] = path.stat().st_size
            except OSError:
                continue
        # every file's hash first: with the ranges after them, the last tasks are small
        hashes = {path: self.pool.submit(file_digest, path) for path in sizes if path not in self.jobs}
        for path, digest in hashes.items():
            cuts = plan_ranges(sizes[path], RANGE_BYTES)
            self.jobs[path] = (digest, [self.pool.submit(scan_range, path, begin, until, n == len(cuts) - 1)
                                        for n, (begin, until) in enumerate(cuts)])

    def result(self, path: Path) -> ScanResult:
        if self.pool is None:
            return scan_warc(path)
        self.start_many([path])
        job = self.jobs.pop(path, None)
        if job is None:
            return scan_warc(path)
        digest, parts = job
        try:
            sha256, size = digest.result()
        except OSError:
            return scan_warc(path)           # says what cannot be read, as one pass does
        return join_ranges(path, sha256, size, [p.result() for p in parts]) or scan_warc(path)

    def close(self) -> None:
        if self.pool is not None:
            try:
                self.pool.shutdown(wait=True, cancel_futures=True)
            except RuntimeError:      # a signal landed while submit started the pool's thread: nothing to join
                self.pool.shutdown(wait=False, cancel_futures=True)


def _likely_warcs(workspace: Workspace, capture_ids: list[str] | None) -> list[Path]:
    """The WARC files a full verify will most likely scan, before any manifest says so: the sealed
    ones in archive/ (of the captures named, if any). A guess only; the manifests decide."""
    if not workspace.archive_dir.is_dir():
        return []
    prefixes = tuple(f"{cid}-" for cid in capture_ids) if capture_ids else ("",)
    return sorted(p for p in workspace.archive_dir.iterdir()
                  if p.name.endswith(".warc.gz") and p.name.startswith(prefixes) and p.is_file())


def _load_manifests(workspace: Workspace, report: VerifyReport) -> dict[str, _Loaded]:
    from ..core.errors import ManifestError
    from .manifest import read_manifest

    loaded: dict[str, _Loaded] = {}
    for path in workspace.manifest_paths():
        rel = workspace.relative(path)
        try:
            raw: bytes | None = path.read_bytes()    # parsed and hashed: the same bytes
        except OSError:
            raw = None                                # read_manifest says why
        try:
            data = read_manifest(path, raw)
        except ManifestError as exc:
            report.error(f"manifest unreadable: {exc}", path=rel)
            continue
        if path.stem != data.capture_id:
            report.error(f"manifest names capture {data.capture_id} but is filed as {path.name}", path=rel)
            continue
        loaded[data.capture_id] = _Loaded(path, hashlib.sha256(raw or path.read_bytes()).hexdigest(), data)
    return loaded


def _check_seal(workspace: Workspace, capture_id: str, m: _Loaded, key: Any | None,
                report: VerifyReport) -> SigState:
    from .signing import signature_valid
    from .trust_rules import SigState

    checksum_path = workspace.checksum_path(capture_id)
    rel = workspace.relative(checksum_path)
    try:
        listed = _parse_checksums(checksum_path.read_text(encoding="utf-8"))
        checksum_bytes = checksum_path.read_bytes()
    except FileNotFoundError:
        report.error("checksum list missing", capture_id=capture_id, path=rel)
        checksum_bytes = None
        listed = {}
    except (OSError, ValueError) as exc:
        report.error(f"checksum list unreadable: {exc}", capture_id=capture_id, path=rel)
        checksum_bytes = None
        listed = {}
    manifest_rel = workspace.relative(m.path)
    if checksum_bytes is not None:
        if listed.get(manifest_rel) != m.sha256:
            report.error(f"manifest edited: its sha256 is {m.sha256}, the checksum list sealed with it says "
                         f"{listed.get(manifest_rel)}", capture_id=capture_id, path=manifest_rel)
        for w in m.manifest.warc_files:
            if listed.get(w.path) != w.sha256:
                report.error(f"the checksum list and the manifest disagree about {w.path}",
                             capture_id=capture_id, path=rel)
        if checksum_bytes != _sealed_checksums(m, manifest_rel):
            report.error("the checksum list is not byte for byte the one sealed with the manifest",
                         capture_id=capture_id, path=rel)
    sig_path = workspace.signature_path(capture_id)
    has_signature = sig_path.exists()
    valid = None
    if has_signature and key is not None:
        try:
            signature = sig_path.read_bytes()
        except OSError:
            signature = b""
        valid = checksum_bytes is not None and signature_valid(key, checksum_bytes, signature)
    return SigState(capture_id, m.manifest.sequence or 0, has_signature, valid, m.manifest.signing_key)


def _check_revisits(loaded: dict[str, _Loaded], chosen: dict[str, _Loaded], report: VerifyReport) -> None:
    """Every revisit record's original must exist in a sealed capture, with the same payload."""
    stored = {(cid, r.record_id): r for cid, m in loaded.items() for r in m.manifest.resources
              if r.revisit_of is None}
    for capture_id, m in chosen.items():
        for res in m.manifest.resources:
            target = res.revisit_of
            if target is None:
                continue
            original = stored.get((target.capture_id, target.record_id))
            if original is None:
                report.error(f"revisit target missing: record {target.record_id} of capture "
                             f"{target.capture_id} holds the payload and is not in the workspace",
                             capture_id=capture_id, path=res.warc, record_id=res.record_id, url=res.url)
            elif original.payload_sha256 != res.payload_sha256:
                report.error(f"revisit target {target.record_id} has another payload",
                             capture_id=capture_id, path=res.warc, record_id=res.record_id, url=res.url)


def _sealed_checksums(m: _Loaded, manifest_rel: str) -> bytes:
    """The checksum list exactly as the seal writes it for this manifest."""
    from .seal import checksum_list

    return checksum_list([(w.sha256, w.path) for w in m.manifest.warc_files] + [(m.sha256, manifest_rel)])


def _parse_checksums(text: str) -> dict[str, str]:
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        digest, sep, path = line.partition("  ")
        if not sep or len(digest) != 64:
            raise ValueError(f"line {n} is not '<sha256>  <path>'")
        out[path] = digest
    return out


def _check_warcs(workspace: Workspace, chosen: dict[str, _Loaded], report: VerifyReport,
                 scans: _Scans | None) -> None:
    todo: list[tuple[str, WarcFile]] = []
    for capture_id, m in chosen.items():
        for w in m.manifest.warc_files:
            path = workspace.root / w.path
            report.warc_files += 1
            if not path.is_file():
                report.error("WARC file missing", capture_id=capture_id, path=w.path)
                continue
            if path.stat().st_size != w.bytes:
                report.error(f"size is {path.stat().st_size} bytes, the manifest says {w.bytes}",
                             capture_id=capture_id, path=w.path)
            todo.append((capture_id, w))
    if scans is None or not todo:
        return
    scans.start_many([workspace.root / w.path for _, w in todo])
    found: dict[str, dict[str, ScanResult]] = {}
    for capture_id, w in todo:
        scan = scans.result(workspace.root / w.path)
        _judge_file(capture_id, w, scan, chosen[capture_id].manifest, report)
        found.setdefault(capture_id, {})[w.path] = scan
    for capture_id, m in chosen.items():
        _judge_entries(capture_id, m.manifest, found.get(capture_id, {}), report)


def _judge_file(capture_id: str, w: WarcFile, scan: ScanResult, manifest: Manifest, report: VerifyReport) -> None:
    report.bytes_hashed += scan.size
    report.records_checked += len(scan.records)
    unchanged = bool(scan.sha256) and scan.sha256 == w.sha256
    if not unchanged and scan.sha256:
        report.error(f"sha256 is {scan.sha256}, the manifest says {w.sha256}", capture_id=capture_id, path=w.path)
    recorded = recorded_defects(manifest, w.path)           # imported damaged with --lenient (fixity.lenient)
    if recorded:
        report.warn(defects_warning(recorded), capture_id=capture_id, path=w.path)
    say, note = (report.warn, KNOWN) if unchanged and recorded else (report.error, "")
    if scan.error:
        from .entry_check import member_named

        record_id, url = member_named(manifest, w.path, scan.error_offset)
        say(scan.error + note, capture_id=capture_id, path=w.path, record_id=record_id, url=url)
    for rec in scan.records:
        for problem in rec.problems:
            say(problem + note, capture_id=capture_id, path=w.path, record_id=rec.record_id, url=rec.target_uri)


def _judge_entries(capture_id: str, manifest: Manifest, scans: dict[str, ScanResult], report: VerifyReport) -> None:
    """Every resource entry against its record (fixity.entry_check), in the files of this capture only."""
    from .entry_check import resource_problems, text_problems

    own = {w.path for w in manifest.warc_files}
    at = {path: {r.offset: r for r in scan.records} for path, scan in scans.items()}
    ids = {r.record_id for scan in scans.values() for r in scan.records}
    for res in manifest.resources:
        where = {"capture_id": capture_id, "path": res.warc, "record_id": res.record_id, "url": res.url}
        if res.warc not in own:
            report.error("the entry points into a WARC file that is not this capture's", **where)
            continue
        if res.warc not in scans:
            continue                                  # missing or unreadable: said already
        rec = at[res.warc].get(res.offset)
        if rec is None:
            if not scans[res.warc].error:
                report.error(f"no record at offset {res.offset}", **where)
            continue
        for problem in resource_problems(res, rec):
            report.error(problem, **where)
        if res.text is not None:
            text_file = res.text.warc or res.warc
            if text_file not in own:
                report.error("the main-text entry points into a WARC file that is not this capture's", **where)
            elif text_file in scans:
                for problem in text_problems(res, res.text, at[text_file].get(res.text.offset)):
                    report.error(problem, **where)
        request = res.request_record_id
        if request and request not in ids and not any(s.error for s in scans.values()):
            report.error(f"its request record {request} is not in the capture's WARC files", **where)


def _find_debris(workspace: Workspace, loaded: dict[str, _Loaded], report: VerifyReport) -> None:
    from .debris import find_debris

    listed = {w.path for m in loaded.values() for w in m.manifest.warc_files}
    for debris in find_debris(workspace, listed, set(loaded)):
        where = "no sealed capture owns this file" if debris.path.startswith("manifests/") else debris.what
        report.warn(f"orphan: {where} (left by a killed capture? 'archiver clean' removes it)", path=debris.path)
