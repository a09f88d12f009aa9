"""The commands that open what was archived: list, show, extract and serve. Each imports only what
it needs; ``serve`` imports the web stack (Starlette, uvicorn) only when it runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ..core.errors import UsageError
from .commands import checked_text, existing_workspace, workspace_root

TOKEN_ENV = "ARCHIVER_SERVE_TOKEN"


def cmd_list(args: argparse.Namespace) -> int:
    from ..index.catalog import list_captures
    from .output import list_text

    found = list_captures(existing_workspace(args))
    if args.json:
        print(json.dumps({"total": len(found), "captures": [c.public() for c in found]}, indent=2))
    else:
        print(list_text(found))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from ..index.catalog import show_capture
    from .output import show_text

    ws = existing_workspace(args)
    detail = show_capture(ws, args.capture_id)
    print(json.dumps(detail.public(), indent=2) if args.json else show_text(detail))
    return 0


# -- serve -----------------------------------------------------------------------------------------

def cmd_serve(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ..core.settings import check_public_url, load_settings

    ws = _served_workspace(args)
    settings = load_settings(ws.root)
    host = checked_text("--host", args.host, 255).strip()
    if not host:
        raise UsageError("--host names no address")
    port = _port("--port", args.port)
    replay_port = _port("--replay-port", args.replay_port if args.replay_port is not None else port + 1)
    if replay_port == port:
        raise UsageError(f"--replay-port must differ from --port ({port}): the replay origin is another port")
    public_url = settings.public_url
    if args.public_url is not None:
        public_url = _checked("--public-url", check_public_url, args.public_url)
        settings = replace(settings, public_url=public_url)
    token = serve_token(args, settings.serve_token)

    from ..serve.app import make_context, run_server

    ctx = make_context(ws, settings, host=host, port=port, replay_port=replay_port, public_url=public_url,
                       token=token)
    for flag, number in (("--port", port), ("--replay-port", replay_port)):
        _check_free(host, number, flag)
    print(f"archiver serve: {ws.root}")
    print(f"  UI      {ctx.ui_base}/")
    print(f"  replay  {ctx.replay_base}/")
    print(f"  cited   {_cited(settings)}")
    print("  writable: requests with the token may capture and verify" if token else
          "  read-only: start it with --token (or serve_token, or $" + TOKEN_ENV + ") to capture and verify")
    print("Ctrl-C or SIGTERM stops it.", flush=True)
    try:
        run_server(ctx, host=host, port=port, replay_port=replay_port)
    except KeyboardInterrupt:       # Ctrl-C, SIGTERM (core.interrupts): the servers have closed
        pass
    print("archiver: server stopped", file=sys.stderr)
    return 0


def _served_workspace(args: argparse.Namespace) -> Any:
    """The workspace to serve: an existing one, or, for a writable server, a folder to make one in."""
    from ..core.workspace import Workspace

    root, _ = workspace_root(args)
    if (root / "manifests").is_dir() or not (args.token or os.environ.get(TOKEN_ENV)):
        return existing_workspace(args)
    if root.exists() and not root.is_dir():
        raise UsageError(f"workspace {root} is not a folder")
    return Workspace(root).ensure()


def serve_token(args: argparse.Namespace, from_settings: str | None) -> str | None:
    """The server's token: --token, else $ARCHIVER_SERVE_TOKEN, else archiver.yaml's serve_token
    (already checked). Messages never show it."""
    from ..core.settings import check_token

    if args.token is not None:
        return _checked("--token", check_token, args.token)
    env = os.environ.get(TOKEN_ENV)
    if env:
        return _checked(TOKEN_ENV, check_token, env)
    return from_settings


def _checked(what: str, check: Any, value: str) -> Any:
    try:
        return check(value)
    except UsageError as exc:
        raise UsageError(f"{what}: {exc}") from None


def _port(flag: str, value: int) -> int:
    if not 1 <= value <= 65535:
        raise UsageError(f"{flag} must be from 1 to 65535, not {value}")
    return value


def _check_free(host: str, port: int, flag: str) -> None:
    """UsageError, one line, when ``port`` cannot be listened on (uvicorn would exit with a traceback)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise UsageError(f"--host {host}: cannot be resolved ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise UsageError(f"{flag} {port}: cannot listen on {host} port {port}: {exc.strerror or exc}") from None


def _cited(settings: Any) -> str:
    from ..citing.citations import copies_are_local

    template = settings.archived_url_template
    if copies_are_local(settings):
        return f"{template} (this machine only: set public_url to cite a published server)"
    return template
