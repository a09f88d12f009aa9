"""A process that rendered a citation with citeproc-js (V8) exits when it is done: the V8 context is
closed at exit, not left to the garbage collector at finalization, where closing it could wait
forever (seen: ``archiver report`` hanging after it printed, one run in three)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from archiver import capture
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response

RENDER = """
import sys
from pathlib import Path
from archiver.citing.citations import cite
from archiver.citing.formats import FORMATS
from archiver.core.workspace import Workspace
print(FORMATS[sys.argv[2]](cite(Workspace(Path(sys.argv[1])), [sys.argv[3]])))
"""


def test_processes_that_rendered_with_citeproc_js_exit(serve, tmp_path: Path) -> None:
    page = Response(200, [("Content-Type", "text/html; charset=utf-8")],
                    b"<!doctype html><title>Harbour plan</title><meta name=author content='Ada Lovelace'><p>text</p>")
    site = serve([Host("h", "127.0.0.196", routes={"/": page})])
    url = site.url("h", "/")
    ws = Workspace(tmp_path / "ws")
    capture([url], ws, CaptureOptions(depth=0, timeout=10))
    for style in ("apa", "mla", "chicago", "apa", "mla", "chicago", "apa", "apa"):
        done = subprocess.run([sys.executable, "-c", RENDER, str(ws.root), style, url], capture_output=True,
                              text=True, timeout=120)     # a hang fails here, at the timeout
        assert done.returncode == 0 and "harbour plan" in done.stdout.lower(), done.stderr
