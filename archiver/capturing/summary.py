"""The summary of a capture's result, as text for a person and as plain data for JSON."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..core.models import BrowserPage, CaptureResult
from .progress import human_bytes


def summary_json(result: CaptureResult) -> dict[str, Any]:
    return {"capture_id": result.capture_id, "ok": result.ok, "seeds": list(result.seeds),
            "resources": len(result.resources), "failures": [asdict(f) for f in result.failures],
            "skipped": [asdict(s) for s in result.skipped], "flags": [asdict(f) for f in result.flags],
            "seed_problems": list(result.seed_problems), "warc_bytes": result.bytes_archived,
            "payload_bytes": sum(r.payload_bytes for r in result.resources),
            "warc_files": [w.path for w in result.warc_files], "manifest": result.manifest_path,
            "browser_pages": [{"url": p.url, "why": p.why, "settled": p.settled, "requested": p.requested,
                               "archived": p.archived, "not_found_statically": len(p.not_found_statically),
                               "shell_resolved": p.shell_resolved, "error": p.error} for p in result.browser_pages]}


def summary_text(result: CaptureResult) -> str:
    errors = sum(1 for r in result.resources if r.status >= 400)
    lines = [f"capture {result.capture_id}",
             f"  resources  {len(result.resources)} archived ({errors} with an HTTP error status), "
             f"{human_bytes(sum(r.payload_bytes for r in result.resources))} of payload, "
             f"{human_bytes(result.bytes_archived)} in WARC",
             f"  failures   {len(result.failures)}", f"  skipped    {len(result.skipped)}"]
    lines += [f"    failed   {f.url}: {f.reason}" for f in result.failures]
    lines += [f"    skipped  {s.url}: {s.reason}" for s in result.skipped[:20]]
    if len(result.skipped) > 20:
        lines.append(f"    ... and {len(result.skipped) - 20} more skipped (see the manifest)")
    lines += [f"  warning    {f.url}: {f.flag}: {f.detail}" for f in result.flags]
    lines += [f"  browser    {p.url}: {_rendered(p)}" for p in result.browser_pages]
    lines += [f"  problem    {p}" for p in result.seed_problems]
    lines += [f"  warc       {w.path}" for w in result.warc_files]
    lines.append(f"  manifest   {result.manifest_path}")
    return "\n".join(lines)


def _rendered(page: BrowserPage) -> str:
    """How a page went in the browser, in one line."""
    if page.error:
        return f"failed ({page.error})"
    parts = [f"rendered ({page.why}), {page.archived} of {page.requested} requests archived",
             f"{len(page.not_found_statically)} not found statically"]
    if page.shell_resolved is not None:
        parts.append("the shell's text appeared" if page.shell_resolved else "still a shell when rendered")
    if not page.settled:
        parts.append("never settled")
    return ", ".join(parts)
