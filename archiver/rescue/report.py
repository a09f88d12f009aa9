"""The rescue report: what became of each URL a document cites, kept in the workspace as
``rescues/<capture-id>.json`` (a plain file beside the manifests, never only in the index), and
the ``.links.md`` report written beside a DOCX, PDF or text document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core.workspace import Workspace, atomic_write
from .found import Skip

RESCUES_DIR = "rescues"
FORMAT = "archiver-rescue-1"


@dataclass(frozen=True, slots=True)
class UrlOutcome:
    """One URL the document cites, and what the rescue found."""

    url: str                          # canonical: what was captured
    written: tuple[str, ...]          # as the document writes it (each spelling once)
    where: tuple[str, ...]            # entry keys, DOCX parts, PDF pages (empty for a text format)
    outcome: str                      # captured, dead, failed, robust (an archived copy named already)
    status: int | None = None         # the HTTP status of the last hop
    redirected_to: str | None = None
    reason: str | None = None         # why it failed, or is dead
    archived_url: str | None = None   # the archived copy the robust copy names
    archived_at: str | None = None    # ISO 8601, UTC
    capture_id: str | None = None
    earlier: str | None = None        # dead or failed: the citation of the last good earlier capture
    changed: bool | None = None       # since the document's date (None: not known)
    changed_note: str | None = None


@dataclass(slots=True)
class RescueReport:
    """A rescue as a whole."""

    document: str
    format: str
    document_date: str | None
    capture_id: str | None            # None: nothing needed capturing
    started: str
    urls: list[UrlOutcome] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)    # robust, links, bibliography -> path
    bibliography: str = ""
    saved_as: str | None = None       # the report's file in the workspace

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.urls:
            out[item.outcome] = out.get(item.outcome, 0) + 1
        return out

    def as_json(self) -> dict[str, object]:
        return {"format": FORMAT, **asdict(self), "counts": self.counts()}


def save(workspace: Workspace, report: RescueReport) -> Path:
    """Keep the report in the workspace (once per capture; never rewritten)."""
    assert report.capture_id is not None
    path = workspace.root / RESCUES_DIR / f"{report.capture_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    report.saved_as = str(path)
    atomic_write(path, (json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


MAX_REPORT_BYTES = 16 * 2**20


def document_name(path: str | Path) -> str:
    """The name that ties a document to its robust copies: ``paper.robust.md`` -> ``paper.md``."""
    path = Path(path)
    stem = path.stem.removesuffix(".robust")
    return str(path.resolve().with_name(stem + path.suffix))


def _earlier(workspace: Workspace, document: Path) -> Iterator[dict[str, Any]]:
    """The kept reports of earlier rescues of this document (or of its robust copy), oldest first;
    a report that cannot be read, or is too large, is passed over."""
    folder = workspace.root / RESCUES_DIR
    name = document_name(document)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            if path.stat().st_size > MAX_REPORT_BYTES:
                continue
            data = json.loads(path.read_text("utf-8"))
            if isinstance(data, dict) and isinstance(data.get("urls"), list) \
                    and document_name(str(data["document"])) == name:
                yield data
        except (OSError, ValueError, KeyError, TypeError):
            continue


def known_gone(workspace: Workspace, document: Path) -> dict[str, str]:
    """URLs an earlier rescue of this document (or of its robust copy) found dead or could not
    archive: URL -> that rescue's capture id."""
    out: dict[str, str] = {}
    for data in _earlier(workspace, document):
        try:
            for item in data["urls"]:
                if item.get("outcome") in ("dead", "failed") and not item.get("archived_url"):
                    out[str(item["url"])] = str(data["capture_id"])
                elif str(item.get("url")) in out and item.get("outcome") == "captured":
                    del out[str(item["url"])]
        except (KeyError, TypeError, AttributeError):
            continue
    return out


def known_archived(workspace: Workspace, document: Path) -> dict[str, UrlOutcome]:
    """URLs an earlier rescue of this document archived (its newest copy of each): for a document
    archiver cannot rewrite (DOCX, PDF, text), the rescue reports are where its archived copies are
    named, so a second rescue of it captures nothing again (unless --refresh)."""
    out: dict[str, UrlOutcome] = {}
    for data in _earlier(workspace, document):
        try:
            for item in data["urls"]:
                if item.get("outcome") == "captured" and isinstance(item.get("archived_url"), str):
                    out[str(item["url"])] = UrlOutcome(
                        str(item["url"]), (), (), "robust", status=item.get("status"),
                        archived_url=str(item["archived_url"]), archived_at=str(item.get("archived_at") or ""),
                        capture_id=str(data["capture_id"]))
        except (KeyError, TypeError, AttributeError):
            continue
    return out


def _md(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>|#" else c for c in text)


def links_markdown(report: RescueReport) -> str:
    """The links report in Markdown: each URL, where the document cites it, its archived copy."""
    lines = [f"# Links of {_md(Path(report.document).name)}", ""]
    if report.capture_id:
        lines += [f"Archived by archiver capture {report.capture_id}, {report.started[:10]}.", ""]
    lines += ["| URL | where | outcome | archived copy |", "|---|---|---|---|"]
    for item in report.urls:
        outcome = item.outcome + (f" (HTTP {item.status})" if item.status and item.outcome != "captured" else "")
        if item.redirected_to:
            outcome += f", redirected to <{item.redirected_to}>"
        if item.reason:
            outcome += f": {_md(item.reason)}"
        copy = f"[{item.archived_at[:10]}](<{item.archived_url}>)" if item.archived_url and item.archived_at else ""
        lines.append(f"| <{item.url}> | {_md(', '.join(item.where))} | {outcome} | {copy} |")
    earlier = [item for item in report.urls if item.earlier]
    if earlier:
        lines += ["", "## Gone, archived before", ""] + [f"- {_md(item.earlier or '')}" for item in earlier]
    if report.bibliography:
        lines += ["", "## Sources as archived", "", "```text", report.bibliography.rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def summary(report: RescueReport) -> str:
    """The report for a terminal: one line per URL, then the files written."""
    lines = []
    for item in report.urls:
        line = f"{item.outcome:9} {item.url}"
        if item.redirected_to:
            line += f" -> {item.redirected_to}"
        if item.status and item.outcome != "captured":
            line += f" (HTTP {item.status})"
        if item.reason:
            line += f": {item.reason}"
        if item.archived_url:
            line += f"\n          archived {item.archived_at[:10] + ' ' if item.archived_at else ''}at {item.archived_url}"
        if item.earlier:
            line += f"\n          last good earlier capture: {item.earlier}"
        if item.changed is not None or item.changed_note:
            line += f"\n          {item.changed_note}"
        lines.append(line)
    counts = ", ".join(f"{n} {what}" for what, n in sorted(report.counts().items()))
    lines.append(f"{len(report.urls)} URLs in {report.document}: {counts or 'none'}")
    if report.capture_id:
        lines.append(f"capture {report.capture_id}; report kept as {report.saved_as}")
    for kind, path in report.outputs.items():
        lines.append(f"{kind}: {path}")
    if not report.outputs:
        lines.append("nothing written: " + ("no URL could be archived" if report.capture_id else
                                            "no link needed capturing (--refresh captures again)" if report.urls
                                            else "the document cites no http(s) URL"))
    return "\n".join(lines) + "\n"
