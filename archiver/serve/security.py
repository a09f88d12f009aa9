"""Who may change what, and the headers that keep archived content and the UI apart.

The server is read-only unless started with a token. A writing request carries the token as
``Authorization: Bearer <token>``, or as the ``archiver_token`` cookie (HttpOnly, SameSite=Strict)
that ``POST /api/session`` sets; a request that relies on the cookie must also come from the UI's
own origin (its ``Origin`` header, when sent, names it), so that no other page can write by
borrowing the cookie. Requests whose ``Host`` is not one of the server's own names are refused,
so a DNS name rebound to 127.0.0.1 cannot reach the API."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..core.settings import MAX_TOKEN
from .context import ServeContext

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "archiver_token"


def may_write(request: Request, ctx: ServeContext) -> bool:
    """Whether ``request`` carries the server's token (and, by cookie, comes from the UI origin)."""
    if ctx.token is None:
        return False
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return _same(auth[7:].strip(), ctx.token)
    cookie = request.cookies.get(COOKIE)
    if cookie is None or not _same(cookie, ctx.token):
        return False
    origin = request.headers.get("origin")
    return origin is None or origin == ctx.ui_base


def _same(given: str, token: str) -> bool:
    return len(given) <= MAX_TOKEN and secrets.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def allowed_hosts(ctx: ServeContext) -> set[str] | None:
    """The Host header values the UI origin answers to: its own address, localhost, the public URL's.
    None (any) when it listens on every address (0.0.0.0, ::): the token guards writing there, and the
    names it is reached by are not known."""
    if urlsplit(ctx.ui_base).hostname in ("0.0.0.0", "::"):
        return None
    hosts = set()
    for base in (ctx.ui_base, ctx.replay_base, ctx.public_url):
        if base:
            parts = urlsplit(base)
            if parts.hostname:
                hosts.add(parts.netloc.lower())
                hosts.add(parts.hostname.lower())
                if parts.port:
                    hosts.add(f"localhost:{parts.port}")
    hosts.add("localhost")
    return hosts


def ui_policy(ctx: ServeContext, host_header: str | None = None) -> str:
    """The Content-Security-Policy of the UI's pages: its own scripts only, replay only in a frame
    (from the replay origin under the host name the page was reached by)."""
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"frame-src {ctx.replay_origin(host_header)}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'self'")


class Guard:
    """ASGI middleware of the UI origin: refuses unknown Host headers (421), and gives every response
    the safety headers it lacks (CSP, nosniff, referrer kept to this origin, no framing by others)."""

    def __init__(self, app: ASGIApp, ctx: ServeContext) -> None:
        self.app = app
        self.ctx = ctx
        self.hosts = allowed_hosts(ctx)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1").lower() for k, v in scope["headers"] if k == b"host"), "")
        if self.hosts is not None and host not in self.hosts:
            body = b"this server answers to its own address only (Host not recognised)\n"
            await send({"type": "http.response.start", "status": 421,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return

        policy = ui_policy(self.ctx, host).encode("latin-1")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for name, value in ((b"content-security-policy", policy),
                                    (b"x-content-type-options", b"nosniff"),
                                    (b"referrer-policy", b"same-origin"),   # no-referrer makes a form's Origin null
                                    (b"cross-origin-resource-policy", b"same-origin")):
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
