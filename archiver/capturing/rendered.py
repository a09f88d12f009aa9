"""A rendered page into the capture: its WARC records (screenshots, PDF, DOM after scripts) and its
manifest entry (``browser_pages``, docs/manifest.md).

The screenshots and the PDF are ``resource`` records under ``urn:archiver:<kind>:<page URL>`` (so
replay of the page URL still finds the server's response), ``WARC-Concurrent-To`` the page's
response record; the DOM is a ``conversion`` record of the page URL, ``WARC-Refers-To`` it.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from ..browser.driver import Rendered
from ..core.errors import UsageError
from ..core.models import ArchivedResource, BrowserPage, BrowserRecord
from ..core.urls import canonical
from ..page.fidelity import SHELL_MAX_TEXT
from ..warc.writer import new_record_id, warc_date, write_record

MAX_LISTED = 200              # URLs listed per page as requested by the browser, not found statically


@dataclass(slots=True)
class RenderRecords:
    fragment: IO[bytes]
    records: list[tuple[str, str, str, str, int, str, int]]   # kind, uri, id, type, length, sha256, bytes
    content_types: dict[str, str]


_KINDS = (("screenshot", "image/png", "viewport_png"), ("screenshot-full-page", "image/png", "full_page_png"),
          ("pdf", "application/pdf", "pdf"))


def write_render(rendered: Rendered, page: ArchivedResource | None, *, date: datetime, warcinfo_id: str,
                 level: int, scratch: Path) -> RenderRecords:
    """The records of a rendered page, into a fragment for the WARC writer to append."""
    fragment = tempfile.SpooledTemporaryFile(max_size=2**22, dir=str(scratch))
    made: list[tuple[str, str, str, str, int, str, int]] = []
    types: dict[str, str] = {}
    tie = [("WARC-Concurrent-To", page.record_id)] if page is not None else []
    for kind, ctype, attribute in _KINDS:
        data: bytes = getattr(rendered, attribute)
        if not data:
            continue
        uri = f"urn:archiver:{kind}:{rendered.url}"
        made.append(_record(fragment, "resource", kind, uri, ctype, data, date, warcinfo_id, level, tie))
        types[kind] = ctype
    if rendered.dom:
        refers = [("WARC-Refers-To", page.record_id)] if page is not None else []
        ctype = "text/html; charset=utf-8"
        made.append(_record(fragment, "conversion", "dom", rendered.url, ctype, rendered.dom, date, warcinfo_id,
                            level, refers))
        types["dom"] = ctype
    return RenderRecords(fragment, made, types)


def _record(out: IO[bytes], record_type: str, kind: str, uri: str, ctype: str, data: bytes, date: datetime,
            warcinfo_id: str, level: int, tie: list[tuple[str, str]]) -> tuple[str, str, str, str, int, str, int]:
    record_id = new_record_id()
    digest = hashlib.sha256(data).hexdigest()
    headers = [("WARC-Type", record_type), ("WARC-Record-ID", record_id), ("WARC-Date", warc_date(date)),
               ("WARC-Target-URI", uri), *tie, ("WARC-Warcinfo-ID", warcinfo_id),
               ("WARC-Block-Digest", f"sha256:{digest}"), ("WARC-Payload-Digest", f"sha256:{digest}"),
               ("Content-Type", ctype)]
    store = kind != "dom"          # PNG and PDF are compressed already: stored, not deflated again
    length = write_record(out, headers, [data], len(data), level, store_after=0 if store else None)
    return kind, uri, record_id, record_type, length, digest, len(data)


def browser_page(rendered: Rendered, why: str, made: RenderRecords, *, warc: str, offset: int,
                 archived: set[str], static: set[str], shell: bool) -> BrowserPage:
    """The manifest entry: ``archived`` the URLs this capture archived, ``static`` those static
    extraction found in the page and its stylesheets, ``shell`` whether its static HTML was a shell."""
    records = []
    for kind, uri, record_id, record_type, length, digest, size in made.records:
        records.append(BrowserRecord(kind, uri, record_id, record_type, made.content_types[kind], warc, offset,
                                     length, digest, size))
        offset += length
    requested = list(dict.fromkeys(filter(None, map(_canonical, rendered.requested))))
    missed = [u for u in requested if u not in static and u != rendered.url]
    return BrowserPage(url=rendered.url, why=why, settled=rendered.settled, seconds=round(rendered.seconds, 3),
                       requested=len(requested), archived=sum(u in archived for u in requested),
                       not_found_statically=tuple(missed[:MAX_LISTED]),
                       shell_resolved=(len(rendered.text.strip()) >= SHELL_MAX_TEXT) if shell else None,
                       title=rendered.title or None, records=tuple(records), error=rendered.error)


def _canonical(url: str) -> str | None:
    if not url.startswith(("http://", "https://")):
        return None                    # data:, blob: ... never reach the network
    try:
        return canonical(url)
    except UsageError:
        return None
