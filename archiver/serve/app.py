"""The server: two Starlette apps run by uvicorn in one process. The UI origin (``--port``, 8080)
serves the web UI, the JSON API, Memento and CDX; the replay origin (``--replay-port``, the next
port) serves replayed content only, so that nothing archived ever runs with the UI's origin.

Each part of the server is a module with ``routes(ctx)``: ``archive_routes`` (Memento, CDX, id_),
``api`` (JSON), ``pages`` (HTML) on the UI origin, ``replay`` on the replay origin."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import UsageError
from .context import ServeContext

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..core.settings import Settings
    from ..core.workspace import Workspace

DEFAULT_PORT = 8080


def create_app(ctx: ServeContext) -> Starlette:
    """The UI origin's app."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from . import api, archive_routes, pages
    from .jobs import Jobs
    from .security import Guard

    app = Starlette(routes=[*api.routes(ctx), *pages.routes(ctx), *archive_routes.routes(ctx)],
                    middleware=[Middleware(Guard, ctx=ctx)])
    app.state.ctx = ctx
    app.state.jobs = Jobs(ctx.workspace)
    return app


def create_replay_app(ctx: ServeContext) -> Starlette:
    """The replay origin's app."""
    from starlette.applications import Starlette

    from . import replay

    app = Starlette(routes=replay.routes(ctx))
    app.state.ctx = ctx
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_context(workspace: Workspace, settings: Settings, *, host: str, port: int, replay_port: int | None,
                 public_url: str | None, token: str | None) -> ServeContext:
    """The context of a server to be started; UsageError for a setting that cannot be served safely."""
    if not is_loopback(host) and not token:
        raise UsageError(f"--host {host} is reachable from other machines: start it with --token (or the "
                         "settings' serve_token) so that only holders of the token can change anything")
    shown = f"[{host}]" if ":" in host else host
    replay = replay_port if replay_port is not None else port + 1
    return ServeContext(workspace=workspace, settings=settings, ui_base=f"http://{shown}:{port}",
                        replay_base=f"http://{shown}:{replay}", public_url=public_url, token=token)


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port``; UsageError (one line) when it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets that say so (else a body waits ~40 ms
    # for the client's delayed ACK)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class Server:
    """Both origins' uvicorn servers on sockets bound here (so a busy port is a one-line UsageError,
    before anything starts): ``run()`` serves until Ctrl-C, SIGTERM or ``stop()``."""

    def __init__(self, ctx: ServeContext, *, host: str, port: int, replay_port: int) -> None:
        import uvicorn

        class _Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield                                  # run() handles signals, once for both servers

        self.ctx = ctx
        self.sockets = [_listen(host, port)]
        try:
            self.sockets.append(_listen(host, replay_port))
        except UsageError:
            self.sockets[0].close()
            raise
        self.servers = [_Quiet(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                              server_header=False))
                        for app in (create_app(ctx), create_replay_app(ctx))]

    @property
    def started(self) -> bool:
        return all(s.started for s in self.servers)

    def run(self, ready: Path | None = None) -> None:
        """Serve; ``ready``: a file written with both addresses once both listen."""
        async def main() -> None:
            if threading.current_thread() is threading.main_thread():
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(signum, self.stop)
            tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(self.servers, self.sockets)]
            while not self.started and not any(t.done() for t in tasks):
                await asyncio.sleep(0.02)
            if ready is not None and self.started:
                ready.write_text(f"{self.ctx.ui_base}\n{self.ctx.replay_base}\n")
            await asyncio.gather(*tasks)

        try:
            asyncio.run(main())
        finally:
            for sock in self.sockets:
                sock.close()

    def stop(self) -> None:
        for s in self.servers:
            s.should_exit = True


def start_in_thread(ctx: ServeContext, *, host: str, port: int, replay_port: int, timeout: float = 30.0) -> Server:
    """A server running in a background thread (for tests, benches and the demo); ``stop()`` ends it."""
    import time

    server = Server(ctx, host=host, port=port, replay_port=replay_port)
    thread = threading.Thread(target=server.run, name="archiver-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.stop()
            raise UsageError(f"the server did not start on {host} ports {port} and {replay_port} (in use?)")
        time.sleep(0.02)
    return server


def run_server(ctx: ServeContext, *, host: str, port: int, replay_port: int, ready: Path | None = None) -> None:
    """Serve both origins until interrupted (Ctrl-C or SIGTERM). ``ready``: a file written once both listen."""
    Server(ctx, host=host, port=port, replay_port=replay_port).run(ready)
