"""Human citation styles (APA 7, MLA 9, Chicago 17 and any CSL style by name or file) rendered by
citeproc-js, the reference CSL processor, from the same CSL-JSON ``--style csl-json`` prints: a
Zotero user importing that file gets the same text. The bibliography comes out in the style's own
order (its ``<sort>``), never in capture order."""

from __future__ import annotations

from collections.abc import Callable

from .csl import csl_items
from .csl_styles import CslStyle, find_style
from .data import CitationData, in_reference_order
from .processor import CiteprocJS, shared_processor


def render(items: list[CitationData], style: CslStyle, processor: CiteprocJS | None = None) -> list[str]:
    """One entry per item, sorted as the style sorts (by the process's shared processor unless one
    is given)."""
    if not items:
        return []
    processor = processor or shared_processor()
    return [text for _, text in processor.bibliography(style, csl_items(in_reference_order(items)))]


def to_style(style: CslStyle) -> Callable[[list[CitationData]], str]:
    """A renderer (list of sources -> text) for one CSL style."""
    def to_text(items: list[CitationData]) -> str:
        return "".join(entry + "\n" for entry in render(items, style))
    return to_text


def to_apa(items: list[CitationData]) -> str:
    return to_style(find_style("apa"))(items)


def to_mla(items: list[CitationData]) -> str:
    return to_style(find_style("mla"))(items)


def to_chicago(items: list[CitationData]) -> str:
    return to_style(find_style("chicago"))(items)
