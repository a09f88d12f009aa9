"""URLs: resolving links, the one canonical form used to tell URLs apart, and request targets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from .errors import UsageError

FETCHABLE_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
_STRIP_CHARS = "\t\n\r"
# Characters left as they are when percent-encoding a path or query: everything RFC 3986 allows,
# and '%' so that existing escapes stay as the page wrote them.
_SAFE = "!#$%&'()*+,/:;=?@[]~"
_HOST_OK = re.compile(r"^[a-z0-9.\-_]+$|^\[[0-9a-f:.]+\]$")


@dataclass(frozen=True, slots=True)
class HttpUrl:
    """An http(s) URL split into what a request needs."""

    scheme: str
    host: str          # ASCII (punycode), lower case; IPv6 without brackets
    port: int
    target: str        # request-target: path and query
    url: str           # the canonical URL

    @property
    def authority(self) -> str:
        """Host header value: the port only when it is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.authority}"


def _ascii_host(host: str, url: str) -> str:
    host = host.strip().rstrip(".").lower() if host not in (".",) else host
    if host.startswith("[") or ":" in host:
        return host.strip("[]")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UsageError(f"{url}: host {host!r} is not a valid internationalised domain name") from None
    if not host or not _HOST_OK.match(host):
        raise UsageError(f"{url}: {host!r} is not a valid host name")
    return host


@lru_cache(maxsize=65536)
def parse_http_url(url: str) -> HttpUrl:
    """Split and canonicalise an http(s) URL; UsageError names what is wrong."""
    text = url.strip()
    if "\t" in text or "\n" in text or "\r" in text:
        text = "".join(c for c in text if c not in _STRIP_CHARS)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{url!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in FETCHABLE_SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        raise UsageError(f"{url!r}: only http and https URLs can be captured ({shown})")
    if not parts.hostname:
        raise UsageError(f"{url!r} has no host")
    host = _ascii_host(parts.hostname, url)
    port = port or DEFAULT_PORTS[scheme]
    path = quote(parts.path or "/", safe=_SAFE)
    query = quote(parts.query, safe=_SAFE)
    target = path + (f"?{query}" if query or text.split("#")[0].endswith("?") else "")
    netloc_host = f"[{host}]" if ":" in host else host
    netloc = netloc_host if port == DEFAULT_PORTS[scheme] else f"{netloc_host}:{port}"
    canonical = urlunsplit((scheme, netloc, path, query, ""))
    if target.endswith("?") and not canonical.endswith("?"):
        canonical += "?"
    return HttpUrl(scheme=scheme, host=host, port=port, target=target, url=canonical)


def canonical(url: str) -> str:
    """The form used to tell URLs apart within a capture: fragment dropped, host lower case,
    default port dropped, unsafe characters percent-encoded. Raises UsageError if not http(s)."""
    return parse_http_url(url).url


def resolve_link(base: str, href: str) -> str | None:
    """Resolve ``href`` found in a document at ``base``; None for what cannot be fetched
    (``mailto:``, ``javascript:``, ``data:``, empty, malformed)."""
    href = href.strip(" \t\n\r\f")
    if "\t" in href or "\n" in href or "\r" in href:
        href = "".join(c for c in href if c not in _STRIP_CHARS)
    if not href or href.startswith("#"):
        return None if not href else _without_fragment(base)
    try:
        joined = urljoin(base, href)
        return canonical(joined)
    except (UsageError, ValueError):
        return None


def _without_fragment(url: str) -> str | None:
    try:
        return canonical(url)
    except UsageError:
        return None


def host_key(url: str) -> str:
    """host:port, the unit of politeness and of robots.txt."""
    u = parse_http_url(url)
    return f"{u.host}:{u.port}"


MAX_QUEUE_URL = 2000


def check_queue_url(text: str) -> str:
    """A Redis URL as archiver.yaml's ``queue:`` names it (read in full when used:
    archiver.distributed.queue.parse_queue); UsageError."""
    url = text.strip()
    if not url.startswith(("redis://", "rediss://", "unix://")) or len(url) > MAX_QUEUE_URL or \
            any(c.isspace() or ord(c) < 32 for c in url):
        raise UsageError(f"{text[:200]!r} is not a Redis URL such as redis://queue-host:6379/0")
    return url
