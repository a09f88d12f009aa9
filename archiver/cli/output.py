"""What the command line prints: verify reports, lookups and searches, as text for people and as JSON for machines."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..capturing.progress import human_bytes

if TYPE_CHECKING:
    from ..fixity.verify import VerifyReport


def verify_json(report: VerifyReport) -> dict[str, Any]:
    head = report.head
    return {"ok": report.ok, "mode": "quick" if report.quick else "full", "captures": report.captures,
            "warc_files": report.warc_files, "bytes_hashed": report.bytes_hashed,
            "records_checked": report.records_checked, "signed": report.signed, "unsigned": report.unsigned,
            "public_key": report.key, "key_fingerprint": report.key_fingerprint, "key_pinned": report.key_pinned,
            "witness_files": report.witness_files, "witnessed_captures": report.witnessed_captures,
            "chain_head": {"capture_id": head.capture_id, "sha256": head.sha256, "sequence": head.sequence}
            if head else None,
            "problems": [{**asdict(p), "severity": str(p.severity), "line": p.line()} for p in report.problems]}


def verify_text(report: VerifyReport) -> str:
    lines = [p.line() for p in report.problems]
    errors = sum(1 for p in report.problems if p.severity == "error")
    warnings = len(report.problems) - errors
    mode = "quick check" if report.quick else \
        f"{human_bytes(report.bytes_hashed)} hashed, {report.records_checked} records checked"
    verdict = "all sealed captures intact" if report.ok else f"{errors} problem(s): NOT intact"
    lines.append(f"verified {len(report.captures)} capture(s), {report.warc_files} WARC file(s) ({mode}): "
                 f"{verdict}" + (f", {warnings} warning(s)" if warnings else ""))
    if report.head:
        lines.append(f"chain head: capture {report.head.capture_id}, sequence {report.head.sequence}, "
                     f"manifest sha256 {report.head.sha256}")
    if report.signed:
        lines.append(f"signed: {len(report.signed)} capture(s), checked against {report.key}")
    if report.key_fingerprint:
        pin = ("pinned by this user" if report.key_pinned == report.key_fingerprint else
               "NOT the key this user pinned" if report.key_pinned else
               "not pinned on this machine: compare it with the fingerprint its owner published")
        lines.append(f"key fingerprint: {report.key_fingerprint} ({pin})")
    if report.witness_files:
        lines.append(f"witness: {report.witnessed_captures} sealed capture(s) seen, in {', '.join(report.witness_files)}")
    if report.unsigned:
        lines.append(f"unsigned: {', '.join(report.unsigned)}" if report.signed or report.key else
                     "unsigned workspace: no capture is signed (archiver keygen signs the captures that follow)")
    return "\n".join(lines)


def _memento_json(m: Any) -> dict[str, Any]:
    return {"url": m.url, "datetime": m.datetime, "capture_id": m.capture_id, "status": m.status,
            "mime": m.mime, "payload_sha256": m.payload_sha256, "role": m.role,
            "warc": {"path": m.warc, "offset": m.offset, "length": m.length, "record_id": m.record_id}}


def lookup_json(url: str, at: Any, found: list[tuple[Any, float | None]]) -> dict[str, Any]:
    out: dict[str, Any] = {"url": url, "mementos": [_memento_json(m) for m, _ in found]}
    if at is not None:
        out["at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        out["distance_seconds"] = found[0][1] if found else None
    return out


def lookup_text(url: str, at: Any, found: list[tuple[Any, float | None]]) -> str:
    if not found:
        return f"{url}: no capture in this workspace"
    lines = []
    if at is not None:
        lines.append(f"nearest to {at:%Y-%m-%dT%H:%M:%SZ} ({found[0][1]:.0f} s away):")
    else:
        lines.append(f"{len(found)} capture(s) of {url}:")
    for m, _ in found:
        lines.append(f"  {m.datetime}  {m.status}  capture {m.capture_id}  sha256 {m.payload_sha256}  "
                     f"{m.warc}@{m.offset}")
    return "\n".join(lines)


def search_json(query: str, hits: list[tuple[Any, str, float]]) -> dict[str, Any]:
    return {"query": query, "results": [{**_memento_json(m), "title": ((m.metadata or {}).get("title") or {})
                                         .get("value"), "snippet": snippet, "rank": rank}
                                        for m, snippet, rank in hits]}


def search_text(query: str, hits: list[tuple[Any, str, float]]) -> str:
    if not hits:
        return f"no archived page matches {query!r}"
    lines = []
    for m, snippet, _ in hits:
        title = ((m.metadata or {}).get("title") or {}).get("value") or m.url
        lines.append(f"{title}\n  {m.url}\n  captured {m.datetime} (capture {m.capture_id})\n"
                     f"  {' '.join(snippet.split())}")
    return "\n\n".join(lines)
