"""The commands that open what was archived: list, show, extract and serve. Each imports only what
it needs; ``serve`` imports the web stack (Starlette, uvicorn) only when it runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ..core.errors import ArchiverError, UsageError
from ..core.humane import moment
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
    capture_id = args.capture_id
    if capture_id is None:
        from ..fixity.seal import find_head

        head = find_head(ws)
        if head is None:
            raise ArchiverError("no capture has been sealed in this workspace yet (archiver capture URL)")
        capture_id = head.capture_id
    detail = show_capture(ws, capture_id)
    print(json.dumps(detail.public(), indent=2) if args.json else show_text(detail))
    return 0


# -- extract ---------------------------------------------------------------------------------------

def cmd_extract(args: argparse.Namespace) -> int:
    from ..core.urls import canonical
    from ..index.store import Index
    from .commands import moment_of, output_path

    ws = existing_workspace(args)
    url = canonical(args.url)
    at = moment_of("--at", args.at)
    target = output_path(args.output)
    _check_target(target, args.force)
    with Index.open(ws) as index:
        if at is None:
            timemap = index.timemap(url)
            found = timemap[-1] if timemap else None
        else:
            nearest = index.nearest(url, at)
            found = nearest[0] if nearest else None
        if found is None:
            from ..core.errors import NotArchivedError

            raise NotArchivedError(f"{url} has not been captured in this workspace", target=url)
        size, coding = _write_payload(ws, index, found, target, args.force)
    from .output import printable

    print(f"{printable(target)}: {size} bytes, sha256 {found.payload_sha256} (the manifest's payload_sha256)")
    print(f"  {printable(found.url)} as archived {moment(found.datetime)} in capture {found.capture_id}, HTTP {found.status}"
          + (f", {printable(found.mime)}" if found.mime else ""))
    if coding:
        print(f"  the bytes are as sent, Content-Encoding {printable(coding)} kept: decode them to read them")
    if 300 <= found.status < 400 and found.location:
        print(f"  a redirect to {printable(found.location)}: extract that URL for what it pointed to")
    return 0


def _check_target(target: Any, force: bool) -> None:
    """UsageError unless ``target`` can be written: its folder exists, and it does not, unless ``force``."""
    if target.is_dir():
        raise UsageError(f"--output {target} is a folder; name a file")
    if (target.exists() or target.is_symlink()) and not force:
        raise UsageError(f"--output {target} exists; add --force to replace it")
    if not target.parent.is_dir():
        raise UsageError(f"--output {target}: the folder {target.parent} does not exist")


def _write_payload(ws: Any, index: Any, found: Any, target: Any, force: bool) -> tuple[int, str | None]:
    """Write ``found``'s payload to a temporary name beside ``target``, check its sha256, rename it.
    Returns (bytes, the Content-Encoding kept or None)."""
    import hashlib

    from ..core.errors import ArchiverError
    from ..core.interrupts import temporary_name
    from ..index.catalog import open_memento
    from ..warc.payload import PayloadError

    tmp = temporary_name(target)
    digest, size = hashlib.sha256(), 0
    try:
        try:
            with open_memento(ws, index, found) as archived, open(tmp, "xb") as out:
                coding = archived.http.get("Content-Encoding")
                for block in archived.blocks:
                    digest.update(block)
                    out.write(block)
                    size += len(block)
                out.flush()
                os.fsync(out.fileno())
        except (PayloadError, ValueError) as exc:
            raise ArchiverError(f"cannot read the archived record of {found.url}: {exc}") from None
        if digest.hexdigest() != found.payload_sha256:
            raise ArchiverError(f"the archived payload of {found.url} has sha256 {digest.hexdigest()}, not the "
                                f"manifest's {found.payload_sha256}: run archiver verify")
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)        # never replaces a file that appeared meanwhile
            except FileExistsError:
                raise UsageError(f"--output {target} exists; add --force to replace it") from None
            except OSError:                 # a file system without hard links
                if target.exists():
                    raise UsageError(f"--output {target} exists; add --force to replace it") from None
                os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return size, coding


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
    """How citations name archived copies, e.g. ``http://localhost:8080/archive/<timestamp>/<url>``."""
    from ..citing.citations import copies_are_local

    shown = settings.archived_url_template.format(collection=settings.collection, timestamp="<timestamp>",
                                                  url="<url>", capture_id="<capture_id>")
    if copies_are_local(settings):
        return f"{shown} (this machine only: set public_url to cite a published server)"
    return shown
