"""archiver rescue (issue #18): the URLs of a document in each format, found with their positions;
one sealed capture of them from a loopback site; the robust copy changed only at the links; the
bibliography; the report kept in the workspace; a second run that changes nothing; every archived
copy named resolving through archiver serve to the captured bytes."""

from __future__ import annotations

import difflib
import io
import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from archiver.citing.formats import renderer
from archiver.core.settings import CaptureOptions, Settings
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site
from archiver.rescue.found import Document, find
from archiver.rescue.report import RESCUES_DIR, RescueReport
from archiver.rescue.run import RescueRequest, rescue
from archiver.serve.app import Server, make_context, start_in_thread

HTML = [("Content-Type", "text/html; charset=utf-8")]
PAGES = {
    "/one": b"<title>Harbour dredging</title><h1>Harbour dredging</h1><p>eleven votes to four</p>",
    "/two": b"<title>Quay Street</title><p>closed</p>",
    "/three": b"<title>Minutes</title><p>the minutes</p>",
    "/wiki/Foo_(bar)": b"<title>Foo</title><p>bar</p>",
    "/code": b"<title>Never</title>",
}
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """A loopback site: four pages, a redirect (/old -> /two), a dead link (/gone: 404)."""
    routes: dict[str, object] = {path: Response(200, HTML, body) for path, body in PAGES.items()}
    routes["/old"] = Response(301, [("Location", "/two")])
    routes["/gone"] = Response(404, HTML, b"<title>Not found</title>")
    running = Site([Host("a", "127.0.0.173", routes=routes)]).start()  # type: ignore[arg-type]
    yield running.origin("a")
    running.stop()


def markdown_doc(a: str) -> tuple[str, list[str]]:
    """A manuscript, and the URLs it cites in order (as written)."""
    text = f"""---
title: A paper
date: 2026-01-05
---
# On dredging

The vote ([report]({a}/one#results "The report")) was close, see <{a}/two> and
{a}/three?x=1. Also ({a}/wiki/Foo_(bar)), and the moved page [old]({a}/old).

```
curl {a}/code
```

    {a}/code indented

A span `[c]({a}/code)` is code, and ![an image]({a}/code) no citation.

The dead one: [gone][dead]; the report again: [again]({a}/one).

[dead]: {a}/gone
"""
    return text, [f"{a}/one#results", f"{a}/two", f"{a}/three?x=1", f"{a}/wiki/Foo_(bar)", f"{a}/old", f"{a}/one",
                  f"{a}/gone"]


def html_doc(a: str) -> tuple[str, list[str]]:
    text = f"""<!doctype html>
<html><head><meta name="citation_date" content="2026-01-05"><title>A paper</title></head>
<body>
<p>See <a class="x" href="{a}/one#results">the report</a> and <a href='{a}/two'>the notice</a>,
<a href="{a}/old">a moved page</a>, <a href="{a}/gone">a dead one</a>, <a href="mailto:x@example.org">mail</a>,
<a href="{a}/three?x=1&amp;y=2" data-versiondate="2026-01-04">minutes</a>.</p>
<pre><code>{a}/code</code></pre>
<script>var u = "<a href='{a}/code'>";</script>
<!-- <a href="{a}/code">no</a> -->
</body></html>
"""
    return text, [f"{a}/one#results", f"{a}/two", f"{a}/old", f"{a}/gone", f"{a}/three?x=1&y=2"]


def bibtex_doc(a: str) -> tuple[str, list[str]]:
    text = f"""% references
@comment{{ {a}/code }}
@string{{council = "Saltmarsh Council"}}

@online{{treloar2026,
  author = {{Treloar, Morwenna}},
  title = {{Council awards {{£4.2m}} harbour dredging contract}},
  url = {{{a}/one}},
  urldate = {{2026-01-05}},
  organization = council,
}}

@misc{{notice,
  title = "Public notice: closure of {{Quay Street}}",
  howpublished = {{\\url{{{a}/two}}}},
  note = {{Moved: \\href{{{a}/old}}{{here}}; gone: \\url{{{a}/gone}}}},
  year = 2026
}}
"""
    return text, [f"{a}/one", f"{a}/two", f"{a}/old", f"{a}/gone"]


def run_rescue(path: Path, ws: Workspace, settings: Settings | None = None, refresh: bool = False,
               style: str = "apa", clock: Callable[[], datetime] | None = None) -> RescueReport:
    return rescue(RescueRequest(path, style, renderer(style), refresh), ws, CaptureOptions(depth=0, timeout=10),
                  settings=settings or Settings(), **({"clock": clock} if clock else {}))


def only_insertions(before: bytes, after: bytes) -> list[bytes]:
    """What ``after`` adds to ``before``; fails when anything of ``before`` changed or went."""
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    ops = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert all(op[0] == "insert" for op in ops), ops
    return [after[j1:j2] for _, _, _, j1, j2 in ops]


def manifests(ws: Workspace) -> list[Path]:
    return sorted(ws.manifests_dir.glob("*.yaml"))


# -- found: each format's list -----------------------------------------------------------------

@pytest.mark.parametrize("kind,make", [("md", markdown_doc), ("html", html_doc), ("bib", bibtex_doc)])
def test_found_list_equals_the_known_list_and_spans_are_the_urls(tmp_path: Path, kind: str, make: object) -> None:
    a = "https://a.example"
    text, known = make(a)  # type: ignore[operator]
    path = tmp_path / f"paper.{kind}"
    path.write_text(text)
    doc = find(path)
    assert [o.url for o in doc.occurrences] == known
    data = path.read_bytes()
    for occurrence in doc.occurrences:
        span = doc.byte_span(occurrence)
        assert span is not None
        written = data[span[0]:span[1]].decode()
        assert written in (occurrence.url, occurrence.url.replace("&", "&amp;")), (written, occurrence)
    assert "https://a.example/code" not in doc.cited()
    assert doc.date == ("2026-01-05" if kind != "bib" else None)


def test_markdown_links_in_tables_quotes_lists_and_raw_html(tmp_path: Path) -> None:
    t = "https://t.example"
    path = tmp_path / "s.md"
    path.write_text(f"""| a | b |
|---|---|
| [x]({t}/1) | <{t}/2> |
| ![i]({t}/1) [same]({t}/1) | [same again]({t}/1) |

> quoted [q](<{t}/3 x>) and {t}/4
> continued

- item [l]({t}/5 'title')
  - nested {t}/6

[r2]: <{t}/7> 'has title'
[r3]:
  {t}/8

Setext [s]({t}/9)
---

Inline <span title="{t}/no">html</span> and <a href="{t}/10">a</a>.
[not a definition]: {t}/11
""")
    doc = find(path)
    assert [(o.syntax, o.url) for o in doc.occurrences] == [
        ("markdown-link", f"{t}/1"), ("markdown-autolink", f"{t}/2"), ("markdown-link", f"{t}/1"),
        ("markdown-link", f"{t}/1"), ("markdown-link", f"{t}/3 x"),
        ("text", f"{t}/4"), ("markdown-link", f"{t}/5"), ("text", f"{t}/6"), ("markdown-reference", f"{t}/7"),
        ("markdown-reference", f"{t}/8"), ("markdown-link", f"{t}/9"), ("html-a", f"{t}/10"), ("text", f"{t}/11")]
    assert [o.insert_at is None for o in doc.occurrences].count(True) == 1     # r2's title is the author's


def test_plain_text_urls_lose_the_sentence_punctuation_around_them(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("See https://a.example/x. And (https://a.example/y), \"https://a.example/z?q=1\"; "
                    "https://en.wikipedia.org/wiki/Foo_(bar)! Also <https://a.example/w>, ftp://a.example/f and "
                    "https://a.example/x#part.\n")
    doc = find(path)
    assert [o.url for o in doc.occurrences] == [
        "https://a.example/x", "https://a.example/y", "https://a.example/z?q=1",
        "https://en.wikipedia.org/wiki/Foo_(bar)", "https://a.example/w", "https://a.example/x#part"]
    assert list(doc.cited()) == ["https://a.example/x", "https://a.example/y", "https://a.example/z?q=1",
                                 "https://en.wikipedia.org/wiki/Foo_(bar)", "https://a.example/w"]


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" ' \
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def _link(rid: str, text: str) -> str:
    return f'<w:hyperlink r:id="{rid}"><w:r><w:t>{text}</w:t></w:r></w:hyperlink>'


def _rels(targets: dict[str, str]) -> str:
    kind = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"
    rows = "".join(f'<Relationship Id="{k}" Type="{kind}" Target="{v}" TargetMode="External"/>'
                   for k, v in targets.items())
    return f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rows}</Relationships>'


def docx_bytes(a: str) -> bytes:
    """A Word file built by hand: hyperlinks in the body, a table, a footnote and a header; a URL in
    plain text; a HYPERLINK field."""
    body = (f'<w:document {W}><w:body>'
            f'<w:p><w:r><w:t>The report: </w:t></w:r>{_link("rId1", "report")}</w:p>'
            f'<w:tbl><w:tr><w:tc><w:p>{_link("rId2", "notice")}</w:p></w:tc></w:tr></w:tbl>'
            f'<w:p><w:r><w:t xml:space="preserve">Typed out: {a}/three?x=1.</w:t></w:r></w:p>'
            f'<w:p><w:r><w:instrText> HYPERLINK "{a}/old" </w:instrText></w:r></w:p>'
            '</w:body></w:document>')
    footnotes = f'<w:footnotes {W}><w:footnote w:id="1"><w:p>{_link("rId1", "dead")}</w:p></w:footnote></w:footnotes>'
    header = f'<w:hdr {W}><w:p>{_link("rId9", "header")}</w:p></w:hdr>'
    core = ('<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dcterms="http://purl.org/dc/terms/"><dcterms:modified>2026-01-05T10:00:00Z</dcterms:modified>'
            '</cp:coreProperties>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", body)
        z.writestr("word/_rels/document.xml.rels", _rels({"rId1": f"{a}/one", "rId2": f"{a}/two"}))
        z.writestr("word/footnotes.xml", footnotes)
        z.writestr("word/_rels/footnotes.xml.rels", _rels({"rId1": f"{a}/gone"}))
        z.writestr("word/header1.xml", header)
        z.writestr("word/_rels/header1.xml.rels", _rels({"rId9": f"{a}/wiki/Foo_(bar)"}))
        z.writestr("docProps/core.xml", core)
    return out.getvalue()


def found_in(folder: Path, name: str, data: bytes) -> Document:
    path = folder / name
    path.write_bytes(data)
    return find(path)


def test_docx_hyperlinks_in_body_tables_footnotes_headers(tmp_path: Path) -> None:
    a = "https://a.example"
    doc = found_in(tmp_path, "paper.docx", docx_bytes(a))
    assert sorted((o.where, o.url) for o in doc.occurrences) == sorted([
        ("document", f"{a}/one"), ("document", f"{a}/two"), ("document", f"{a}/three?x=1"),
        ("document", f"{a}/old"), ("footnotes", f"{a}/gone"), ("header1", f"{a}/wiki/Foo_(bar)")])
    assert doc.date == "2026-01-05" and doc.text is None


def pdf_bytes(a: str) -> bytes:
    """A one-page PDF with two link annotations and a URL in its text."""
    from pypdf import PdfWriter
    from pypdf.annotations import Link
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
        {NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 10 Tf 72 700 Td (Minutes: {a}/three?x=1.) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(stream)
    writer.add_annotation(0, Link(rect=(72, 600, 200, 620), url=f"{a}/one"))
    writer.add_annotation(0, Link(rect=(72, 560, 200, 580), url=f"{a}/gone"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_link_annotations_and_urls_in_its_text(tmp_path: Path) -> None:
    a = "https://a.example"
    doc = found_in(tmp_path, "paper.pdf", pdf_bytes(a))
    assert sorted((o.syntax, o.url) for o in doc.occurrences) == [
        ("pdf-link", f"{a}/gone"), ("pdf-link", f"{a}/one"), ("pdf-text", f"{a}/three?x=1")]


# -- a rescue end to end -------------------------------------------------------------------------

class Changing:
    """A route whose answer the test changes between captures."""

    def __init__(self, body: bytes) -> None:
        self.response = Response(200, HTML, body)

    def __call__(self, site: Site, path: str) -> Response:
        return self.response


@pytest.fixture
def public() -> Iterator[tuple[Settings, int]]:
    """Settings whose archived copies are named at a loopback port that a test serves later."""
    port = free_port()
    yield Settings(public_url=f"http://127.0.0.1:{port}"), port


def serving(ws: Workspace, settings: Settings, port: int) -> Server:
    replay = free_port()
    ctx = make_context(ws, settings, host="127.0.0.1", port=port, replay_port=replay, public_url=None, token=None)
    return start_in_thread(ctx, host="127.0.0.1", port=port, replay_port=replay)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object) -> None:
            return None

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), Stay())
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=30) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def expected(url: str) -> tuple[str, bytes]:
    """The URL a cited URL's archived copy is of (the redirect followed, no fragment), and its body."""
    from urllib.parse import urlsplit

    final = re.sub(r"/old$", "/two", url.split("#")[0])
    return final, PAGES[urlsplit(final).path]


def assert_resolves(version_url: str, body: bytes, original: str, server: Server) -> None:
    """The archived copy's URL is a memento of archiver serve; its id_ form gives the captured
    bytes; the TimeGate for the original at the copy's date leads to a memento."""
    status, headers, _ = get(version_url)
    assert status == 200 and "memento-datetime" in headers, (version_url, status)
    raw = re.sub(r"/(\d{14})/", r"/\1id_/", version_url, count=1)
    status, _, payload = get(raw)
    assert status == 200 and payload == body, (raw, status)
    stamp = re.search(r"/(\d{14})/", version_url)
    assert stamp is not None
    when = date(int(stamp.group(1)[:4]), int(stamp.group(1)[4:6]), int(stamp.group(1)[6:8]))
    gate = f"{server.ctx.ui_base}/archive/{original}"
    status, headers, _ = get(gate, {"Accept-Datetime": f"{when:%a, %d %b %Y} 23:59:59 GMT"})
    assert status == 302 and "/archive/" in headers["location"], (gate, status)


def test_markdown_rescue_archives_each_url_once_and_adds_only_the_archived_copies(
        tmp_path: Path, site: str, public: tuple[Settings, int]) -> None:
    settings, port = public
    ws = Workspace(tmp_path / "ws")
    text, known = markdown_doc(site)
    paper = tmp_path / "paper.md"
    paper.write_text(text)
    report = run_rescue(paper, ws, settings)
    outcomes = {u.url: u for u in report.urls}
    assert list(outcomes) == list(dict.fromkeys(re.sub(r"#.*", "", u) for u in known))
    assert {u: o.outcome for u, o in outcomes.items()} == {
        f"{site}/one": "captured", f"{site}/two": "captured", f"{site}/three?x=1": "captured",
        f"{site}/wiki/Foo_(bar)": "captured", f"{site}/old": "captured", f"{site}/gone": "dead"}
    assert outcomes[f"{site}/old"].redirected_to == f"{site}/two"
    assert outcomes[f"{site}/one"].where == ("line 7", "line 18") and outcomes[f"{site}/gone"].where == ("line 20",)
    assert outcomes[f"{site}/gone"].status == 404 and outcomes[f"{site}/gone"].archived_url is None
    assert len(manifests(ws)) == 1 and report.capture_id
    sealed = (ws.manifests_dir / f"{report.capture_id}.yaml").read_text()
    assert f"{site}/code" not in sealed                        # nothing in code was fetched
    kept = json.loads((ws.root / RESCUES_DIR / f"{report.capture_id}.json").read_text())
    assert kept["capture_id"] == report.capture_id and len(kept["urls"]) == 6
    assert paper.read_text() == text                           # never over the input
    robust = tmp_path / "paper.robust.md"
    only_insertions(paper.read_bytes(), robust.read_bytes())
    copy = r"http://127\.0\.0\.1:\d+/archive/\d{14}/"
    marks = re.compile(rf" \(\[archived \d{{4}}-\d{{2}}-\d{{2}}\]\((?:<{copy}[^<>]+>|{copy}[^()\s<>]+)\)\)")
    assert len(marks.findall(robust.read_text())) == 6 and marks.sub("", robust.read_text()) == text
    bibliography = (tmp_path / "paper.sources.txt").read_text()
    assert "Harbour dredging" in bibliography and "archiver capture" in bibliography
    with_copies = find(robust)
    server = serving(ws, settings, port)
    try:
        for occurrence in with_copies.occurrences:
            if occurrence.versions:
                final, body = expected(occurrence.url)
                assert_resolves(occurrence.versions[0], body, final, server)
    finally:
        server.stop()
    again = run_rescue(robust, ws, settings)                   # the robust copy: nothing to do
    assert again.capture_id is None and not again.outputs and len(manifests(ws)) == 1
    assert {u.outcome for u in again.urls} == {"robust", "dead"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper.md", "paper.robust.md", "paper.sources.txt", "ws"]


def test_html_rescue_writes_robust_links_by_the_spec(tmp_path: Path, site: str,
                                                     public: tuple[Settings, int]) -> None:
    settings, port = public
    ws = Workspace(tmp_path / "ws")
    text, _ = html_doc(site)
    paper = tmp_path / "paper.html"
    paper.write_text(text)
    report = run_rescue(paper, ws, settings, style="bibtex")
    robust = (tmp_path / "paper.robust.html").read_text()
    only_insertions(text.encode(), robust.encode())
    attributes = re.compile(r' data-originalurl="[^"]*" data-versionurl="[^"]*"(?: data-versiondate="[^"]*")?')
    assert len(attributes.findall(robust)) == 4 and attributes.sub("", robust) == text   # not the dead one
    assert robust.count("data-versiondate") == 4                  # the author's own date is not given twice

    class Anchors(HTMLParser):
        found: list[dict[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "a":
                self.found.append(dict(attrs))

    parser = Anchors()
    parser.feed(robust)
    robust_links = [a for a in parser.found if "data-versionurl" in a]
    assert len(robust_links) == 4
    server = serving(ws, settings, port)
    try:
        for a in robust_links:
            original, version, when = a["data-originalurl"], a["data-versionurl"], a["data-versiondate"]
            assert original and version and when
            assert re.fullmatch(r"https?://[^\s]+", original) and re.fullmatch(r"https?://[^\s]+", version)
            assert a["href"] == original                           # the live URL stays the link
            assert date.fromisoformat(when).isoformat() == when    # ISO 8601, a real date
            final, body = expected(original)
            assert_resolves(version, body, final, server)
    finally:
        server.stop()
    assert (tmp_path / "paper.sources.bib").read_text().count("@online") == 3
    again = run_rescue(tmp_path / "paper.robust.html", ws, settings)      # Robust Links already: nothing to do
    assert again.capture_id is None and [u.outcome for u in again.urls].count("robust") == 4
    assert report.document_date == "2026-01-05"


def test_bibtex_rescue_keeps_every_field_and_adds_the_archived_copy(tmp_path: Path, site: str) -> None:
    import bibtexparser

    ws = Workspace(tmp_path / "ws")
    text, _ = bibtex_doc(site)
    refs = tmp_path / "refs.bib"
    refs.write_text(text)
    run_rescue(refs, ws)
    before = bibtexparser.parse_string(text)
    after = bibtexparser.parse_string((tmp_path / "refs.robust.bib").read_text())
    assert not after.failed_blocks and len(after.entries) == len(before.entries) == 2
    for old, new in zip(before.entries, after.entries):
        assert {k: f.value for k, f in old.fields_dict.items()}.items() <= \
               {k: f.value for k, f in new.fields_dict.items()}.items()
    treloar, notice = (e.fields_dict for e in after.entries)
    assert treloar["urldate"].value == "2026-01-05"            # the author's date stays
    assert treloar["archiveurl"].value.startswith("http://localhost:8080/archive/")
    assert notice["urldate"].value == notice["archivedate"].value            # no urldate before: the capture's
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", notice["urldate"].value)
    assert "\\url{http://localhost:8080/archive/" in notice["addendum"].value
    only_insertions(text.encode(), (tmp_path / "refs.robust.bib").read_bytes())
    again = run_rescue(tmp_path / "refs.robust.bib", ws)
    assert again.capture_id is None and not again.outputs
    assert [u.outcome for u in again.urls] == ["robust", "robust", "robust", "dead"]


@pytest.mark.parametrize("name,make", [("paper.docx", docx_bytes), ("paper.pdf", pdf_bytes)])
def test_read_only_formats_get_a_links_report(tmp_path: Path, site: str, name: str, make: object) -> None:
    ws = Workspace(tmp_path / "ws")
    path = tmp_path / name
    path.write_bytes(make(site))  # type: ignore[operator]
    report = run_rescue(path, ws)
    links = (tmp_path / "paper.links.md").read_text()
    for item in report.urls:
        assert f"<{item.url}>" in links
        assert item.outcome == ("dead" if item.url.endswith("/gone") else "captured"), item
    assert "## Sources as archived" in links and report.outputs["bibliography"].endswith("paper.sources.txt")
    # a second rescue of the same document captures nothing and writes nothing: the earlier rescue's
    # report names the archived copies a read-only document cannot hold
    before, written = manifests(ws), {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    again = run_rescue(path, ws)
    assert again.capture_id is None and manifests(ws) == before
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == written
    first = {u.url: u for u in report.urls}
    for item in again.urls:
        if first[item.url].outcome == "captured":
            assert item.outcome == "robust" and item.archived_url == first[item.url].archived_url
            assert item.capture_id == report.capture_id
        else:
            assert item.outcome == "dead"


def test_a_dead_link_cites_the_last_good_capture_and_a_change_since_the_document_is_told(
        tmp_path: Path, serve: object) -> None:
    from archiver.capturing.run import capture

    dying, drifting = Changing(b"<title>Alive</title><p>here</p>"), Changing(b"<title>Drift</title><p>first</p>")
    dated = Response(200, HTML, b'<title>Dated</title><script type="application/ld+json">{"@type": "NewsArticle", '
                                b'"headline": "Dated", "dateModified": "2026-02-01T10:00:00Z"}</script><p>x</p>')
    running = serve([Host("b", "127.0.0.174", routes={"/dying": dying, "/drift": drifting,  # type: ignore[operator]
                                                       "/dated": dated})])
    dying_url, drift_url, dated_url = running.url("b", "/dying"), running.url("b", "/drift"), running.url("b", "/dated")
    ws = Workspace(tmp_path / "ws")
    assert capture([dying_url, drift_url], ws, CaptureOptions(depth=0, timeout=10)).ok
    dying.response = Response(410, HTML, b"gone")
    drifting.response = Response(200, HTML, b"<title>Drift</title><p>second</p>")
    paper = tmp_path / "paper.md"
    today = datetime.now(UTC).date().isoformat()          # the document's date: after the first capture
    paper.write_text(f"---\ndate: {today}\n---\n[a]({dying_url}) and [b]({drift_url}), <{dated_url}>\n")
    report = run_rescue(paper, ws)
    dead, drift, by_page = report.urls
    assert by_page.changed is False and by_page.changed_note == (       # not captured before: the page's own date
        f"the page says it was updated 2026-02-01, by the document's date ({today})")
    assert dead.outcome == "dead" and dead.status == 410 and dead.earlier and "Alive" in dead.earlier
    assert drift.outcome == "captured" and drift.changed is True and "changed since" in (drift.changed_note or "")
    robust = (tmp_path / "paper.robust.md").read_text()
    assert dead.archived_url and f"]({dead.archived_url}))" in robust   # the earlier copy is named


@pytest.mark.parametrize("name,template", [
    ("paper.md", "See [one]({u}) and [one again]({u}#top).\n"),
    ("paper.html", '<p><a href="{u}">one</a> and <a href="{u}#top">again</a></p>\n'),
    ("refs.bib", "@online{{one,\n  title = {{One}},\n  url = {{{u}}}\n}}\n"),
])
def test_refresh_adds_a_new_copy_beside_the_old(tmp_path: Path, site: str, name: str, template: str) -> None:
    from datetime import timedelta

    ws = Workspace(tmp_path / "ws")
    paper = tmp_path / name
    paper.write_text(template.format(u=f"{site}/one"))
    run_rescue(paper, ws)
    robust = paper.with_name(paper.stem + ".robust" + paper.suffix)
    first = find(robust).occurrences[0].versions
    assert len(first) == 1 and run_rescue(robust, ws).capture_id is None
    again = run_rescue(robust, ws, refresh=True, clock=lambda: datetime.now(UTC) + timedelta(days=1))
    assert again.capture_id and len(manifests(ws)) == 2
    refreshed = robust.with_name(robust.stem + ".robust" + robust.suffix)
    for occurrence in find(refreshed).occurrences:
        assert occurrence.versions[0] == first[0] and len(occurrence.versions) == 2, occurrence
        assert occurrence.versions[1] != first[0]
    only_insertions(robust.read_bytes(), refreshed.read_bytes())


# -- the command line ----------------------------------------------------------------------------

def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_command_prints_json_and_exits_1_for_a_url_lost(tmp_path: Path, site: str) -> None:
    (tmp_path / "notes.txt").write_text(f"See {site}/one, and {site}/gone.\n")
    proc = cli("-w", "ws", "rescue", "notes.txt", "--json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert [u["outcome"] for u in data["urls"]] == ["captured", "dead"] and data["counts"] == {"captured": 1, "dead": 1}
    assert proc.stderr.splitlines()[-1] == f"archiver: 1 of 2 URLs could not be archived: {site}/gone"
    assert (tmp_path / "notes.links.md").exists()


def zip_of(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text)
    return out.getvalue()


@pytest.mark.parametrize("name,content,line", [
    ("missing.md", None, "archiver: missing.md does not exist"),
    ("paper.odt", b"x", "archiver: paper.odt: rescue reads"),
    ("broken.docx", b"not a zip", "archiver: broken.docx is not a DOCX file (not a ZIP archive)"),
    ("broken.bib", b"@misc{a, title = {unclosed", "archiver: broken.bib: not BibTeX as archiver reads it"),
    ("deep.bib", b"@misc{a, title = " + b"{" * 100 + b"}" * 100 + b"}", "archiver: deep.bib: not BibTeX as archiver "
     "reads it: braces nested over 64 deep"),
    ("entities.docx", None, "archiver: word/document.xml in the DOCX file declares a DOCTYPE or entities"),
    ("bomb.docx", None, "archiver: word/document.xml in the DOCX file is"),
])
def test_bad_documents_are_one_line_and_exit_2(tmp_path: Path, name: str, content: bytes | None, line: str) -> None:
    if name == "entities.docx":
        content = zip_of({"word/document.xml": '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'})
    if name == "bomb.docx":
        content = zip_of({"word/document.xml": "<x>" + " " * (33 * 2**20) + "</x>"})
    if content is not None:
        (tmp_path / name).write_bytes(content)
    proc = cli("-w", "ws", "rescue", name, cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) <= 2, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(line), proc.stderr
    assert not (tmp_path / "ws" / "manifests").exists()
