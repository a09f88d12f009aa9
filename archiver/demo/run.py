"""``archiver demo``: serve the sample site on loopback, capture it, check the capture."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..capturing.run import capture
from ..citing.citations import cite
from ..citing.formats import FORMATS
from ..core.models import CaptureResult, Role
from ..core.settings import CaptureOptions
from ..core.workspace import Workspace
from ..fixity.verify import verify
from .sample import ARTICLE_PATH, sample_site
from .server import Site


@dataclass(slots=True)
class DemoReport:
    workspace: Path
    article: str
    result: CaptureResult
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    citations: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and self.result.ok

    def text(self) -> str:
        from ..capturing.summary import summary_text

        lines = [f"served the sample site; article: {self.article}", f"workspace: {self.workspace}", "",
                 summary_text(self.result), "", "checks:"]
        lines += [f"  ok       {c}" for c in self.checks]
        lines += [f"  PROBLEM  {p}" for p in self.problems]
        for style, text in self.citations.items():
            lines += ["", f"cite ({style}):", text.rstrip()]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        from ..capturing.summary import summary_json

        return {"workspace": str(self.workspace), "article": self.article, "ok": self.ok,
                "capture": summary_json(self.result), "checks": self.checks, "problems": self.problems,
                "citations": self.citations}


def run_demo(root: Path, site: Site | None = None) -> DemoReport:
    """Capture the sample site into ``root`` and check what was written. ``site``: a started sample
    site, left running (``archiver demo --serve``); else one is started and stopped here."""
    if site is None:
        with sample_site() as own:
            return run_demo(root, own)
    workspace = Workspace(root)
    article = site.url("news", ARTICLE_PATH)
    result = capture([article], workspace, CaptureOptions(timeout=10))
    served = {s.url: s for s in site.served}
    report = DemoReport(root, article, result)
    checked = verify(workspace, [result.capture_id])
    report.problems += [p.line() for p in checked.problems if p.severity == "error"]
    if checked.ok:
        report.checks.append(f"archiver verify: {checked.warc_files} WARC file(s) match the sealed manifest, "
                             f"{checked.records_checked} records' block and payload digests are right")
    mismatched = [r.url for r in result.resources
                  if r.url in served and served[r.url].sha256 != r.payload_sha256]
    compared = sum(1 for r in result.resources if r.url in served)
    if mismatched:
        report.problems.append(f"archived payloads differ from what was served: {', '.join(mismatched)}")
    else:
        report.checks.append(f"{compared} archived payloads equal, byte for byte, what the site served")
    sources = sum(1 for r in result.resources if r.role is Role.SOURCE)
    report.checks.append(f"{sources} linked sources archived, with their requisites")
    items = cite(workspace, [article])
    for style in ("apa", "bibtex", "robust-link"):
        report.citations[style] = FORMATS[style](items)
    return report
