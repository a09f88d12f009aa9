"""What each request carries: standard headers, the user's extra headers and cookies, and which of
them are secrets to redact in the archived request records."""

from __future__ import annotations

import re
import time
import urllib.request
from http.cookiejar import LoadError, MozillaCookieJar

from .errors import UsageError
from .fetch import ACCEPT, ACCEPT_ANY, RequestPlan
from .settings import CaptureOptions

_SECRET_NAME = re.compile(r"auth|cookie|token|secret|key|session|passw|signature|csrf|bearer", re.IGNORECASE)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def parse_header(text: str) -> tuple[str, str]:
    """'Name: value' -> ('Name', 'value'); UsageError naming what is wrong."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not _TOKEN.match(name):
        raise UsageError(f"--header {text!r} is not of the form 'Name: value'")
    if "\r" in value or "\n" in value:
        raise UsageError(f"--header {name}: the value contains a line break")
    return name, value


def load_cookies(path: str) -> MozillaCookieJar:
    """Cookies from a Netscape cookies.txt; expiry 0 marks a session cookie (as browsers export
    them), which is kept; cookies past their expiry are dropped."""
    jar = MozillaCookieJar(path)
    try:
        jar.load(ignore_discard=True, ignore_expires=True)
    except FileNotFoundError:
        raise UsageError(f"--cookies {path}: no such file") from None
    except (LoadError, OSError, ValueError) as exc:
        raise UsageError(f"--cookies {path}: not a Netscape cookies.txt file ({exc})") from None
    now = time.time()
    for cookie in list(jar):
        if cookie.expires:
            if cookie.expires < now:
                jar.clear(cookie.domain, cookie.path, cookie.name)
        else:
            cookie.expires = None
            cookie.discard = True
    return jar


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

    def plan(self, url: str, page: bool = True) -> RequestPlan:
        """The request for ``url``; ``page`` for a seed or linked source, False for a requisite."""
        headers = list(self.base if page else self.base_any)
        if self.jar is not None:
            req = urllib.request.Request(url)
            self.jar.add_cookie_header(req)
            cookie = req.get_header("Cookie")
            if cookie:
                headers.append(("Cookie", cookie))
        return RequestPlan(headers=tuple(headers), secret_names=self.secrets)
