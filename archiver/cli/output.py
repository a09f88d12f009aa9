"""What the command line prints: verify reports, lookups and searches, as text for people and as JSON for machines."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..capturing.progress import human_bytes
from ..core.humane import moment, span

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
            "problems": [{**asdict(p), "severity": str(p.severity), "line": p.line()} for p in report.problems],
            "keys": [asdict(k) for k in report.keys],
            "timestamps": report.stamps.as_json() if report.stamps else None}


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
        held = set(report.split.held) if report.split else set()
        own = [c for c in report.signed if c not in held]
        lines.append(f"signed: {len(own)} capture(s), checked against {report.key}" + (
            f"; {len(report.signed) - len(own)} imported capture(s) under their own keys (keys/imported/)"
            if len(own) < len(report.signed) else ""))
    if report.key_fingerprint:
        pin = ("pinned by this user" if report.key_pinned == report.key_fingerprint else
               "NOT the key this user pinned" if report.key_pinned else
               "not pinned on this machine: compare it with the fingerprint its owner published")
        lines.append(f"key fingerprint: {report.key_fingerprint} ({pin})")
    lines += [f"key {k.fingerprint}: signed {k.captures_signed} capture(s)"
              + (f" and {k.statements} key statement(s)" if k.statements else "") + f" ({k.role})" for k in report.keys]
    if report.witness_files:
        lines.append(f"witness: {report.witnessed_captures} sealed capture(s) seen, in {', '.join(report.witness_files)}")
    lines += _timestamp_lines(report)
    if report.unsigned:
        lines.append(f"unsigned: {', '.join(report.unsigned)}" if report.signed or report.key else
                     "unsigned workspace: no capture is signed (archiver keygen signs the captures that follow)")
    return "\n".join(lines)


def _timestamp_lines(report: VerifyReport) -> list[str]:
    """One line per timestamp token that checks: its time, authority, serial and policy, and its root."""
    stamps = report.stamps
    if stamps is None:
        return []
    against = f"chains to a root in {', '.join(stamps.roots)}" if stamps.roots else \
        "not checked against a root (timestamp_roots or --tsa-root)"
    return [f"timestamp: capture {c.capture_id}: {c.info.gen_time:%Y-%m-%d %H:%M:%S} UTC by {c.info.tsa}, "
            f"serial {c.info.serial}, policy {c.info.policy} ({c.path}; signature valid, {against})"
            for c in stamps.checks if c.problem is None and c.info is not None]


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
        lines.append(f"nearest to {at:%Y-%m-%d %H:%M:%S} UTC ({span(found[0][1] or 0)} away):")
    else:
        lines.append(f"{len(found)} capture(s) of {url}:")
    for m, _ in found:
        lines.append(f"  {moment(m.datetime)}  {m.status}  capture {m.capture_id}  sha256 {m.payload_sha256}  "
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
        lines.append(f"{title}\n  {m.url}\n  captured {moment(m.datetime)} (capture {m.capture_id})\n"
                     f"  {' '.join(snippet.split())}")
    return "\n\n".join(lines)


def printable(text: object) -> str:
    """``text`` on one line with every control character escaped: archived strings (URLs, reasons,
    flags) never reach the terminal as escape sequences."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(text))


def _table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                      for i, cell in enumerate(row)).rstrip() for row in rows]


def _when(moment: str | None) -> str:
    """'2026-11-30T19:28:03.728800Z' -> '2026-11-30 19:28:03Z'."""
    return f"{moment[:10]} {moment[11:19]}Z" if moment and len(moment) >= 19 else (moment or "?")


def list_text(captures: list[Any]) -> str:
    if not captures:
        return "no capture in this workspace yet (archiver capture URL)"
    rows = [["started", "capture", "resources", "failures", "flags", "signed", "outcome", "seeds"]]
    for c in captures:
        if c.problem:
            rows.append(["?", printable(c.capture_id), "", "", "", "", "unreadable", printable(c.problem)[:200]])
            continue
        seeds = printable(c.seeds[0]) if c.seeds else ""
        if len(c.seeds) > 1:
            seeds += f" (+{len(c.seeds) - 1} more)"
        outcome = "ok" if c.ok else "seed failed"
        if c.imports:           # an import record: it vouches for captures imported from a package
            outcome, seeds = "import", f"vouches for {len(c.imports)} imported capture(s): " + \
                ", ".join(printable(i) for i in c.imports[:3]) + (" ..." if len(c.imports) > 3 else "")
        rows.append([_when(c.started), printable(c.capture_id), str(c.resources), str(c.failures),
                     str(len(c.flags)), "signed" if c.signed else "no", outcome, seeds])
    return "\n".join([*_table(rows, {2, 3, 4}), f"{len(captures)} capture(s), newest first"])


def _browser_lines(pages: Any) -> list[str]:
    """The pages rendered in the browser: how each went, what it showed that static extraction did
    not find, and the records made of it (screenshots, PDF, DOM) with where they are."""
    if not pages:
        return []
    out = [f"\nrendered in the browser ({len(pages)})"]
    for p in pages:
        state = f"error: {printable(p.error)}" if p.error else \
            ("settled" if p.settled else "did not settle (ended at its time bound)")
        out.append(f"  {printable(p.url)}  ({printable(p.why)}; {state}; {p.seconds:.1f} s; {p.archived} of "
                   f"{p.requested} requests archived; {len(p.not_found_statically)} not found statically"
                   + ("" if p.shell_resolved is None else
                      "; empty shell resolved" if p.shell_resolved else "; still an empty shell") + ")")
        out += [f"    {printable(r.kind):<21} {printable(r.content_type):<16} {human_bytes(r.bytes):>9}  "
                f"{printable(r.warc)} @ {r.offset}  {printable(r.record_id)}" for r in p.records]
    return out


def package_import_text(workspace: Any, record_id: str, source: str) -> str | None:
    """What an import of an archiver package did, for a person; None when ``record_id`` is not the
    import record of a package (a foreign file's import is a capture like any other)."""
    from ..index.catalog import manifest_head, read_manifest_of

    imports = manifest_head(workspace, record_id).imports
    if not imports:
        return None
    lines = [f"imported {len(imports)} capture(s) from {printable(source)} (an archiver package, verified first; "
             "ids, manifests, seals and signatures kept as they were):"]
    for cid in imports:
        m = read_manifest_of(workspace, cid)
        seed = printable(m.seeds[0]) if m.seeds else ""
        lines.append(f"  {printable(cid)}  {len(m.resources)} resources  {seed}")
    lines.append(f"import record {printable(record_id)}: sealed in this workspace's chain, it vouches for them "
                 "(archiver verify checks them under their own keys)")
    return "\n".join(lines)


def show_text(detail: Any) -> str:
    m = detail.manifest
    out = [f"capture {printable(m.capture_id)}: " + ("every seed captured" if not m.seed_problems else
                                                     "NOT every seed captured")]
    for problem in m.seed_problems:
        out.append(f"  seed problem  {printable(problem)}")
    out += [f"  seed        {printable(s)}" for s in m.seeds]
    out += _provenance(detail)
    out.append(f"\nresources ({len(m.resources)}; {human_bytes(m.payload_bytes)} of payload)")
    rows = [["status", "role", "type", "size", "URL"]]
    for r in m.resources:
        url = printable(r.url)
        if r.revisit_of is not None:
            url += f"  (revisit: payload in capture {printable(r.revisit_of.capture_id)})"
        if r.truncated:
            url += f"  (truncated: {printable(r.truncated)})"
        if r.via:
            url += f"  via {printable(r.via)}"
        rows.append([str(r.status), r.role.value, printable((r.content_type or "-").split(";")[0])[:40],
                     human_bytes(r.payload_bytes), url])
    out += ["  " + line for line in _table(rows, {3})]
    if m.failures:
        out.append(f"\nfailures ({len(m.failures)})")
        out += [f"  {printable(f.kind)}  {printable(f.url)}: {printable(f.reason)} ({f.role.value}"
                + (f", via {printable(f.via)})" if f.via else ")") for f in m.failures]
    if m.skipped:
        out.append(f"\nskipped ({len(m.skipped)})")
        out += [f"  {printable(s.url)}: {printable(s.reason)}" for s in m.skipped]
    if m.flags:
        out.append(f"\nfidelity flags ({len(m.flags)})")
        out += [f"  {printable(f.flag)}  {printable(f.url)}: {printable(f.detail)}" for f in m.flags]
    out += _browser_lines(m.browser_pages)
    out.append("\nfiles")
    rows = [[f.kind, printable(f.path), human_bytes(f.bytes) if f.bytes is not None else "MISSING",
             f"sha256 {f.sha256}" if f.sha256 else ""] for f in detail.files]
    out += ["  " + line for line in _table(rows, {2})]
    return "\n".join(out)


def _provenance(detail: Any) -> list[str]:
    m = detail.manifest
    operator = m.operator or {}
    who = " ".join(printable(operator.get(k) or "") for k in ("name", "contact")).strip() or "(not set)"
    chain = f"sequence {m.sequence}" if m.sequence is not None else "no sequence (format version 1)"
    chain += (f", after capture {printable(m.previous.capture_id)} (its manifest's sha256 {m.previous.sha256})"
              if m.previous else ", the first in the chain")
    lines = [*_times(m.started, m.ended),
             f"  operator    {who}", f"  host        {printable(m.host or '(not recorded)')}",
             "  software    " + ", ".join(f"{printable(k)} {printable(v)}" for k, v in (m.software or {}).items()),
             "  settings    " + ", ".join(f"{printable(k)}={printable(v)}" for k, v in (m.settings or {}).items()),
             f"  chain       {chain}",
             f"  signed      by key {printable(m.signing_key)}" if m.signing_key else "  signed      no",
             "  addresses   " + (", ".join(printable(a) for a in _addresses(m)) or "(none recorded)")]
    if m.schedule:
        lines.append(f"  schedule    {printable(m.schedule)}")
    if m.imported_from:
        lines.append(f"  imported    {printable(json_line(m.imported_from))}")
    if m.redacted_headers:
        lines.append(f"  redacted    {', '.join(printable(h) for h in m.redacted_headers)} (request header values)")
    lines += [f"  note        {printable(n)}" for n in m.notes]
    return lines + _servers(m.servers)


def _servers(servers: Any) -> list[str]:
    """What each server proved about itself: its addresses and, over TLS, what it presented."""
    lines = []
    for n, s in enumerate(servers):
        default = {"http": 80, "https": 443}.get(s.scheme)
        origin = f"{s.scheme}://{s.host}" + ("" if s.port == default else f":{s.port}")
        lines.append(f"  {'servers' if n == 0 else '':<12}{printable(origin)}  resolved "
                     f"{printable(', '.join(s.addresses)) or '(not looked up)'}, connected "
                     f"{printable(', '.join(s.connected)) or '(none)'}")
        if s.tls is not None:
            lines.append(f"{'':14}{printable(s.tls.version)} {printable(s.tls.cipher)}, {len(s.tls.chain)} "
                         "certificate(s) presented" + ("" if s.tls.complete else " (only the leaf could be read)"))
            lines += [f"{'':16}{printable(c.subject)}, issued by {printable(c.issuer)}, valid {c.not_before} to "
                      f"{c.not_after}, sha256 {c.sha256}" for c in s.tls.chain]
    return lines


def _times(started: str, ended: str) -> list[str]:
    """Start and end with their zone, how long ago and how long it took; the exact values are in --json."""
    from datetime import UTC, datetime

    from ..core.humane import moment, moment_ago, parse_moment, span

    begin, end = parse_moment(started), parse_moment(ended)
    took = f" (took {span((end - begin).total_seconds())})" if begin and end and end >= begin else ""
    return [f"  started     {printable(moment_ago(started, datetime.now(UTC)))}",
            f"  ended       {printable(moment(ended))}{took}"]


def _addresses(m: Any) -> list[str]:
    from ..index.catalog import remote_addresses

    return remote_addresses(m)


def json_line(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
