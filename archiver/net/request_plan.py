"""What each request carries: standard headers, the user's extra headers and cookies, and which of
them are secrets to redact in the archived request records."""

from __future__ import annotations

import re
import time
import urllib.request
from http.cookiejar import Cookie, CookieJar

from ..core.capture_options import CaptureOptions, shown
from ..core.errors import UsageError
from .exchange import RequestPlan
from .fetch import ACCEPT, ACCEPT_ANY

_SECRET_NAME = re.compile(r"auth|cookie|token|secret|key|session|passw|signature|csrf|bearer", re.IGNORECASE)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def parse_header(text: str) -> tuple[str, str]:
    """'Name: value' -> ('Name', 'value'); UsageError naming what is wrong."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not _TOKEN.match(name):
        raise UsageError(f"--header {shown(text)} is not of the form 'Name: value'")
    if "\r" in value or "\n" in value:
        raise UsageError(f"--header {name}: the value contains a line break")
    return name, value


MAX_COOKIES_BYTES = 10 * 2**20
_NETSCAPE_MAGIC = re.compile(r"#( Netscape)? HTTP Cookie File")
_HTTPONLY = "#HttpOnly_"
_EXPIRES = re.compile(r"-?\d{1,20}")


def load_cookies(path: str) -> CookieJar:
    """Cookies from a Netscape cookies.txt; expiry 0 marks a session cookie (as browsers export
    them), which is kept; cookies past their expiry are dropped. UsageError naming the file and the
    line for anything malformed (read here, not by http.cookiejar, which prints a traceback)."""
    lines = _cookie_lines(path)
    if not lines or not _NETSCAPE_MAGIC.match(lines[0]):
        raise UsageError(f"--cookies {path}: not a Netscape cookies.txt file (its first line must be "
                         "'# Netscape HTTP Cookie File')")
    jar = CookieJar()
    now = time.time()
    for number, line in enumerate(lines[1:], start=2):
        cookie = _cookie(line, f"--cookies {path}:{number}")
        if cookie is not None and (cookie.expires is None or cookie.expires >= now):
            jar.set_cookie(cookie)
    return jar


def _cookie_lines(path: str) -> list[str]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_COOKIES_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"--cookies {path}: no such file") from None
    except OSError as exc:
        raise UsageError(f"--cookies {path}: cannot read it: {exc.strerror or exc}") from None
    if len(raw) > MAX_COOKIES_BYTES:
        raise UsageError(f"--cookies {path}: larger than {MAX_COOKIES_BYTES} bytes")
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise UsageError(f"--cookies {path}:{line}: not UTF-8 text") from None


def _cookie(line: str, where: str) -> Cookie | None:
    """One line of a cookies.txt: domain, subdomains, path, secure, expiry, name, value (tab-separated)."""
    rest: dict[str, str] = {}
    if line.startswith(_HTTPONLY):
        rest["HttpOnly"] = ""
        line = line[len(_HTTPONLY):]
    if not line.strip() or line.lstrip().startswith(("#", "$")):
        return None
    fields = line.split("\t")
    if len(fields) != 7:
        raise UsageError(f"{where}: has {len(fields)} tab-separated fields, not 7 (domain, subdomains, path, "
                         "secure, expiry, name, value)")
    domain, subdomains, cookie_path, secure, expires, name, value = fields
    for label, text in (("domain", domain), ("path", cookie_path), ("name", name), ("value", value)):
        if not all(0x20 < ord(c) < 0x7F or 0xA0 <= ord(c) <= 0xFF or c == " " and label == "value" for c in text) \
                or ";" in text:
            raise UsageError(f"{where}: the {label} contains a character a Cookie header cannot carry")
    if not domain or not name:
        raise UsageError(f"{where}: the domain and the name must not be empty")
    if subdomains.upper() not in ("TRUE", "FALSE") or secure.upper() not in ("TRUE", "FALSE"):
        raise UsageError(f"{where}: the second and fourth fields must be TRUE or FALSE")
    if not _EXPIRES.fullmatch(expires):
        raise UsageError(f"{where}: the expiry must be seconds since 1970 (0 for a session cookie)")
    dotted = subdomains.upper() == "TRUE" or domain.startswith(".")
    domain = "." + domain.lstrip(".") if dotted else domain
    at = int(expires)
    return Cookie(0, name, value, None, False, domain, dotted, dotted, cookie_path or "/", False,
                  secure.upper() == "TRUE", at if at > 0 else None, at <= 0, None, None, rest)


class RequestPlanner:
    """Builds the RequestPlan for each URL of a capture."""

    def __init__(self, options: CaptureOptions) -> None:
        self.options = options
        self.jar = load_cookies(options.cookies_file) if options.cookies_file else None
        base = [("User-Agent", options.user_agent), ("Accept", ACCEPT),
                ("Accept-Encoding", "gzip, deflate")]      # HTTP/1.1: the connection may be kept
        given = {name.lower() for name, _ in options.headers}
        self.base = [(n, v) for n, v in base if n.lower() not in given] + list(options.headers)
        # requisites and robots.txt ask for any type, as wget does and browsers do for scripts: a
        # server that negotiates then sends its default representation (JPEG rather than WebP)
        self.base_any = [(n, ACCEPT_ANY if n == "Accept" and "accept" not in given else v) for n, v in self.base]
        secrets = {n.lower() for n, _ in options.headers if _SECRET_NAME.search(n)}
        self.secrets = frozenset() if options.keep_secrets else frozenset(secrets | {"cookie"})

    def plan(self, url: str, page: bool = True, validators: tuple[tuple[str, str], ...] = ()) -> RequestPlan:
        """The request for ``url``; ``page`` for a seed or linked source, False for a requisite.
        ``validators``: If-None-Match / If-Modified-Since of a re-capture (none on a first capture),
        unless the user's --header gives that header already."""
        headers = list(self.base if page else self.base_any)
        given = {n.lower() for n, _ in headers}
        headers += [(n, v) for n, v in validators if n.lower() not in given]
        if self.jar is not None:
            req = urllib.request.Request(url)
            self.jar.add_cookie_header(req)
            cookie = req.get_header("Cookie")
            if cookie:
                headers.append(("Cookie", cookie))
        return RequestPlan(headers=tuple(headers), secret_names=self.secrets)
