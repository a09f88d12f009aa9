"""SURT keys, as pywb and the Wayback Machine compute them (the ``surt`` package's defaults):
``http://www.Example.org:80/a/?b=2&a=1#x`` -> ``org,example)/a?a=1&b=2``.

Written here rather than imported so that ``archiver lookup`` starts fast; the tests compare it
with the ``surt`` package on many URLs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_to_bytes, urlsplit

from ..core.urls import canonical

_WWW = re.compile(r"^www\d*\.")
_SESSION = re.compile(r"(?i)(?:^|&)(?:jsessionid|phpsessid|aspsessionid\w*|sid|cfid|cftoken)=[^&]*")


@lru_cache(maxsize=65536)
def surt(url: str) -> str:
    """The SURT key of an http(s) URL."""
    parts = urlsplit(canonical(url))
    host = parts.hostname or ""
    port = parts.port
    host = _WWW.sub("", host)
    if ":" in host:                      # IPv6 stays as it is; IPv4 reverses like a name
        key = host
    else:
        key = ",".join(reversed(host.split(".")))
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if port and port != default:
        key += f":{port}"
    path = _normalise_escapes(parts.path).lower() or "/"
    if path != "/" and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = _normalise_escapes(parts.query).lower()
    query = "&".join(sorted(query.split("&"))) if query else ""
    return f"{key}){path}" + (f"?{query}" if query else "")


def _normalise_escapes(text: str) -> str:
    """Unescape until stable, then escape only controls, space, non-ASCII, '#' and '%'
    (the canonical form the Wayback Machine's SURTs use, so '%7E' and '~' share a key)."""
    raw = text.encode("utf-8")
    while True:
        decoded = unquote_to_bytes(raw)
        if decoded == raw:
            break
        raw = decoded
    return "".join(f"%{b:02X}" if b <= 0x20 or b >= 0x7F or b in b"#%" else chr(b) for b in raw)


def timestamp14(date: str) -> str:
    """'2026-11-29T15:04:47.123456Z' -> '20261129150447'."""
    digits = re.sub(r"\D", "", date)
    return digits[:14].ljust(14, "0")
