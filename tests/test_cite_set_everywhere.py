"""Fields set by hand with ``archiver cite --set`` are used wherever a citation is shown: ``cite``, the
report's last good capture, and the server's URL history (issue #16)."""

from __future__ import annotations

import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from archiver.core.settings import Settings
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site
from archiver.serve.app import make_context, start_in_thread

ARCHIVER = [sys.executable, "-m", "archiver"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHIVER, "-w", str(root), *args], capture_output=True, text=True, timeout=120)


def test_set_fields_reach_the_report_and_the_servers_history(serve, tmp_path: Path) -> None:
    versions = [b"<p>The council voted eleven to four for the harbour plan.</p>",
                b"<p>The council postponed the harbour plan until spring.</p>"]
    shown = {"n": 0}

    def page(_site: Site, _path: str) -> Response:
        body = b"<!doctype html><html><head><title>Untitled</title></head><body>" + versions[shown["n"]] + \
            b"</body></html>"
        return Response(200, [("Content-Type", "text/html; charset=utf-8")], body)

    site = serve([Host("h", "127.0.0.194", routes={"/plan.html": page})])
    url = site.url("h", "/plan.html")
    root = tmp_path / "ws"
    assert cli(root, "capture", "--depth", "0", url).returncode == 0
    shown["n"] = 1
    assert cli(root, "capture", "--depth", "0", url).returncode == 0
    done = cli(root, "cite", url, "--set", "author=Ada Lovelace", "--set", "title=Harbour plan vote")
    assert done.returncode == 0, done.stderr
    assert "Lovelace" in done.stdout and "Harbour plan vote" in done.stdout

    report = cli(root, "report")
    assert report.returncode == 0, report.stderr
    assert "CHANGED" in report.stdout and "last good capture: Lovelace, A." in report.stdout, report.stdout
    assert "Harbour plan vote" in report.stdout
    mla = cli(root, "report", "--style", "MLA")           # any style cite takes, any case
    assert mla.returncode == 0 and "last good capture: Lovelace, Ada." in mla.stdout, mla.stdout + mla.stderr
    bad = cli(root, "report", "--style", "no-such-style")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no-such-style" in bad.stderr

    port, replay = free_port(), free_port()
    ctx = make_context(Workspace(root), Settings(), host="127.0.0.1", port=port, replay_port=replay,
                       public_url=None, token=None)
    server = start_in_thread(ctx, host="127.0.0.1", port=port, replay_port=replay)
    try:
        with urllib.request.urlopen(f"{ctx.ui_base}/url?u={urllib.parse.quote(url, safe='')}", timeout=30) as r:
            html = r.read().decode()
    finally:
        server.stop()
    assert "Lovelace" in html and "Harbour plan vote" in html
