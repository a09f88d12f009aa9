"""What parsing a body may cost: Content-Encoding undone within a bound, and the markup handed to a
parser bounded in tags and nesting. Only the derived parsing is bounded; the archived bytes are
never touched.

A body sent as a compression bomb must not exhaust memory, so decoding stops at ``limit`` bytes.
A bound that cuts leaves a note (``"<bound>: <what was kept>"``) that the manifest lists under the
resource's ``limits``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

from ..core import deflate as codec

PARSE_BYTES = 8 * 2**20       # decoded bytes of a body parsed at most (fetch keeps as many of a plain body)
DECODE_LIMIT = PARSE_BYTES
PARSE_TAGS = 200_000          # '<' handed to the HTML parser: tags, open or close (a 5 MB page has ~60,000)
PARSE_DEPTH = 512             # nesting deeper than this is parsed flat, as Chrome's parser does (it stops at 512)


def size(n: int) -> str:
    """``n`` bytes for a note: '16 MiB', '1.5 GiB', '900 bytes'."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def decode_bounded(data: bytes, content_encoding: str | None,
                   limit: int = DECODE_LIMIT) -> tuple[bytes | None, str | None]:
    """``decode_for_parsing``, and a note when the decoded body was longer than ``limit``."""
    decoded = decode_for_parsing(data, content_encoding, limit + 1)
    if decoded is None or len(decoded) <= limit:
        return decoded, None
    coding = (content_encoding or "").strip().lower()
    return decoded[:limit], f"decoded: parsed the first {size(limit)} of the body decoded from {coding}"


def decode_for_parsing(data: bytes, content_encoding: str | None, limit: int = DECODE_LIMIT) -> bytes | None:
    """The first ``limit`` bytes of ``data`` with its content codings removed; None if a coding
    is unknown or the bytes do not decode (the page is then archived but not parsed)."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in ("identity", ""):
            continue
        if coding in ("gzip", "x-gzip"):
            data = _inflate(data, codec.MAX_WBITS | 16, limit)
        elif coding == "deflate":
            try:
                data = _inflate(data, codec.MAX_WBITS, limit)
            except codec.error:
                data = _inflate(data, -codec.MAX_WBITS, limit)   # raw deflate, as some servers send
        elif coding == "br":
            unbrotlied = _unbrotli(data, limit)
            if unbrotlied is None:
                return None
            data = unbrotlied
        else:
            return None
    return data[:limit]


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    decomp = codec.decompressobj(wbits)
    try:
        out = decomp.decompress(data, limit)
    except codec.error:
        if wbits == codec.MAX_WBITS:
            raise
        return b""
    return out


def _unbrotli(data: bytes, limit: int) -> bytes | None:
    try:
        import brotli
    except ImportError:
        return None
    try:
        dec = brotli.Decompressor()
        out = bytearray()
        step = 64 * 1024
        for i in range(0, len(data), step):
            out += dec.process(data[i:i + step])
            if len(out) >= limit:
                break
        return bytes(out[:limit])
    except brotli.error:
        return None


# --------------------------------------------------------------------------- markup bounds

_LT = re.compile("<")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*>|<!--")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                   "track", "wbr", "param", "keygen", "basefont", "bgsound", "frame", "image"})
# closed by the next one of their kind or their parent's end: they do not deepen a page
_SELF_ENDING = frozenset({"p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "tbody", "thead",
                          "tfoot", "rb", "rt", "rp", "colgroup", "caption", "html", "head", "body"})
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "noembed", "noframes", "iframe"})
_RAW_END = {name: re.compile(rf"</{name}", re.IGNORECASE) for name in _RAW_TEXT}


def bound_markup(html: str, max_tags: int = PARSE_TAGS, max_depth: int = PARSE_DEPTH) -> tuple[str, tuple[str, ...]]:
    """``html`` as an HTML parser may take it: at most ``max_tags`` tags (``<``, which make a node
    or a parse error each; the rest is cut), NUL characters left out (each is a parse error the
    parser keeps), and elements nested deeper than ``max_depth`` made empty (their end tag moved
    right after the start tag, attributes kept), so that parsing costs neither unbounded memory
    nor time quadratic in the depth. Notes say what a bound cut."""
    notes: list[str] = []
    if "\0" in html:
        html = html.replace("\0", "")     # the parser ignores them in text: nothing is lost
    html, note = cut_tags(html, max_tags)
    if note:
        notes.append(note)
    if html.count("<") > max_depth:
        html, flattened = _flatten(html, max_depth)
        if flattened:
            notes.append(f"nesting: {flattened} elements deeper than {max_depth} levels parsed as empty elements")
    return html, tuple(notes)


@dataclass(frozen=True, slots=True)
class Markup:
    """HTML within the parsing bounds (``bound_markup``), and the notes of the bounds that cut it."""

    html: str
    notes: tuple[str, ...] = ()


def markup(html: str | Markup) -> Markup:
    """``html`` bounded for parsing, once: a Markup passes through as it is."""
    if isinstance(html, Markup):
        return html
    return Markup(*bound_markup(html))


def cut_tags(html: str, max_tags: int) -> tuple[str, str | None]:
    if html.count("<") <= max_tags:
        return html, None
    past = next(islice(_LT.finditer(html), max_tags, None), None)
    if past is None:
        return html, None
    cut = past.start()
    return html[:cut], f"tags: parsed the first {max_tags} tags; the last {len(html) - cut} characters not parsed"


def _flatten(html: str, max_depth: int) -> tuple[str, int]:
    """(html with the too-deep elements made empty, how many were). Nesting is estimated from the
    tags alone: void, self-ending and raw-text elements do not deepen it."""
    edits = _deep_tags(html, max_depth)
    if not edits:
        return html, 0
    pieces: list[str] = []
    start = flattened = 0
    for at, name, insert in edits:
        pieces.append(html[start:at])
        if insert:                       # a too-deep start tag ending at ``at``: close it there
            pieces.append(f"</{name}>")
            flattened += 1
            start = at
        else:                            # its own end tag, from ``at`` to ``name``'s length: dropped
            start = at + len(name) + 3
    pieces.append(html[start:])
    return "".join(pieces), flattened


def _deep_tags(html: str, max_depth: int) -> list[tuple[int, str, bool]]:
    """Edits for _flatten: (position, tag name, True to insert an end tag there | False to drop the
    end tag starting there). Raw text (scripts, styles) is skipped; every step moves forward, so
    the scan is linear whatever the markup."""
    edits: list[tuple[int, str, bool]] = []
    pending: dict[str, int] = {}          # end tags still to drop, by name
    depth = pos = 0
    last = html.rfind(">") + 1            # past the last '>', nothing is a whole tag
    while pos < last:
        for m in _TAG.finditer(html, pos, last):
            slash, name = m.group(1, 2)
            if name is None:              # a comment: skip to its end
                pos = html.find("-->", m.end()) + 3
                break
            low = name.lower()
            if slash:
                if pending.get(low):
                    if m.end() - m.start() == len(name) + 3:     # exactly </name>: dropped
                        pending[low] -= 1
                        edits.append((m.start(), name, False))
                elif depth and low not in _VOID and low not in _SELF_ENDING:
                    depth -= 1
            elif low in _RAW_TEXT:        # skip to its end tag
                raw_end = _RAW_END[low].search(html, m.end())
                pos = raw_end.start() if raw_end else last
                break
            elif low in _VOID or low in _SELF_ENDING or html[m.end() - 2] == "/":
                continue
            elif depth >= max_depth:
                edits.append((m.end(), name, True))
                pending[low] = pending.get(low, 0) + 1
            else:
                depth += 1
        else:
            break
        if pos == 2:                      # an unclosed comment (find gave -1): the rest is comment
            break
    return edits


_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b[^>]*>", re.IGNORECASE)


def without_scripts(html: str) -> str:
    """``html`` with the content of its scripts and styles removed (the tags stay): what a text
    extractor throws away anyway, not counted against its bounds. Linear whatever the markup."""
    pieces: list[str] = []
    pos = 0
    while (m := _SCRIPT_OR_STYLE.search(html, pos)) is not None:
        pieces.append(html[pos:m.end()])
        end = _RAW_END[m.group(1).lower()].search(html, m.end())
        if end is None:
            return "".join(pieces)
        pos = end.start()
    if not pieces:
        return html
    pieces.append(html[pos:])
    return "".join(pieces)
