"""A multi-host web site on loopback addresses: one HTTP server per 127.0.0.x address.

Each host serves a folder (text files with ``{{host}}`` placeholders replaced by the origins of the
other hosts) and programmatic routes (redirects, errors, chunked bodies, latency). Every response
body it sends is logged, so tests can compare what was served with what was archived.
"""

from __future__ import annotations

import hashlib
import mimetypes
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast

TEXT_SUFFIXES = {".html", ".css", ".js", ".txt", ".xml", ".csv", ".json"}


@dataclass(slots=True)
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False


Route = Response | Callable[["Site", str], Response]


@dataclass(slots=True)
class Host:
    """One virtual host: a name (used as ``{{name}}`` in text files), an address, its content."""

    name: str
    address: str
    folder: Path | None = None
    routes: dict[str, Route] = field(default_factory=dict)
    charset: str = "utf-8"
    listening: bool = True


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    status: int
    sha256: str
    body: bytes


class Site:
    """Start with ``Site(hosts).start()``; ``origin(name)`` gives ``http://127.0.0.x:port``."""

    def __init__(self, hosts: list[Host], latency: float = 0.0, keep_alive: bool = False, port: int = 0,
                 validators: bool = False) -> None:
        self.hosts = {h.name: h for h in hosts}
        # validators: 200 responses carry an ETag (of the body) and a Last-Modified unless they set
        # their own, and a conditional request that matches them is answered 304 without a body.
        # A response that sets its own ETag is always sent whole (a server that ignores them).
        self.validators = validators
        self.requests: list[tuple[str, tuple[tuple[str, str], ...]]] = []   # (url, headers) as received
        self.port = port                  # the same port on every host's address; 0: any free port each
        self.latency = latency
        self.keep_alive = keep_alive      # HTTP/1.1 persistent connections; else each response closes
        self.connections: dict[str, int] = {h.name: 0 for h in hosts}   # accepted, per host
        self.served: list[Served] = []
        self._lock = threading.Lock()
        self._servers: list[ThreadingHTTPServer] = []
        self._closed_sockets: list[socket.socket] = []
        self._origins: dict[str, str] = {}

    def origin(self, name: str) -> str:
        return self._origins[name]

    def url(self, name: str, path: str) -> str:
        return self._origins[name] + path

    def start(self) -> Site:
        """Bind and serve every host; an OSError (the port is in use) stops what was started first."""
        try:
            self._start()
        except OSError:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        for host in self.hosts.values():
            if not host.listening:
                # bound but not listening: connections are refused, and the port stays ours
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind((host.address, self.port))
                self._closed_sockets.append(sock)
                self._origins[host.name] = f"http://{host.address}:{sock.getsockname()[1]}"
                continue
            server = _SiteServer((host.address, self.port), _Handler)
            server.daemon_threads = True
            server.site = self
            server.host = host
            port = server.server_address[1]
            self._origins[host.name] = f"http://{host.address}:{port}"
            self._servers.append(server)
            threading.Thread(target=server.serve_forever, daemon=True, name=f"site-{host.name}").start()

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for sock in self._closed_sockets:
            sock.close()

    def __enter__(self) -> Site:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fill(self, text: str) -> str:
        for name, origin in self._origins.items():
            text = text.replace("{{" + name + "}}", origin)
        return text

    def respond(self, host: Host, path: str) -> Response:
        route = host.routes.get(path)
        if route is None:
            route = host.routes.get(path.split("?", 1)[0])
        if route is not None:
            return route(self, path) if callable(route) else route
        return self._file(host, path.split("?", 1)[0])

    def _file(self, host: Host, path: str) -> Response:
        if host.folder is None:
            return Response(404, [("Content-Type", "text/html")], b"<h1>Not found</h1>")
        target = (host.folder / path.lstrip("/")).resolve()
        if target.is_dir():
            target = target / "index.html"
        if host.folder.resolve() not in target.parents or not target.is_file():
            return Response(404, [("Content-Type", "text/html; charset=utf-8")],
                            b"<!doctype html><title>Not found</title><h1>404 Not found</h1>")
        body = target.read_bytes()
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix in TEXT_SUFFIXES:
            body = self.fill(body.decode(host.charset)).encode(host.charset)
            ctype += f"; charset={host.charset}"
        return Response(200, [("Content-Type", ctype)], body)

    def log(self, url: str, status: int, body: bytes) -> None:
        with self._lock:
            self.served.append(Served(url, status, hashlib.sha256(body).hexdigest(), body))

    def served_for(self, url: str) -> Served:
        matches = [s for s in self.served if s.url == url]
        if not matches:
            raise KeyError(url)
        return matches[-1]


class _SiteServer(ThreadingHTTPServer):
    """One host's server; its handlers find the site and the host here."""

    site: Site
    host: Host


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "archiver-demo-site"
    timeout = 10            # an idle kept-alive connection is closed after this
    disable_nagle_algorithm = True   # head and body are separate writes: no delayed-ACK stall between

    def setup(self) -> None:
        super().setup()
        server = cast(_SiteServer, self.server)
        site = server.site
        with site._lock:
            site.connections[server.host.name] += 1

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        server = cast(_SiteServer, self.server)
        site, host = server.site, server.host
        if site.latency:
            time.sleep(site.latency)
        url = site.origin(host.name) + self.path
        with site._lock:
            site.requests.append((url, tuple(self.headers.items())))
        response = site.respond(host, self.path)
        if site.validators:
            response = _validated(response, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since"))
        self.send_response(response.status)
        names = {n.lower() for n, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if response.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in names and response.status != 304:
            self.send_header("Content-Length", str(len(response.body)))
        if not site.keep_alive:
            self.send_header("Connection", "close")
        self.end_headers()
        if response.chunked:
            body = response.body
            for i in range(0, len(body), 1000):
                part = body[i:i + 1000]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(response.body)
        site.log(site.origin(host.name) + self.path, response.status, response.body)
        self.close_connection = not site.keep_alive


LAST_MODIFIED = "Mon, 02 Mar 2026 10:00:00 GMT"


def _validated(response: Response, if_none_match: str | None, if_modified_since: str | None) -> Response:
    """``response`` with an ETag and a Last-Modified, or a 304 when the request's validators match."""
    if response.status != 200 or any(n.lower() == "etag" for n, _ in response.headers):
        return response
    etag = '"' + hashlib.sha256(response.body).hexdigest()[:16] + '"'
    headers = [*response.headers, ("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
    matches = if_none_match == etag if if_none_match is not None else if_modified_since == LAST_MODIFIED
    if matches:
        return Response(304, [("ETag", etag), ("Last-Modified", LAST_MODIFIED)], b"")
    return Response(200, headers, response.body, response.chunked)
