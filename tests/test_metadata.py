"""Citation metadata from each vocabulary, in conflict, and absent."""

from __future__ import annotations

from archiver.page.metadata import date_parts, extract_metadata

JSON_LD = """<script type="application/ld+json">{"@context": "https://schema.org", "@graph": [
 {"@type": "WebSite", "name": "Site"},
 {"@type": "NewsArticle", "headline": "LD headline", "author": [{"@type": "Person", "name": "Ana Ruiz"},
  {"@type": "Person", "name": "Bo Chen"}], "datePublished": "2025-03-04T10:00:00Z",
  "dateModified": "2025-03-05", "publisher": {"@type": "Organization", "name": "LD Publisher"},
  "inLanguage": "es", "description": "LD description", "identifier": "https://doi.org/10.1234/abc.5"}]}
</script>"""
HIGHWIRE = """<meta name="citation_title" content="HW title"><meta name="citation_author" content="Ruiz, Ana">
<meta name="citation_author" content="Chen, Bo"><meta name="citation_publication_date" content="2025/03/01">
<meta name="citation_doi" content="10.9999/hw.1">"""
DUBLIN_CORE = """<meta name="DC.title" content="DC title"><meta name="DC.creator" content="Dee Core">
<meta name="DCTERMS.issued" content="2024-12-31"><meta name="DC.language" content="fr">"""
OPEN_GRAPH = """<meta property="og:title" content="OG title"><meta property="og:site_name" content="OG Site">
<meta property="article:published_time" content="2023-01-02T00:00:00Z"><meta property="og:locale" content="de_DE">"""
PLAIN = """<html lang="it"><head><title>Plain title</title><meta name="author" content="Plain Author">
<meta name="description" content="Plain description"></head><body><article><time datetime="2022-05-06">6 May</time>
</article></body></html>"""


def fields(html: str) -> dict:
    return {k: (f.value, f.source) for k, f in extract_metadata(html).fields.items()}


def test_json_ld_alone() -> None:
    f = fields(f"<html><head>{JSON_LD}</head></html>")
    assert f["title"] == ("LD headline", "json-ld:NewsArticle.headline")
    assert f["authors"][0] == ["Ana Ruiz", "Bo Chen"]
    assert f["published"][0] == "2025-03-04T10:00:00Z" and f["modified"][0] == "2025-03-05"
    assert f["publisher"][0] == "LD Publisher" and f["language"][0] == "es"
    assert f["doi"] == ("10.1234/abc.5", "json-ld:NewsArticle.identifier")


def test_highwire_wins_conflicts_and_names_are_unflipped() -> None:
    f = fields(f"<html><head>{HIGHWIRE}{JSON_LD}{DUBLIN_CORE}{OPEN_GRAPH}</head></html>")
    assert f["title"] == ("HW title", "highwire:citation_title")
    assert f["authors"] == (["Ana Ruiz", "Bo Chen"], "highwire:citation_author")
    assert f["published"] == ("2025-03-01", "highwire:citation_publication_date")   # ISO, as precise as given
    assert f["doi"][0] == "10.9999/hw.1"
    assert f["language"] == ("es", "json-ld:NewsArticle.inLanguage")    # JSON-LD before DC and OG
    assert f["site_name"] == ("Site", "json-ld:WebSite.name")      # the @graph's WebSite before OG


def test_dublin_core_then_open_graph() -> None:
    f = fields(f"<html><head>{DUBLIN_CORE}{OPEN_GRAPH}</head></html>")
    assert f["title"] == ("DC title", "dublin-core:DC.title")
    assert f["authors"] == (["Dee Core"], "dublin-core:DC.creator")
    assert f["published"] == ("2024-12-31", "dublin-core:DC.issued")
    f = fields(f"<html><head>{OPEN_GRAPH}</head></html>")
    assert f["title"] == ("OG title", "opengraph:og:title") and f["language"][0] == "de-DE"


def test_plain_html_fallbacks() -> None:
    f = fields(PLAIN)
    assert f["title"] == ("Plain title", "html:title")
    assert f["authors"] == (["Plain Author"], "html:meta[name=author]")
    assert f["published"] == ("2022-05-06", "html:time[datetime]")
    assert f["language"] == ("it", "html:html[lang]")


def test_nothing_at_all() -> None:
    assert extract_metadata("<p>just text</p>").fields == {}
    assert extract_metadata('<script type="application/ld+json">{broken json</script>').fields == {}


def test_date_parts() -> None:
    assert date_parts("2026-11-20T09:30:00Z") == [2026, 11, 20]
    assert date_parts("2026/11") == [2026, 11]
    assert date_parts("2026-13-40") == [2026]
    assert date_parts("yesterday") is None


def test_half_an_emoji_in_json_ld_becomes_a_replacement_character() -> None:
    import yaml

    from archiver.fixity.manifest import dump_manifest

    html = ('<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Caf\\ud83d review",'
            ' "author": {"@type": "Person", "name": "Ana \\udc00 Ruiz"}}</script>')
    meta = extract_metadata(html)
    assert meta.get("title") == "Caf\ufffd review" and meta.get("authors") == ["Ana \ufffd Ruiz"]
    # the manifest can carry it (a lone surrogate cannot be written as UTF-8)
    assert yaml.safe_load(dump_manifest({"metadata": meta.as_manifest()}))["metadata"]["title"]["value"] == \
        "Caf\ufffd review"
