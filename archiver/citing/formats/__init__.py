"""Citations: pure functions from CitationData to text, one module per format.

``FORMATS`` maps each style name of ``archiver cite --style`` to the function that renders a
bibliography (a list of sources) in it.
"""

from __future__ import annotations

from collections.abc import Callable

from .bibtex import to_bibtex
from .csl import to_csl_json
from .data import CitationData
from .markdown import to_markdown
from .ris import to_ris
from .robust import to_robust_links
from .styles import to_apa, to_chicago, to_mla

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

__all__ = ["FORMATS", "CitationData", "Renderer"]
