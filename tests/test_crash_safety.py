"""Crash safety and concurrency: SIGKILL at any moment loses nothing sealed; parallel captures in one
workspace keep one linear chain."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time

import yaml

from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site

ARCHIVER = [sys.executable, "-m", "archiver"]
HTML = [("Content-Type", "text/html; charset=utf-8")]


def slow_site(serve) -> Site:
    """An article with 8 linked pages of 6 images each: about 60 exchanges at 20 ms each."""
    routes: dict[str, Response] = {}
    links = "".join(f'<a href="/p{n}">p{n}</a>' for n in range(8))
    routes["/"] = Response(200, HTML, f"<h1>article</h1>{links}".encode())
    for n in range(8):
        imgs = "".join(f'<img src="/p{n}/{i}.png">' for i in range(6))
        routes[f"/p{n}"] = Response(200, HTML, f"<p>page {n}</p>{imgs}".encode())
        for i in range(6):
            routes[f"/p{n}/{i}.png"] = Response(200, [("Content-Type", "image/png")], bytes([n, i]) * 3000)
    return serve([Host("h", "127.0.0.81", routes=routes)], latency=0.02)


def run_capture(ws: Workspace, url: str) -> subprocess.Popen:
    return subprocess.Popen([*ARCHIVER, "-w", str(ws.root), "capture", "--per-host", "2", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def chain_of(ws: Workspace) -> list[dict]:
    """Manifests in chain order, each with the sha256 of its file under '_file_sha256'."""
    manifests = [{**yaml.safe_load(p.read_bytes()), "_file_sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                 for p in ws.manifest_paths()]
    return sorted(manifests, key=lambda m: m["sequence"])


def verify(ws: Workspace) -> tuple[int, dict]:
    proc = subprocess.run([*ARCHIVER, "-w", str(ws.root), "verify", "--json"], capture_output=True, text=True)
    return proc.returncode, json.loads(proc.stdout)


def assert_linear(chain: list[dict]) -> None:
    assert [m["sequence"] for m in chain] == list(range(1, len(chain) + 1))
    assert chain[0]["previous"] is None
    for before, after in zip(chain, chain[1:]):
        assert after["previous"] == {"capture_id": before["capture_id"], "sha256": before["_file_sha256"]}


def test_sigkill_at_many_points_never_harms_sealed_captures(serve, workspace: Workspace) -> None:
    site = slow_site(serve)
    url = site.url("h", "/")
    assert run_capture(workspace, url).wait(60) == 0
    start = time.monotonic()
    assert run_capture(workspace, url).wait(60) == 0
    full = time.monotonic() - start
    killed_with_records = 0
    for fraction in (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 0.95):
        proc = run_capture(workspace, url)
        time.sleep(full * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        opened = list(workspace.archive_dir.glob("*.open"))
        killed_with_records += any(p.stat().st_size > 2000 for p in opened)
    assert killed_with_records >= 2, "the kills should land while records are being written"
    assert run_capture(workspace, url).wait(60) == 0
    code, report = verify(workspace)
    assert code == 0, [p["line"] for p in report["problems"]]
    chain = chain_of(workspace)
    assert len(chain) >= 3 and report["chain_head"]["capture_id"] == chain[-1]["capture_id"]
    assert_linear(chain)
    orphans = [p for p in report["problems"] if "orphan" in p["message"]]
    assert orphans and all(p["severity"] == "warning" for p in orphans)
    assert not any(p["severity"] == "error" for p in report["problems"])


def test_a_crash_inside_the_seal_leaves_debris_not_a_capture(serve, workspace: Workspace) -> None:
    """The seal writes <id>.sha256 (and .sig) before the manifest; a crash between them must leave
    files that verify calls orphans, and the next capture must chain to the last real manifest."""
    site = slow_site(serve)
    assert run_capture(workspace, site.url("h", "/p1")).wait(60) == 0
    sealed = chain_of(workspace)[-1]
    ghost = "20261129T235959Z-aaaaaa"
    (workspace.archive_dir / f"{ghost}-00000.warc.gz").write_bytes(b"\x1f\x8b not really")
    workspace.checksum_path(ghost).write_text(f"{'0' * 64}  archive/{ghost}-00000.warc.gz\n")
    assert run_capture(workspace, site.url("h", "/p2")).wait(60) == 0
    chain = chain_of(workspace)
    assert chain[-1]["previous"]["capture_id"] == sealed["capture_id"]
    code, report = verify(workspace)
    assert code == 0
    assert {p["path"] for p in report["problems"] if "orphan" in p["message"]} == {
        f"archive/{ghost}-00000.warc.gz", f"manifests/{ghost}.sha256"}


def test_four_captures_at_once_make_one_linear_chain(serve, workspace: Workspace) -> None:
    site = slow_site(serve)
    procs = [run_capture(workspace, site.url("h", f"/p{n}")) for n in range(4)]
    assert [p.wait(60) for p in procs] == [0, 0, 0, 0]
    chain = chain_of(workspace)
    assert len(chain) == 4
    assert_linear(chain)
    code, report = verify(workspace)
    assert code == 0 and report["problems"] == []


def test_a_lock_left_by_a_killed_process_is_recovered(serve, workspace: Workspace) -> None:
    """flock locks die with their process: a capture killed while holding the workspace lock does
    not block the next one."""
    workspace.ensure()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from archiver.core.workspace import Workspace\n"
        f"ws = Workspace(Path({str(workspace.root)!r}))\n"
        "with ws.lock():\n    print('locked', flush=True)\n    time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    site = slow_site(serve)
    blocked = run_capture(workspace, site.url("h", "/p3"))
    time.sleep(1.5)
    assert blocked.poll() is None                    # waiting for the lock to seal
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    assert blocked.wait(30) == 0
    assert verify(workspace)[0] == 0
