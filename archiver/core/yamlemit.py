"""Block-style YAML for plain data (mappings, lists, strings, integers, booleans, null), fast.

PyYAML's dumper walks every value through Python representer and resolver objects: about 0.3 s
for a 1,000-resource manifest, a tenth of a small capture's CPU. This emitter writes the same
kind of document directly. Any YAML 1.1 or 1.2 parser reads it back to the very same data
(tests/test_yamlemit.py checks that against PyYAML on generated and real documents):

- a string is written plain only when it starts with a letter, holds only URL-safe characters
  (no spaces, no ``#``, no flow indicators), does not end in ``:`` and is not a word YAML reads as
  a boolean or null; every other string is double-quoted, with escapes for ``"``, ``\\``, control
  characters, line and paragraph separators, the byte-order mark and non-characters (a string
  with a lone surrogate, which no UTF-8 document can hold, is refused with ValueError);
- floats are spelled as PyYAML spells them (``30.0``, ``1.0e-05``, ``.inf``, ``.nan``), without
  importing it (its import costs a capture 9 ms);
- a mapping key longer than 1,024 characters as written is refused with ValueError (parsers
  read no longer implicit key; manifest keys are field names).
"""

from __future__ import annotations

import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./:@%+=~?&;<>-]*").fullmatch
_NOT_PLAIN = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null"})
# characters written as escapes inside double quotes: C0 and C1 controls, DEL, NEL, separators,
# the byte-order mark, the non-characters U+FFFE/U+FFFF, and the quote and backslash
_ESCAPE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\"\\\\]")
_SURROGATE = re.compile("[\ud800-\udfff]").search
_MAX_KEY = 1024          # the longest implicit key PyYAML and libyaml read
_NAMED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}
_LONGEST_NOT_PLAIN = max(map(len, _NOT_PLAIN))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"


def scalar(value: Any) -> str:
    """One scalar in YAML: plain when that reads back as the same value, else quoted."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str):
        return _string(value)
    if type(value) is float:
        return _float(value)
    if isinstance(value, float):          # a subclass: as PyYAML's SafeDumper takes it (it refuses them)
        import yaml

        return yaml.safe_dump(value).removesuffix("\n...\n").strip()
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


def _string(value: str) -> str:
    # the plain pattern admits ASCII alone, whose lower() keeps the length: longer words are none of _NOT_PLAIN
    if _PLAIN(value) and value[-1] != ":" and (len(value) > _LONGEST_NOT_PLAIN or value.lower() not in _NOT_PLAIN):
        return value
    if _SURROGATE(value):
        raise ValueError(f"{value!r} holds a lone surrogate, which UTF-8 (and so YAML) cannot carry")
    return '"' + _ESCAPE.sub(_escape, value) + '"'


def _float(value: float) -> str:
    """PyYAML's spelling of a float (its SafeRepresenter.represent_float), always written plain."""
    if value != value:
        return ".nan"
    if value in (_INF, -_INF):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:        # '1e+17' is no YAML float: '1.0e+17' is
        text = text.replace("e", ".0e", 1)
    return text


_INF = float("inf")


class _Emitter:
    """The lines of one document; the text written for each mapping key and string value is kept,
    since a manifest repeats its field names (and roles, types, file names) for every resource."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.keys: dict[str, str] = {}       # key -> 'key:' as written
        self.strings: dict[str, str] = {}    # string value -> as written

    def key(self, key: Any) -> str:
        if type(key) is str and (head := self.keys.get(key)) is not None:
            return head
        if not isinstance(key, str):
            raise TypeError(f"mapping key {key!r} is not a string")
        written = scalar(key)
        if len(written) > _MAX_KEY:
            raise ValueError(f"mapping key of {len(written)} characters: YAML parsers read at most {_MAX_KEY}")
        head = written + ":"
        if type(key) is str:
            self.keys[key] = head
        return head

    def inline(self, value: Any) -> str:
        kind = type(value)
        if kind is str:
            written = self.strings.get(value)
            if written is None:
                written = self.strings[value] = _string(value)
            return written
        if kind is int:
            return str(value)
        return _inline(value)

    def emit(self, value: Any, indent: str) -> None:
        """Lines for a non-empty mapping or list, at ``indent``."""
        out = self.out
        if isinstance(value, dict):
            for key, item in value.items():
                head = indent + self.key(key)
                kind = type(item)
                if kind is not str and kind is not int and isinstance(item, dict | list) and item:
                    out.append(head)
                    # block sequences in a mapping are not indented
                    self.emit(item, indent + "  " if isinstance(item, dict) else indent)
                else:
                    out.append(f"{head} {self.inline(item)}")
            return
        for item in value:
            kind = type(item)
            if kind is not str and kind is not int and isinstance(item, dict | list) and item:
                first = len(out)
                self.emit(item, indent + "  ")
                out[first] = f"{indent}- {out[first][len(indent) + 2:]}"
            else:
                out.append(f"{indent}- {self.inline(item)}")


def _inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"                                 # only empty ones reach here
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def dump(data: dict[str, Any] | list[Any]) -> str:
    """The document for ``data`` (a mapping or a list of plain values), ending in a newline."""
    if not data:
        return _inline(data) + "\n"
    emitter = _Emitter()
    emitter.emit(data, "")
    return "\n".join(emitter.out) + "\n"
