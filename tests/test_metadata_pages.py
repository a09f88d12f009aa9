"""Citation metadata on pages written for the purpose (tests/data/metadata_pages/: bylines, JSON-LD
with several authors, dates with time zones, date-only values, a social title differing from the
headline, non-English pages), PDFs with an info dictionary, XMP or only a heading; captured from
loopback servers and cited; and fields set by hand with ``archiver cite --set``, kept in the
workspace and never in the sealed manifest."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pdf_files import one_page_pdf

from archiver.demo.server import Host, Response
from archiver.page.dates import normalize_date
from archiver.page.metadata import extract_metadata, local_date
from archiver.page.pdf_metadata import pdf_metadata

PAGES = Path(__file__).resolve().parent / "data" / "metadata_pages"
ARCHIVER = [sys.executable, "-m", "archiver"]


def expectations() -> list[tuple[Path, dict]]:
    out = []
    for folder in (PAGES, PAGES / "held-out"):
        for name, want in yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8")).items():
            out.append((folder / name, want))
    return out


@pytest.mark.parametrize("page,want", expectations(), ids=lambda x: x.name if isinstance(x, Path) else "")
def test_each_page_reads_as_a_careful_reader_would(page: Path, want: dict) -> None:
    meta = extract_metadata(page.read_text(encoding="utf-8"))
    published = meta.get("published")
    assert meta.get("title") == want["title"]
    assert (meta.get("authors") or []) == want["authors"]
    assert (local_date(published) if published else None) == want["date"]
    assert (meta.get("kind") or "web-page") == want["kind"]


def test_sources_are_named_per_field() -> None:
    f = extract_metadata((PAGES / "json-ld-several-authors.html").read_text()).fields
    assert f["title"].source == "json-ld:NewsArticle.headline"          # not the og:title
    assert f["authors"].source == "json-ld:NewsArticle.author"
    assert f["published"].value == "2026-11-01T23:30:00-05:00"            # its own offset, not UTC
    assert f["site_name"].value == "The Tidewater Times" and f["kind"].value == "news-article"
    f = extract_metadata((PAGES / "social-title.html").read_text()).fields
    assert (f["title"].value, f["title"].source) == ("Council pays £4.2m for harbour dredging", "html:h1")
    assert f["authors"].source == "html:.byline"
    f = extract_metadata((PAGES / "utc-attribute-local-text.html").read_text()).fields
    assert (f["published"].value, f["published"].source) == ("2026-11-01", "html:time(text)")
    f = extract_metadata((PAGES / "report-organisations.html").read_text()).fields
    assert f["organizations"].value == ["Saltmarsh Town Council", "Harbour Board"]


@pytest.mark.parametrize("given,iso", [
    ("2026-11-02", "2026-11-02"), ("2026/11/02", "2026-11-02"), ("2026-03", "2026-03"), ("2026", "2026"),
    ("20261102", "2026-11-02"), ("2026-11-01T23:30:00-05:00", "2026-11-01T23:30:00-05:00"),
    ("2026-11-02T04:30Z", "2026-11-02T04:30:00Z"), ("2026-11-02 09:00:00+0900", "2026-11-02T09:00:00+09:00"),
    ("2026-11-02T09:00:00", "2026-11-02T09:00:00"), ("Mon, 02 Nov 2026 23:30:00 -0500", "2026-11-02T23:30:00-05:00"),
    ("2 November 2026", "2026-11-02"), ("Nov. 2, 2026", "2026-11-02"), ("2026年11月2日", "2026-11-02"),
    ("2026-02-30", None), ("03/04/2026", None), ("yesterday", None), ("9:30", None), ("2026-13", None), ("", None),
])
def test_dates_keep_their_zone_and_precision(given: str, iso: str | None) -> None:
    assert normalize_date(given) == iso


def pdf_with_info(info: dict[str, str], xmp: bytes | None = None) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, StreamObject

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata(info)
    if xmp is not None:
        stream = StreamObject()
        stream.set_data(xmp)
        stream.update({NameObject("/Type"): NameObject("/Metadata"), NameObject("/Subtype"): NameObject("/XML")})
        writer._root_object[NameObject("/Metadata")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_info_dictionary_written_by_hand() -> None:
    data = one_page_pdf([(12, "Body text")], {"Title": "Minutes of the harbour committee", "Author": "Saltmarsh Town Council",
                                               "CreationDate": "D:20261104090000Z"})
    f = pdf_metadata(data).fields
    assert f["title"].value == "Minutes of the harbour committee" and f["authors"].value == ["Saltmarsh Town Council"]
    assert f["published"].value == "2026-11-04T09:00:00Z"


def test_pdf_info_dictionary() -> None:
    data = pdf_with_info({"/Title": "Sediment survey 2026", "/Author": "Ana Ruiz; Bo Chen",
                          "/CreationDate": "D:20261102093000-05'00'", "/ModDate": "D:20261103"})
    f = pdf_metadata(data).fields
    assert (f["title"].value, f["title"].source) == ("Sediment survey 2026", "pdf:info./Title")
    assert f["authors"].value == ["Ana Ruiz", "Bo Chen"]
    assert f["published"].value == "2026-11-02T09:30:00-05:00" and f["modified"].value == "2026-11-03"
    assert f["kind"].value == "pdf-document"


def test_pdf_xmp_before_the_info_dictionary() -> None:
    xmp = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
           b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
           b'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Tide tables 2027</rdf:li></rdf:Alt></dc:title>'
           b'<dc:creator><rdf:Seq><rdf:li>Saltmarsh Harbour Authority</rdf:li></rdf:Seq></dc:creator>'
           b'<xmp:CreateDate>2026-12-01T08:00:00+01:00</xmp:CreateDate></rdf:Description></rdf:RDF>'
           b'</x:xmpmeta><?xpacket end="w"?>')
    f = pdf_metadata(pdf_with_info({"/Title": "Microsoft Word - tides.docx"}, xmp)).fields
    assert (f["title"].value, f["title"].source) == ("Tide tables 2027", "pdf:xmp.dc:title")
    assert f["authors"].value == ["Saltmarsh Harbour Authority"]
    assert f["published"].value == "2026-12-01T08:00:00+01:00"       # pypdf's own reading would give UTC


def test_pdf_without_metadata_is_titled_by_its_largest_text() -> None:
    data = one_page_pdf([(10, "Saltmarsh Town Council"), (24, "Harbour dredging:"), (24, "the case for"),
                        (10, "Prepared for the full council, 17 November 2026")])
    meta = pdf_metadata(data)
    assert (meta.get("title"), meta.fields["title"].source) == ("Harbour dredging: the case for",
                                                                  "pdf:page1.largest-text")
    assert "title" not in pdf_metadata(one_page_pdf([(12, "One size"), (12, "throughout")])).fields
    junk = pdf_with_info({"/Title": "untitled", "/Author": "jsmith"})
    assert set(pdf_metadata(junk).fields) == {"kind"}                # placeholders are not metadata


@pytest.mark.parametrize("data", [b"%PDF-1.7\n", b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\n",
                                  b"%PDF-1.4\n" + b"(" * 100_000, b"not a pdf at all"])
def test_a_broken_pdf_gives_a_note_never_an_error(data: bytes) -> None:
    meta = pdf_metadata(data)
    assert meta.get("kind") == "pdf-document" and "title" not in meta.fields


def test_a_pdf_cut_short_says_so() -> None:
    data = pdf_with_info({"/Title": "Long report"})
    meta = pdf_metadata(data[: len(data) // 2], whole=False)
    assert any("of a longer file" in note for note in meta.limits)


# -- captured from loopback servers and cited ---------------------------------------------------

def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_WORKSPACE"}
    return subprocess.run([*ARCHIVER, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def html(name: str) -> Response:
    return Response(200, [("Content-Type", "text/html; charset=utf-8")], (PAGES / name).read_bytes())


@pytest.fixture
def captured(serve, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    pdf = pdf_with_info({"/Title": "Sediment survey 2026", "/Author": "Ana Ruiz; Bo Chen",
                         "/CreationDate": "D:20261102093000-05'00'"})
    names = ["json-ld-several-authors.html", "byline-two-authors.html", "utc-attribute-local-text.html",
             "javascript-shell.html", "report-organisations.html"]
    routes: dict = {f"/{n}": html(n) for n in names}
    routes["/survey.pdf"] = Response(200, [("Content-Type", "application/pdf")], pdf)
    routes["/notice.html"] = Response(200, [("Content-Type", "text/html")], b"<!doctype html><title>Tide notice</title>"
                                      b"<p>" + b"The quay is closed at high water. " * 20 + b"</p>")
    site = serve([Host("m", "127.0.0.171", routes=routes)])
    urls = {n: site.url("m", f"/{n}") for n in [*names, "survey.pdf", "notice.html"]}
    proc = run("-w", "ws", "capture", "--json", *urls.values(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path, urls


def cite_json(cwd: Path, url: str, *more: str) -> tuple[dict, subprocess.CompletedProcess]:
    proc = run("-w", "ws", "cite", url, "--style", "csl-json", *more, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[0], proc


def test_captured_pages_record_each_field_with_its_source_and_cite_so(captured) -> None:
    cwd, urls = captured
    manifest = yaml.safe_load(next((cwd / "ws" / "manifests").glob("*.yaml")).read_text())
    meta = {r["url"]: r.get("metadata") for r in manifest["resources"]}
    article = meta[urls["json-ld-several-authors.html"]]
    assert article["authors"] == {"value": ["Ana Ruiz", "Bo Chen", "Carys ap Rhys"],
                                  "source": "json-ld:NewsArticle.author"}
    assert article["published"] == {"value": "2026-11-01T23:30:00-05:00", "source": "json-ld:NewsArticle.datePublished"}
    assert article["kind"] == {"value": "news-article", "source": "json-ld:NewsArticle.@type"}
    assert meta[urls["survey.pdf"]]["title"] == {"value": "Sediment survey 2026", "source": "pdf:info./Title"}

    item, proc = cite_json(cwd, urls["json-ld-several-authors.html"])
    assert item["type"] == "article-newspaper" and item["issued"] == {"date-parts": [[2026, 11, 1]]}
    assert item["author"][2] == {"family": "ap Rhys", "given": "Carys"}       # the particle stays with the name
    assert "warning" not in proc.stderr
    item, _ = cite_json(cwd, urls["survey.pdf"])
    assert (item["type"], item["title"]) == ("document", "Sediment survey 2026")
    assert item["author"] == [{"family": "Ruiz", "given": "Ana"}, {"family": "Chen", "given": "Bo"}]
    assert item["issued"] == {"date-parts": [[2026, 11, 2]]}
    item, _ = cite_json(cwd, urls["report-organisations.html"])
    assert item["author"] == [{"literal": "Saltmarsh Town Council"}, {"literal": "Harbour Board"}]
    item, _ = cite_json(cwd, urls["utc-attribute-local-text.html"])
    assert item["issued"] == {"date-parts": [[2026, 11, 1]]}                  # the day the page showed


def test_set_fields_are_kept_in_the_workspace_never_in_the_sealed_manifest(captured) -> None:
    cwd, urls = captured
    shell = urls["javascript-shell.html"]
    ws = cwd / "ws"
    sealed = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (ws / "manifests").iterdir()}

    item, proc = cite_json(cwd, shell)
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "empty JavaScript shell" in warnings[0]
    assert "capture it again with a browser" in warnings[0] and f"archiver cite {shell} --set" in warnings[0]

    item, proc = cite_json(cwd, shell, "--set", "author=Jane Doe", "--set", "author=Bo Chen",
                           "--set", "date=2026-11-02", "--set", "title=Harbour plan published")
    assert item["author"] == [{"family": "Doe", "given": "Jane"}, {"family": "Chen", "given": "Bo"}]
    assert item["issued"] == {"date-parts": [[2026, 11, 2]]} and item["title"] == "Harbour plan published"
    assert item["custom"]["metadata_sources"]["authors"] == "set:citations.yaml"
    assert "citations.yaml" in proc.stderr and "sealed manifests are unchanged" in proc.stderr
    kept = yaml.safe_load((ws / "citations.yaml").read_text())
    assert kept == {shell: {"author": ["Jane Doe", "Bo Chen"], "date": "2026-11-02", "title": "Harbour plan published"}}

    # every later citation has them, after a reindex too; the seal is as it was and verifies
    assert run("-w", "ws", "reindex", cwd=cwd).returncode == 0
    item, _ = cite_json(cwd, shell)
    assert item["title"] == "Harbour plan published" and item["issued"] == {"date-parts": [[2026, 11, 2]]}
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (ws / "manifests").iterdir()} == sealed
    verify = run("-w", "ws", "verify", cwd=cwd)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # FIELD= removes what was set: the page's own value again
    item, _ = cite_json(cwd, shell, "--set", "title=", "--set", "author=")
    assert item["title"] == "Loading…" and "author" not in item and item["issued"] == {"date-parts": [[2026, 11, 2]]}
    assert yaml.safe_load((ws / "citations.yaml").read_text()) == {shell: {"date": "2026-11-02"}}


def test_a_page_without_author_or_date_warns_naming_the_fix(captured) -> None:
    cwd, urls = captured
    proc = run("-w", "ws", "cite", urls["byline-two-authors.html"], urls["report-organisations.html"],
               "--style", "apa", cwd=cwd)
    assert proc.returncode == 0 and "warning" not in proc.stderr
    notice = urls["notice.html"]
    _, proc = cite_json(cwd, notice)
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert warnings == [f"archiver: warning: {notice} names no author, no date in its markup: set them if the page "
                        f"shows them: archiver cite {notice} --set author='Jane Doe' --set date=2026-11-02"]
    _, proc = cite_json(cwd, notice, "--set", "author=Saltmarsh Harbour Authority", "--set", "date=2026-11")
    assert "warning" not in proc.stderr
    found = run("-w", "ws", "search", "quay closed", "--cite", "csl-json", cwd=cwd)    # search --cite has them too
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["author"] == [{"literal": "Saltmarsh Harbour Authority"}]


@pytest.mark.parametrize("args,message", [
    (["--set", "colour=red"], "--set 'colour=red': give FIELD=VALUE, FIELD one of title, author"),
    (["--set", "author"], "give FIELD=VALUE"),
    (["--set", "date=02/11/2026"], "--set date='02/11/2026': not a date: give YYYY"),
    (["--set", "date=2026-02-30"], "not a date"),
    (["--set", "title=" + "x" * 1001], "longer than 1000 characters"),
    (["--set", "kind=novel"], "not a kind of source: one of news-article"),
    (["--set", "author=Ana\x07Ruiz"], "has a control character"),
])
def test_bad_set_values_exit_2_in_one_line_writing_nothing(captured, args: list[str], message: str) -> None:
    cwd, urls = captured
    proc = run("-w", "ws", "cite", urls["byline-two-authors.html"], "--style", "apa", *args, cwd=cwd)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
    assert not (cwd / "ws" / "citations.yaml").exists()


def test_set_names_one_page_and_a_spoiled_file_is_one_line(captured) -> None:
    cwd, urls = captured
    capture_id = next((cwd / "ws" / "manifests").glob("*.yaml")).stem
    proc = run("-w", "ws", "cite", capture_id, "--style", "apa", "--set", "author=Jane Doe", cwd=cwd)
    assert proc.returncode == 2 and "cite that page by its URL alone" in proc.stderr
    (cwd / "ws" / "citations.yaml").write_text("https://x.example/: {colour: red}\n")
    proc = run("-w", "ws", "cite", urls["byline-two-authors.html"], "--style", "apa", cwd=cwd)
    assert proc.returncode == 2 and proc.stderr.startswith("archiver: citations.yaml: ")
    assert len(proc.stderr.strip().splitlines()) == 1
