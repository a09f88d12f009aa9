"""The server: two Starlette apps run by uvicorn in one process. The UI origin (``--port``, 8080)
serves the web UI, the JSON API, Memento and CDX; the replay origin (``--replay-port``, the next
port) serves replayed content only, so that nothing archived ever runs with the UI's origin.

Each part of the server is a module with ``routes(ctx)``: ``archive_routes`` (Memento, CDX, id_),
``api`` (JSON), ``pages`` (HTML) on the UI origin, ``replay`` on the replay origin."""

from __future__ import annotations

import asyncio
import ipaddress
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


class Server:
    """Both origins' uvicorn servers: ``run()`` serves until interrupted (Ctrl-C, SIGTERM) or ``stop()``."""

    def __init__(self, ctx: ServeContext, *, host: str, port: int, replay_port: int) -> None:
        import uvicorn

        self.ctx = ctx
        self.servers = [uvicorn.Server(uvicorn.Config(app, host=host, port=p, log_level="warning", access_log=False,
                                                      lifespan="off", server_header=False))
                        for app, p in ((create_app(ctx), port), (create_replay_app(ctx), replay_port))]

    @property
    def started(self) -> bool:
        return all(s.started for s in self.servers)

    def run(self, ready: Path | None = None) -> None:
        """Serve; ``ready``: a file written with both addresses once both listen."""
        async def main() -> None:
            tasks = [asyncio.create_task(s.serve()) for s in self.servers]
            while not self.started and not any(t.done() for t in tasks):
                await asyncio.sleep(0.02)
            if ready is not None and self.started:
                ready.write_text(f"{self.ctx.ui_base}\n{self.ctx.replay_base}\n")
            await asyncio.gather(*tasks)

        asyncio.run(main())

    def stop(self) -> None:
        for s in self.servers:
            s.should_exit = True


def start_in_thread(ctx: ServeContext, *, host: str, port: int, replay_port: int, timeout: float = 30.0) -> Server:
    """A server running in a background thread (for tests, benches and the demo); ``stop()`` ends it."""
    import threading
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
