"""Capture options: how one capture behaves, and the bounds of every number and text a user can
give (flags, archiver.yaml, the Python API all go through ``CaptureOptions``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from .. import __version__
from .errors import UsageError

DEFAULT_USER_AGENT = f"archiver/{__version__} (+https://pypi.org/project/archiver/)"

# The bounds of every number a user can give: capture options (flags, archiver.yaml) and other
# arguments. The command line, the settings file and the Python API all go through these.
TB = 10**12
BOUNDS: dict[str, tuple[int | float, int | float]] = {
    "depth": (0, 10),
    "max_resources": (1, 1_000_000),
    "max_bytes": (1, TB),                  # per resource: 1 TB
    "max_total_bytes": (1, 100 * TB),      # per capture: 100 TB
    "timeout": (0.001, 86_400.0),          # seconds: a millisecond to a day
    "concurrency": (1, 256),
    "per_host": (1, 64),
    "max_redirects": (0, 100),
    "compress_level": (0, 9),
    "search_limit": (1, 10_000),           # archiver search --limit
    "browser_tabs": (1, 16),               # pages rendered at once (--browser)
}
MAX_TEXT = {"user_agent": 512, "header_name": 256, "header_value": 8192, "pattern": 2000, "path": 4096,
            "operator": 1000, "replay_url": 2000, "moment": 100}
MAX_HEADERS = 100
MAX_EXCLUDES = 1000
MAX_SETTINGS_BYTES = 1 << 20               # archiver.yaml: 1 MiB
REPLAY_FIELDS = ("collection", "timestamp", "url", "capture_id")
BROWSER_MODES = ("off", "on", "auto")

_SIZE = re.compile(r"^\s*(\d{1,20}(?:\.\d{1,20})?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "ki": 1024, "kib": 1024, "m": 10**6, "mb": 10**6,
          "mi": 2**20, "mib": 2**20, "g": 10**9, "gb": 10**9, "gi": 2**30, "gib": 2**30,
          "t": 10**12, "tb": 10**12, "ti": 2**40, "tib": 2**40}


def shown(value: object, limit: int = 60) -> str:
    """``value`` for an error message: one line, short, even for a huge number or a long text."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return "a number of more than 30 digits" if value > 0 else "a negative number of more than 30 digits"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit] + "...'"


def text_problem(text: str, limit: int, *, latin1: bool = False) -> str | None:
    """What is wrong with ``text`` as a one-line value (None if nothing): too long, a control
    character (line breaks included), bytes that were not UTF-8; ``latin1`` for what goes into an
    HTTP header (printable ISO-8859-1 only)."""
    if len(text) > limit:
        return f"is longer than {limit} characters"
    for char in text:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            return "is not valid UTF-8"
        if code < 0x20 and char != "\t" or 0x7F <= code <= 0x9F:
            return f"contains the control character {char!r}"
        if latin1 and code > 0xFF:
            return f"contains {char!r}, which an HTTP header cannot carry (ISO-8859-1 only)"
    return None


def parse_size(text: str | int) -> int:
    """'100MB' -> 100000000, '2GiB' -> 2147483648, 512 -> 512."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise UsageError(f"size must not be negative: {shown(text)}")
        return text
    m = _SIZE.match(str(text))
    if not m or (m.group(2) or "").lower() not in _UNITS:
        raise UsageError(f"not a size: {shown(text)} (examples: 500000, 100MB, 2GiB)")
    return int(Decimal(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


class OptionError(UsageError):
    """A capture option of the wrong type or out of its bounds; ``option`` names the field."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option} {problem}")
        self.option, self.problem = option, problem


def check_bound(name: str, value: object) -> None:
    """OptionError unless ``value`` is a number of the right kind within ``BOUNDS[name]``."""
    low, high = BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or isinstance(low, int) and \
            not isinstance(value, int):
        kind = "a whole number" if isinstance(low, int) else "a number"
        raise OptionError(name, f"must be {kind}, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value) or not low <= value <= high:
        raise OptionError(name, f"must be from {bound_text(name, low)} to {bound_text(name, high)}, "
                                f"not {shown(value)}")


def bound_text(name: str, value: int | float) -> str:
    """A bound as the help and errors show it: '1 TB', '1,000,000', '0.001'."""
    if name in ("max_bytes", "max_total_bytes"):
        return f"{value // TB:g} TB" if value >= TB else f"{value:,} byte{'s' if value != 1 else ''}"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def bounds_help(name: str) -> str:
    """'0 to 10', for the command line's help."""
    low, high = BOUNDS[name]
    return f"{bound_text(name, low)} to {bound_text(name, high)}"


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """How one capture behaves. Defaults protect a laptop and a remote server alike."""

    depth: int = 1
    exclude: tuple[str, ...] = ()
    max_resources: int = 5000
    max_bytes: int = 200 * 10**6          # per resource
    max_total_bytes: int = 4 * 10**9      # per capture
    timeout: float = 30.0                 # seconds, whole exchange
    concurrency: int = 16
    per_host: int = 2
    user_agent: str = DEFAULT_USER_AGENT
    ignore_robots: bool = False
    headers: tuple[tuple[str, str], ...] = ()
    cookies_file: str | None = None
    keep_secrets: bool = False
    max_redirects: int = 20
    compress_level: int = 6
    dedup: bool = True                    # identical payloads of a URL stored once (revisit records)
    conditional: bool = True              # with dedup: re-captures send the stored ETag / Last-Modified
    allow_private: bool = False           # found URLs may reach private and link-local addresses
    deny_private: bool = False            # found URLs may not reach private addresses, even for a private seed
    insecure: bool = False                # archive over TLS even when the certificate cannot be verified
    browser: str = "off"                  # render pages in Chromium: "off", "on" (every page), "auto" (pages flagged)
    browser_tabs: int = 1                 # pages rendered at once

    def __post_init__(self) -> None:
        """Every option checked where it enters, whoever built it (flags, archiver.yaml, Python):
        an OptionError naming the option, its bounds and the value."""
        for name in BOUNDS.keys() & {f.name for f in fields(self)}:
            check_bound(name, getattr(self, name))
        for name in ("ignore_robots", "keep_secrets", "dedup", "conditional", "allow_private", "deny_private", "insecure"):
            if not isinstance(getattr(self, name), bool):
                raise OptionError(name, f"must be true or false, not {type(getattr(self, name)).__name__}")
        if self.browser not in BROWSER_MODES:
            raise OptionError("browser", f"must be one of {', '.join(BROWSER_MODES)}, not {shown(self.browser)}")
        if self.allow_private and self.deny_private:
            raise UsageError("--allow-private and --deny-private exclude each other")
        _check_text("user_agent", self.user_agent, MAX_TEXT["user_agent"], latin1=True, empty=False)
        if self.cookies_file is not None:
            _check_text("cookies_file", self.cookies_file, MAX_TEXT["path"], empty=False)
        object.__setattr__(self, "headers", _checked_headers(self.headers))
        object.__setattr__(self, "exclude", _checked_patterns(self.exclude))

    def public(self) -> dict[str, Any]:
        """The options as recorded in a manifest or warcinfo: secrets reduced to header names."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "headers":
                value = [name for name, _ in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def _check_text(name: str, value: object, limit: int, *, latin1: bool = False, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise OptionError(name, f"must be text, not {type(value).__name__}")
    problem = text_problem(value, limit, latin1=latin1) or (None if empty or value.strip() else "is empty")
    if problem:
        raise OptionError(name, f"{shown(value)} {problem}")
    return value


_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _checked_headers(headers: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(headers, tuple | list) or not all(isinstance(h, tuple | list) and len(h) == 2 for h in headers):
        raise OptionError("headers", "must be a list of (name, value) pairs")
    if len(headers) > MAX_HEADERS:
        raise OptionError("headers", f"are more than {MAX_HEADERS}")
    for name, value in headers:
        _check_text("headers", name, MAX_TEXT["header_name"])
        if not _TOKEN.match(name):
            raise OptionError("headers", f"{shown(name)} is not a header name (letters, digits and !#$%&'*+-.^_`|~)")
        if not isinstance(value, str):
            raise OptionError("headers", f"{name}: the value must be text, not {type(value).__name__}")
        problem = text_problem(value, MAX_TEXT["header_value"], latin1=True)
        if problem:
            raise OptionError("headers", f"{name}: the value {problem}")
    return tuple((name, value) for name, value in headers)


def _checked_patterns(patterns: object) -> tuple[str, ...]:
    if not isinstance(patterns, tuple | list):
        raise OptionError("exclude", f"must be a list of regular expressions, not {type(patterns).__name__}")
    if len(patterns) > MAX_EXCLUDES:
        raise OptionError("exclude", f"has more than {MAX_EXCLUDES} patterns")
    for pattern in patterns:
        _check_text("exclude", pattern, MAX_TEXT["pattern"])
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as exc:
            raise OptionError("exclude", f"{shown(pattern)} is not a valid regular expression: {exc}") from None
    return tuple(patterns)
