"""Test helper: a real pywb (wb-manager + wayback) on a loopback port, always stopped afterwards."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
WAYBACK, WB_MANAGER = BIN / "wayback", BIN / "wb-manager"
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # loopback only, no proxies


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[bytes, dict[str, str]]:
    with OPENER.open(urllib.request.Request(url, headers=headers or {}), timeout=15) as reply:
        assert reply.status == 200, url
        return reply.read(), dict(reply.headers)


@contextmanager
def wayback(files: list[Path], cwd: Path, collection: str = "coll", deadline: float = 30.0,
            record: bool = False) -> Iterator[str]:
    """Load WARC or WACZ files into a new collection and serve it; yields the base URL. With
    ``record``, pywb's recorder is on: ``<base>/<collection>/record/mp_/<url>`` fetches the live URL
    into a WARC of the collection's archive/, closed when this ends."""
    if not WAYBACK.exists():
        pytest.skip(f"pywb's wayback is not installed at {WAYBACK}")
    cwd.mkdir(parents=True, exist_ok=True)
    unpack = ["--unpack-wacz"] if any(f.suffix == ".wacz" for f in files) else []
    for args in (["init", collection], *([["add", *unpack, collection, *map(str, files)]] if files else [])):
        done = subprocess.run([str(WB_MANAGER), *args], cwd=cwd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    port = free_port()
    log = cwd / "wayback.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(WAYBACK), "-p", str(port), "-b", "127.0.0.1", *(["--record", "--live"] if record else [])], cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        until = time.monotonic() + deadline
        while True:
            if proc.poll() is not None:
                pytest.fail(f"wayback exited early:\n{log.read_text()}")
            try:
                with OPENER.open(base + "/", timeout=2):
                    break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > until:
                    pytest.fail(f"wayback did not answer within {deadline:.0f} s:\n{log.read_text()}")
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
