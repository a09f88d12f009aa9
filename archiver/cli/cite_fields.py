"""``archiver cite --set FIELD=VALUE``: citation fields set by hand, kept in the workspace's
citations.yaml (archiver.citing.overrides); and the warnings cite prints about what a citation lacks."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.workspace import Workspace


def add_set_argument(cite: argparse.ArgumentParser) -> None:
    cite.add_argument("--set", action="append", metavar="FIELD=VALUE",
                      help="set a field the page's markup lacks or gets wrong (title, author: repeat for several, "
                           "date: YYYY[-MM[-DD]], site, publisher, language, kind), kept in the workspace's "
                           "citations.yaml for every later citation of the page, never in its sealed manifest; "
                           "FIELD= removes it (example: --set author='Jane Doe' --set date=2026-11-02)")


def checked_sets(values: list[str] | None) -> Any:
    """The --set values as Changes (UsageError, exit 2, for a bad one), before anything is read."""
    if not values:
        return None
    from ..citing.overrides import parse_sets

    return parse_sets(values)


def keep_sets(ws: Workspace, targets: list[str], changes: Any, at: datetime | None) -> None:
    """Keep ``changes`` for the one page ``targets`` name, and say so on stderr."""
    from ..citing.citations import set_fields
    from ..core.workspace import CITATIONS_FILE

    url, kept = set_fields(ws, targets, changes, at=at)
    done = [f"set {', '.join(changes.set)}" if changes.set else "", f"cleared {', '.join(changes.cleared)}"
            if changes.cleared else ""]
    now = f"; kept for it now: {', '.join(kept)}" if kept else "; nothing is set for it now"
    print(f"archiver: {' and '.join(d for d in done if d)} for {url} in {CITATIONS_FILE}{now} (used by every "
          "citation of it; the sealed manifests are unchanged)", file=sys.stderr)


def warn_about(ws: Workspace, items: list[Any]) -> None:
    """One line on stderr for each source archived as an empty shell or lacking a title, author or date."""
    from ..citing.citations import citation_warnings

    for warning in citation_warnings(ws, items):
        print(f"archiver: warning: {warning.message}", file=sys.stderr)
