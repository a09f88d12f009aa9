"""The bounds every value read from an imported WARC or WACZ must be within before anything is written.

Each check returns None when the value is acceptable, else a short phrase saying what is wrong, in
which the value is shown shortened and escaped (``shown``), so that the message stays one line. The
callers (``importing``, ``waczunpack``) turn a phrase into ImportRefused naming the file and record.
The index applies the same bounds to manifests (``index``), where values out of range are left out
instead of refused: a sealed manifest is never rewritten.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime

MIN_YEAR, MAX_YEAR = 1990, 9999
MIN_STATUS, MAX_STATUS = 100, 999
MAX_URL = 65536                    # characters of a URL (archiver captures URLs of 10,000 and more)
MAX_RECORD_ID = 512
MAX_DATE = 64
MAX_CONTENT_LENGTH = 2**40          # 1 TiB: a record's Content-Length
MAX_HEADER_VALUE = 4096            # Content-Type, Content-Language, software names
MAX_DIGEST = 256
MAX_INT = 2**63 - 1                # SQLite's INTEGER
TRUNCATED = frozenset({"length", "time", "disconnect", "unspecified"})
WACZ_HASHES = {"sha256": 64, "sha384": 96, "sha512": 128, "blake2b": 128}

_SHOWN = 80
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_RECORD_ID = re.compile(r"[\x21-\x7e]+")
_DIGEST = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9+/=_-]+")
_DIGITS = re.compile(r"[0-9]+")


def shown(value: object) -> str:
    """A value for a one-line message: ``repr``, at most 80 characters of it."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def one_line(text: str) -> str:
    """``text`` with every character that is not printable escaped: never more than one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def text_problem(name: str, value: object, limit: int) -> str | None:
    """A string of at most ``limit`` characters without control characters (CR, LF, NUL...)."""
    if not isinstance(value, str):
        return f"{name} is not text: {shown(value)}"
    if len(value) > limit:
        return f"{name} is {len(value)} characters long (at most {limit}): {shown(value)}"
    if has_control(value):
        return f"{name} holds a control character (CR, LF, NUL...): {shown(value)}"
    return None


def url_problem(name: str, value: object) -> str | None:
    return text_problem(name, value, MAX_URL)


def record_id_problem(name: str, value: object) -> str | None:
    """A WARC record id: printable ASCII without spaces, at most 512 characters."""
    if not isinstance(value, str) or not value:
        return f"{name} is missing"
    if len(value) > MAX_RECORD_ID:
        return f"{name} is {len(value)} characters long (at most {MAX_RECORD_ID}): {shown(value)}"
    if not _RECORD_ID.fullmatch(value):
        return f"{name} holds characters other than printable ASCII: {shown(value)}"
    return None


def date_problem(name: str, moment: datetime) -> str | None:
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        return f"{name} {moment.year:04d}-{moment.month:02d}-{moment.day:02d} is not between {MIN_YEAR} and {MAX_YEAR}"
    return None


def content_length_problem(value: object) -> str | None:
    """Decimal digits only (no sign, space or underscore), at most 1 TiB."""
    if not isinstance(value, str) or not _DIGITS.fullmatch(value.strip()) or len(value.strip()) > 14:
        return f"Content-Length {shown(value)} is not a decimal number of bytes"
    if int(value) > MAX_CONTENT_LENGTH:
        return f"Content-Length {value.strip()} is more than {MAX_CONTENT_LENGTH} bytes"
    return None


def ip_problem(value: str) -> str | None:
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return f"WARC-IP-Address {shown(value)} is not an IP address"
    return None


def digest_problem(name: str, value: str) -> str | None:
    """``algorithm:value``, the value base32, base64 or hex, at most 256 characters."""
    if len(value) > MAX_DIGEST or not _DIGEST.fullmatch(value.strip()):
        return f"{name} {shown(value)} is not a labelled digest (algorithm:value)"
    return None


def truncated_problem(value: str) -> str | None:
    if value.strip().lower() not in TRUNCATED:
        return f"WARC-Truncated {shown(value)} is none of {', '.join(sorted(TRUNCATED))}"
    return None


def status_of(statusline: object) -> tuple[int | None, str | None]:
    """The status code at the start of an HTTP status line (after the version): exactly three ASCII
    digits, 100 to 999 (999 is a real status some servers send); else a problem."""
    code = statusline.split(" ", 1)[0] if isinstance(statusline, str) else ""
    if len(code) != 3 or not _DIGITS.fullmatch(code):
        return None, f"HTTP status {shown(code or statusline)} is not a three-digit number"
    status = int(code)
    if not MIN_STATUS <= status <= MAX_STATUS:
        return None, f"HTTP status {status} is not between {MIN_STATUS} and {MAX_STATUS}"
    return status, None


def wacz_hash_problem(name: str, value: object) -> str | None:
    """A WACZ hash: ``sha256:<64 hex digits>`` (or sha384, sha512, blake2b with their own lengths)."""
    if not isinstance(value, str):
        return f"{name} has no hash (got {shown(value)})"
    algo, sep, digest = value.partition(":")
    size = WACZ_HASHES.get(algo.lower())
    if not sep or size is None:
        known = ", ".join(WACZ_HASHES)
        return f"{name} has a hash {shown(value)} of an unknown or unsafe algorithm (accepted: {known})"
    if len(digest) != size or not re.fullmatch(r"[0-9a-fA-F]+", digest):
        return f"{name} has a hash {shown(value)} that is not {size} hex digits"
    return None


def int_problem(name: str, value: object, low: int, high: int) -> str | None:
    """An integer (not a boolean) from ``low`` to ``high``."""
    if type(value) is not int or not low <= value <= high:
        return f"{name} {shown(value)} is not a whole number from {low} to {high}"
    return None
