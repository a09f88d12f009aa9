"""archiver rescue FILE: archive every URL a document cites, and write it back with Robust Links."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..core.errors import ArchiverError, UsageError
from .commands import checked_text, note_local_copies, style_renderer, workspace_root

EPILOG_RESCUE = """example:
  archiver rescue paper.md            # paper.robust.md, paper.sources.txt; also .html, .bib, .docx, .pdf, .txt
  archiver rescue refs.bib --depth 0 --json
  archiver rescue paper.robust.md --refresh   # capture again, add the new copies beside the old"""


def add_rescue_command(sub: Any, command: Any) -> None:
    """The ``rescue`` sub-command on ``sub`` (the parser's sub-parsers), running ``command``."""
    from ..core.capture_options import bounds_help

    parser = sub.add_parser("rescue", help="archive every URL a document cites; write it back with Robust Links",
                            description="Find every URL FILE cites (Markdown, HTML, BibTeX, text, DOCX, PDF; not "
                                        "in code), capture those without an archived copy in one sealed capture, "
                                        "and write beside FILE, never over it: FILE.robust.EXT with Robust Links "
                                        "(.md, .html, .bib), a .links.md report (.docx, .pdf, .txt), a "
                                        "bibliography (.sources.*). The report per URL is kept in the workspace "
                                        "(rescues/). Exits 1 when a URL could be archived neither now nor before.",
                            epilog=EPILOG_RESCUE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(func=command)
    parser.add_argument("file", metavar="FILE", help="the document: .md, .html, .bib (a robust copy beside it), "
                                                     ".txt, .docx, .pdf (a .links.md report beside it)")
    parser.add_argument("--depth", type=int, default=0,
                        help=f"capture depth as for capture, {bounds_help('depth')} (default 0: each page with "
                             "its requisites)")
    parser.add_argument("--style", metavar="STYLE",
                        help="the bibliography's style: any --style of cite (default: citation_style in "
                             "archiver.yaml, else apa)")
    parser.add_argument("--refresh", action="store_true",
                        help="capture links that name an archived copy already, and add the new copy beside it")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def cmd_rescue(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..capturing.progress import TerminalProgress
    from ..core.capture_options import OptionError
    from ..core.settings import load_settings
    from ..core.workspace import Workspace
    from ..rescue.run import RescueRequest, rescue

    root, _ = workspace_root(args)
    if root.exists() and not root.is_dir():
        raise UsageError(f"workspace {root} is not a folder")
    path = Path(checked_text("FILE", args.file))
    settings = load_settings(root)
    render = style_renderer(args.style, settings, root)
    try:
        options = replace(settings.capture, depth=args.depth)
    except OptionError as exc:
        raise UsageError(f"--depth {exc.problem}") from None
    style = args.style or settings.citation_style
    progress = TerminalProgress()
    try:
        report = rescue(RescueRequest(path, style, render, args.refresh), Workspace(root), options,
                        settings=settings, progress=progress,
                        announce=lambda line: print(f"archiver: rescue: {line}", file=sys.stderr, flush=True))
    finally:
        progress.clear()
    from ..rescue.report import summary

    if args.json:
        print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(summary(report))
        if report.bibliography:
            sys.stdout.write("\n" + report.bibliography)
    if report.outputs:
        note_local_copies(settings)
    lost = [u for u in report.urls if u.outcome in ("dead", "failed") and not u.archived_url]
    if lost:
        raise ArchiverError(f"{len(lost)} of {len(report.urls)} URLs could not be archived: {lost[0].url}")
    return 0
