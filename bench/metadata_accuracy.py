"""Field accuracy of citation-metadata extractors on the pages of tests/data/metadata_pages/.

Each page was written for the purpose (bylines, JSON-LD with several authors, dates with time zones,
date-only values, a social title differing from the headline, non-English pages); expected.yaml says
what a careful reader would write. Scored per field (title, authors, date, and kind where the
extractor gives one): archiver's own rules (archiver.page.metadata), trafilatura's extract_metadata,
and htmldate's find_date for the date alone.

    python bench/metadata_accuracy.py [--show]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "metadata_pages"
FIELDS = ("title", "authors", "date", "kind")
Extractor = Callable[[str, str], dict[str, Any]]


def archiver_rules(html: str, url: str) -> dict[str, Any]:
    from archiver.page.metadata import extract_metadata, local_date

    meta = extract_metadata(html)
    published = meta.get("published")
    return {"title": meta.get("title"), "authors": meta.get("authors") or [],
            "date": local_date(published) if isinstance(published, str) else None, "kind": meta.get("kind") or "web-page"}


def trafilatura_metadata(html: str, url: str) -> dict[str, Any]:
    from trafilatura.metadata import extract_metadata

    doc = extract_metadata(html, default_url=url)
    authors = [a.strip() for a in (doc.author or "").split(";") if a.strip()]
    return {"title": doc.title, "authors": authors, "date": doc.date}


def htmldate_date(html: str, url: str) -> dict[str, Any]:
    from htmldate import find_date

    return {"date": find_date(html, url=url, original_date=True, extensive_search=True)}


EXTRACTORS: dict[str, Extractor] = {"archiver": archiver_rules, "trafilatura": trafilatura_metadata,
                                    "htmldate": htmldate_date}


def same(field: str, got: Any, want: Any) -> bool:
    if field == "authors":
        return [" ".join(str(a).split()) for a in got or []] == list(want or [])
    if field == "date":
        return (got or None) == want if want is None else str(got or "").startswith(want) and \
            len(str(got)) in (len(want), 10)
    return (" ".join(str(got).split()) if got else None) == want


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--show", action="store_true", help="print every wrong value")
    args = ap.parse_args()
    for folder in (PAGES, PAGES / "held-out"):
        print(f"{folder.relative_to(PAGES.parent.parent.parent)}:")
        score(folder, args.show)
    return 0


def score(folder: Path, show: bool) -> None:
    expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    for name, extract in EXTRACTORS.items():
        right: dict[str, int] = {}
        asked: dict[str, int] = {}
        started = time.perf_counter()
        for page, want in expected.items():
            html = (folder / page).read_text(encoding="utf-8")
            got = extract(html, f"https://news.example/2026/{page}")
            for field in FIELDS:
                if field not in got:
                    continue
                asked[field] = asked.get(field, 0) + 1
                if same(field, got[field], want[field]):
                    right[field] = right.get(field, 0) + 1
                elif show:
                    print(f"    {name} {page} {field}: {got[field]!r}, want {want[field]!r}")
        took = (time.perf_counter() - started) / len(expected) * 1000
        scores = ", ".join(f"{f} {right.get(f, 0)}/{asked[f]}" for f in FIELDS if f in asked)
        print(f"  {name}: {scores} ({took:.1f} ms a page)")


if __name__ == "__main__":
    sys.exit(main())
