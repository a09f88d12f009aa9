"""A rendered page into the capture: its WARC records (screenshots, PDF, DOM after scripts) and its
manifest entry (``browser_pages``, docs/manifest.md).

The screenshots and the PDF are ``resource`` records under ``urn:archiver:<kind>:<page URL>`` (so
replay of the page URL still finds the server's response), ``WARC-Concurrent-To`` the page's
response record; the DOM is a ``conversion`` record of the page URL, ``WARC-Refers-To`` it.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import IO

from ..browser.driver import Rendered
from ..core.capture_options import CaptureOptions
from ..core.errors import UsageError
from ..core.models import ArchivedResource, BrowserPage, BrowserRecord, Failure, PageFlag, Role, TextRecord
from ..core.urls import canonical
from ..page.fidelity import SHELL_MAX_TEXT, is_javascript_shell
from ..page.links import PageLinks
from ..warc.writer import WarcFileWriter, new_record_id, warc_date, write_conversion, write_record

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


@dataclass(slots=True)
class RenderOutcome:
    """What a rendered page adds to its capture's manifest."""

    page: BrowserPage
    failures: list[Failure] = field(default_factory=list)
    flags: list[PageFlag] = field(default_factory=list)


def record_render(rendered: Rendered, why: str, resources: list[ArchivedResource], parsed: object, *,
                  static: set[str], writer: WarcFileWriter, warc: str, options: CaptureOptions, date: datetime,
                  scratch: Path, elsewhere: set[str] | frozenset[str] = frozenset()) -> RenderOutcome:
    """Append a rendered page's records to ``writer`` (its file named ``warc`` in the manifest) and
    describe it: its ``browser_pages`` entry, a failure if the browser failed, a flag if it never
    settled. ``resources`` are those archived so far (the page's own among them); when its static
    HTML (``parsed``) was a shell that the browser filled, the page's entry there is replaced by one
    whose metadata and main text come from the rendered DOM. ``elsewhere``: URLs the capture archives
    in another worker's file. Shared by a local capture and a worker."""
    resource = _page_resource(resources, rendered.url)
    shell = isinstance(parsed, PageLinks) and is_javascript_shell(parsed)
    made = write_render(rendered, resource, date=date, warcinfo_id=writer.warcinfo_id,
                        level=options.compress_level, scratch=scratch)
    offset = writer.append(made.fragment)
    made.fragment.close()
    page = browser_page(rendered, why, made, warc=warc, offset=offset, archived={r.url for r in resources} | elsewhere,
                        static=static | {rendered.url}, shell=shell)
    outcome = RenderOutcome(page)
    if rendered.error:
        outcome.failures.append(Failure(rendered.url, resource.role if resource else Role.SEED,
                                        resource.via if resource else None, "browser", rendered.error))
    if not rendered.settled:
        outcome.flags.append(PageFlag(rendered.url, "browser-unsettled",
                                      f"still loading after {options.timeout:g} s: archived what the page "
                                      "had loaded by then"))
    if shell and resource is not None and rendered.dom and page.shell_resolved:
        at = resources.index(resource)
        resources[at] = _described(resource, rendered, writer, options, date, scratch)
    return outcome


def _described(resource: ArchivedResource, rendered: Rendered, writer: WarcFileWriter, options: CaptureOptions,
               date: datetime, scratch: Path) -> ArchivedResource:
    """The static HTML was a shell: the page's citation metadata and main text come from the DOM
    the browser rendered (a conversion record of its main text, like a static page's)."""
    from ..net.content_coding import markup
    from ..page.main_text import main_text
    from ..page.metadata import extract_metadata

    html = markup(rendered.dom.decode("utf-8", "replace"))
    metadata = extract_metadata(html).as_manifest()
    for entry in metadata.values():
        entry["source"] = f"rendered DOM: {entry['source']}"
    text: TextRecord | None = resource.text
    extracted = main_text(html, rendered.url)
    if extracted is not None:
        data = extracted.text.encode("utf-8")
        with tempfile.SpooledTemporaryFile(max_size=2**22, dir=str(scratch)) as frag:
            record_id, length = write_conversion(frag, url=rendered.url, date=date, refers_to=resource.record_id,
                                                 warcinfo_id=writer.warcinfo_id, text=data,
                                                 level=options.compress_level)
            offset = writer.append(frag)
        text = TextRecord(record_id, offset, length, hashlib.sha256(data).hexdigest(), len(extracted.text))
    return replace(resource, metadata=metadata or resource.metadata, text=text)


def _page_resource(resources: list[ArchivedResource], url: str) -> ArchivedResource | None:
    """The page's latest archived response (the browser's fetch, in --browser auto)."""
    for resource in reversed(resources):
        if resource.url == url and resource.role in (Role.SEED, Role.SOURCE):
            return resource
    return None
