"""URLs in BibTeX and BibLaTeX: the ``url`` field, and ``\\url{}`` or ``\\href{}{}`` in
``howpublished`` and ``note``. A small scanner of entries and fields that keeps the span of every
value, so the robust copy adds fields and changes nothing else. A URL is robust already when the
entry names an archived copy of it: ``archiveurl`` (of the ``url`` field), or in the ``addendum``
"archived YYYY-MM-DD at \\url{COPY}" (of the ``url`` field) or "\\url{LIVE} archived YYYY-MM-DD
at \\url{COPY}". The entry's ``urldate`` is the date its author consulted the page."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from ..core.errors import UsageError
from ..core.urls import canonical
from .found import Document, Occurrence, decode

ENTRY = re.compile(r"@[ \t]*([A-Za-z]+)[ \t\r\n]*([{(])")
FIELD = re.compile(r"[ \t\r\n]*([A-Za-z][A-Za-z0-9_:.+-]*)[ \t\r\n]*=[ \t\r\n]*")
KEY = re.compile(r"[ \t\r\n]*([^,\s{}()=]*)[ \t\r\n]*,")
COPY = re.compile(r"(?:\\url\{([^{}]*)\}[ \t\r\n]+)?archived[ \t\r\n]+\d{4}-\d{2}-\d{2}[ \t\r\n]+at[ \t\r\n]+"
                  r"\\url\{([^{}]*)\}", re.IGNORECASE)   # an archived copy in an addendum, and what it is of
URL_COMMAND = re.compile(r"\\(?:url|href)[ \t]*\{")
WITH_COMMANDS = ("howpublished", "note")
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class Field:
    name: str            # lower case
    start: int           # the value's content, inside its braces or quotes
    end: int
    value_end: int       # after the closing brace or quote (or the bare word)


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    key: str
    fields: tuple[Field, ...]
    close: int           # the entry's closing brace or parenthesis

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _balanced(text: str, at: int, opener: str, closer: str) -> int:
    """The index of the closer that balances the opener at ``text[at]``."""
    depth = 0
    for i in range(at, len(text)):
        c = text[i]
        if c == "\\":
            continue
        if c == opener:
            depth += 1
            if depth > MAX_DEPTH:
                raise UsageError(f"braces nested over {MAX_DEPTH} deep at character {i}")
        elif c == closer and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return i
    raise UsageError(f"an unclosed {opener!r} at character {at}")


def _value(text: str, at: int) -> tuple[int, int, int]:
    """One value piece at ``at``: (content start, content end, end)."""
    c = text[at:at + 1]
    if c == "{":
        close = _balanced(text, at, "{", "}")
        return at + 1, close, close + 1
    if c == '"':
        i = at + 1
        depth = 0
        while i < len(text) and not (text[i] == '"' and depth == 0):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if i >= len(text):
            raise UsageError(f"an unclosed quote at character {at}")
        return at + 1, i, i + 1
    word = re.compile(r"[^\s,#{}()\"=]+").match(text, at)
    if word is None:
        raise UsageError(f"no value at character {at}")
    return at, word.end(), word.end()


def entries(text: str) -> list[Entry]:
    """Every entry (not @comment, @preamble or @string), its fields and their spans."""
    out, pos = [], 0
    while (match := ENTRY.search(text, pos)) is not None:
        kind, opener = match.group(1).lower(), match.group(2)
        closer = "}" if opener == "{" else ")"
        if kind in ("comment", "preamble", "string"):
            pos = _balanced(text, match.end() - 1, opener, closer) + 1 if kind != "comment" else match.end()
            continue
        key = KEY.match(text, match.end())
        if key is None:
            pos = match.end()
            continue
        fields, at = [], key.end()
        while (name := FIELD.match(text, at)) is not None:
            start, end, value_end = _value(text, name.end())
            while (joined := re.compile(r"[ \t\r\n]*#[ \t\r\n]*").match(text, value_end)) is not None:
                _, end, value_end = _value(text, joined.end())
            fields.append(Field(name.group(1).lower(), start, end, value_end))
            comma = re.compile(r"[ \t\r\n]*,").match(text, value_end)
            at = comma.end() if comma else value_end
        close = re.compile(r"[ \t\r\n]*[" + re.escape(closer) + "]").match(text, at)
        if close is None:
            raise UsageError(f"entry {key.group(1) or '(no key)'}: cannot read its fields at character {at}")
        out.append(Entry(kind, key.group(1), tuple(fields), close.end() - 1))
        pos = close.end()
    return out


def _url_commands(text: str, fld: Field) -> list[tuple[int, int, str]]:
    """The ``\\url{}`` and ``\\href{}{}`` of a field's value: (start, end, URL)."""
    out = []
    for command in URL_COMMAND.finditer(text, fld.start, fld.end):
        close = _balanced(text, command.end() - 1, "{", "}")
        out.append((command.end(), close, text[command.end():close].strip()))
    return out


def _copies_of(url: str, copies: list[tuple[str | None, str]], main: bool = False) -> tuple[str, ...]:
    """The archived copies an entry names for ``url``: those the addendum says are of it, and for
    the ``url`` field (``main``) ``archiveurl`` and the copies named without a live URL."""
    def same(live: str) -> bool:
        try:
            return canonical(live) == canonical(url)
        except UsageError:
            return False

    return tuple(dict.fromkeys(copy for live, copy in copies if (live is None and main) or (live and same(live))))


def find(path: Path, data: bytes) -> Document:
    text = decode(data)
    doc = Document(path, "bibtex", text)
    try:
        found = entries(text)
    except UsageError as exc:
        raise UsageError(f"{path}: not BibTeX as archiver reads it: {exc}") from None
    for entry in found:
        archived = entry.field("archiveurl")
        primary = text[archived.start:archived.end].strip() if archived else None
        dated = entry.field("urldate")
        addendum = entry.field("addendum")
        copies: list[tuple[str | None, str]] = [(None, primary)] if primary else []
        if addendum is not None:
            copies += [(m.group(1), m.group(2)) for m in COPY.finditer(text, addendum.start, addendum.end)]
        last = max((f.value_end for f in entry.fields), default=entry.close)
        common = Occurrence("", "bibtex-url", where=entry.key, extend_at=addendum.end if addendum else None,
                            insert_at=None if archived else last,
                            dated=text[dated.start:dated.end].strip()[:10] if dated else None)
        for fld in entry.fields:
            if fld.name == "url":
                value = text[fld.start:fld.end]
                lead = len(value) - len(value.lstrip())
                url = value.strip()
                doc.add(replace(common, url=url, start=fld.start + lead, end=fld.start + lead + len(url),
                                versions=_copies_of(url, copies, True)))
            elif fld.name in WITH_COMMANDS:
                for start, end, url in _url_commands(text, fld):
                    doc.add(replace(common, url=url, syntax="bibtex-\\url", start=start, end=end,
                                    versions=_copies_of(url, copies)))
    return doc
