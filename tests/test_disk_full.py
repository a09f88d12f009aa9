"""A capture into a workspace whose filesystem fills up.

The workspace sits on a small tmpfs (3 MiB) mounted for the test, holding one earlier sealed
capture. A second capture then fetches bodies of random bytes (they do not compress) that together
exceed the free space. What must hold:

- the capture fails with a clear error: through the library an ArchiverError (never a bare OSError;
  archiver/errors.py: "Every error archiver raises, in one tree") and through the CLI a non-zero
  exit with ONE line on stderr naming the problem ("No space left on device"), no traceback;
- nothing of the failed capture looks sealed: no manifest, checksum list or final-named WARC file
  for it; its partial WARC stays as ``archive/<id>-00000.warc.gz.open``, which ``verify`` reports
  as an orphan (a warning), and its scratch folder (``.archiver/tmp/<id>``) is removed;
- every earlier sealed capture still verifies (``verify`` exits 0 with only orphan warnings), and
  once the debris is removed the next capture seals and chains onto the earlier one.

Mounting needs root (CAP_SYS_ADMIN); without it the tests are skipped and say why.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archiver import capture
from archiver.core.errors import ArchiverError
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site

FS_SIZE = "3m"
HTML = [("Content-Type", "text/html; charset=utf-8")]
BINARY = [("Content-Type", "application/octet-stream")]
NO_SPACE = "no space left on device"
MEDIUM = {"size": 600_000}   # /medium.bin: under 1 MiB, so archiver keeps it in memory, not on disk


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archiver", *args], check=False, capture_output=True,
                          text=True, timeout=120)


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs mounted at tmp_path/small-fs, unmounted afterwards."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN); this test runs as a normal user")
    if shutil.which("mount") is None or shutil.which("umount") is None:
        pytest.skip("mount/umount not found on PATH")
    point = tmp_path / "small-fs"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FS_SIZE},mode=0755", "tmpfs", str(point)],
                          check=False, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here (no CAP_SYS_ADMIN?): {done.stderr.strip()}")
    try:
        yield point
    finally:
        if subprocess.run(["umount", str(point)], check=False, capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def small_host() -> Host:
    return Host("small", "127.0.0.81", routes={
        "/robots.txt": Response(200, [("Content-Type", "text/plain")], b"User-agent: *\nAllow: /\n"),
        "/article.html": Response(200, HTML, b"<!doctype html><title>Small</title><h1>Small article</h1>"
                                             b"<p>A short text.</p><img src=/logo.png>"),
        "/logo.png": Response(200, [("Content-Type", "image/png")], random_bytes(4000, 1)),
    })


def big_host() -> Host:
    """One seed larger than the whole filesystem, and a page linking five 900 KB bodies."""
    links = "".join(f'<img src="/part-{i}.bin">' for i in range(5))
    routes: dict[str, object] = {
        "/robots.txt": Response(200, [("Content-Type", "text/plain")], b"User-agent: *\nAllow: /\n"),
        "/huge.bin": Response(200, BINARY, random_bytes(5 * 2**20, 2)),
        "/gallery.html": Response(200, HTML, f"<!doctype html><title>Gallery</title>{links}".encode()),
    }
    routes["/medium.bin"] = lambda site, path: Response(200, BINARY, random_bytes(MEDIUM["size"], 3))
    for i in range(5):
        routes[f"/part-{i}.bin"] = Response(200, BINARY, random_bytes(900_000, 10 + i))
    return Host("big", "127.0.0.82", routes=routes)


@pytest.fixture
def site(serve: Callable[..., Site]) -> Site:
    return serve([small_host(), big_host()])


@pytest.fixture
def full_ws(small_fs: Path, site: Site) -> Workspace:
    """A workspace on the small filesystem holding one sealed capture of the small site."""
    ws = Workspace(small_fs / "ws")
    result = capture([site.url("small", "/article.html")], ws, CaptureOptions(timeout=10))
    assert result.ok, result.seed_problems
    assert run_cli("-w", str(ws.root), "verify").returncode == 0
    return ws


def sealed_ids(ws: Workspace) -> list[str]:
    return [p.stem for p in ws.manifest_paths()]


def verify_json(ws: Workspace) -> tuple[int, dict]:
    done = run_cli("-w", str(ws.root), "verify", "--json")
    return done.returncode, json.loads(done.stdout)


def assert_left_as_debris(ws: Workspace, earlier: list[str], *, warc_finished: bool = False) -> list[Path]:
    """Nothing of the failed capture looks sealed; its WARC is an orphan; earlier captures verify.

    ``warc_finished``: the disk filled while sealing, after the WARC file was complete and renamed
    to its final name (by design: the manifest, written last, is the seal)."""
    assert sealed_ids(ws) == earlier, "the failed capture left a manifest: it looks sealed"
    manifests_extra = sorted(p.name for p in ws.manifests_dir.iterdir()
                             if p.name.split(".", 1)[0] not in earlier and p.name != "README.md")
    assert manifests_extra == [], f"the failed capture left files in manifests/: {manifests_extra}"
    warcs = sorted(p for p in ws.archive_dir.iterdir() if p.name != "README.md")
    others = [p for p in warcs if not any(p.name.startswith(cid) for cid in earlier)]
    suffix = ".warc.gz" if warc_finished else ".warc.gz.open"
    assert [p.name[-len(suffix):] for p in others] == [suffix], \
        f"expected one {suffix} file of the failed capture, found {[p.name for p in others]}"
    scratch = ws.state_dir / "tmp"
    left = sorted(str(p.relative_to(ws.root)) for p in scratch.rglob("*")) if scratch.is_dir() else []
    assert left == [], f"the failed capture's scratch files were not removed: {left}"

    code, report = verify_json(ws)
    errors = [p["line"] for p in report["problems"] if p["severity"] == "error"]
    assert code == 0 and report["ok"], f"earlier sealed captures no longer verify: {errors}"
    assert report["captures"] == earlier
    warnings = [p for p in report["problems"] if p["severity"] == "warning"]
    assert all(w["message"].startswith("orphan") for w in warnings), [w["line"] for w in warnings]
    orphan_paths = {w["path"] for w in warnings}
    assert ws.relative(others[0]) in orphan_paths, f"verify does not report {others[0].name}: {orphan_paths}"
    return others


def assert_recovers(ws: Workspace, site: Site, debris: list[Path], earlier: list[str]) -> None:
    """After removing the debris, a small capture seals and chains onto the earlier one."""
    for path in debris:
        path.unlink()
    done = run_cli("-w", str(ws.root), "capture", "--depth", "0", site.url("small", "/article.html"))
    assert done.returncode == 0, done.stderr
    code, report = verify_json(ws)
    assert code == 0 and report["problems"] == [], [p["line"] for p in report["problems"]]
    # ids of captures sealed in one second sort by their random part, not by time
    assert len(report["captures"]) == len(earlier) + 1 and set(earlier) < set(report["captures"])
    assert report["chain_head"]["sequence"] == len(earlier) + 1


FILLS = pytest.mark.parametrize("path", ["/huge.bin", "/gallery.html"],
                                ids=["one-body-larger-than-the-disk", "bodies-together-larger"])
def cli_capture(ws: Workspace, url: str) -> subprocess.CompletedProcess:
    return run_cli("-w", str(ws.root), "capture", "--depth", "0", "--timeout", "20", url)


@FILLS
def test_cli_capture_on_a_full_disk_fails_with_one_line(full_ws: Workspace, site: Site, path: str) -> None:
    done = cli_capture(full_ws, site.url("big", path))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, f"exit {done.returncode}:\n{done.stdout}"
    assert "Traceback" not in done.stderr, f"archiver crashed with a traceback:\n{done.stderr}"
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{done.stderr}"
    assert lines[0].startswith("archiver: ") and NO_SPACE in lines[0].lower(), lines[0]


@FILLS
def test_cli_capture_on_a_full_disk_leaves_debris_and_earlier_captures_intact(full_ws: Workspace, site: Site,
                                                                              path: str) -> None:
    earlier = sealed_ids(full_ws)
    done = cli_capture(full_ws, site.url("big", path))
    assert done.returncode != 0, f"the capture did not fail:\n{done.stdout}"
    assert NO_SPACE in done.stderr.lower(), done.stderr
    debris = assert_left_as_debris(full_ws, earlier)
    assert_recovers(full_ws, site, debris, earlier)


@FILLS
def test_library_capture_on_a_full_disk_raises_an_archiver_error(full_ws: Workspace, site: Site,
                                                                  path: str) -> None:
    earlier = sealed_ids(full_ws)
    with pytest.raises(Exception) as raised:
        capture([site.url("big", path)], full_ws, CaptureOptions(timeout=20, depth=0))
    assert isinstance(raised.value, ArchiverError), (
        f"a full disk escapes as {type(raised.value).__name__}, not an ArchiverError: {raised.value}")
    assert NO_SPACE in str(raised.value).lower() and len(str(raised.value).splitlines()) == 1, str(raised.value)
    assert_left_as_debris(full_ws, earlier)


def test_disk_fills_while_sealing(full_ws: Workspace, site: Site, tmp_path: Path) -> None:
    """The WARC file fits, the checksum list and manifest do not: the capture is not sealed, its
    complete WARC (already under its final name) is an orphan, earlier captures verify."""
    url = site.url("big", "/medium.bin")
    # find a body size that puts the WARC file in the middle of a 4 KiB page, so the WARC fits in
    # the pages left free and sealing needs one page more, whatever the random record ids compress to
    probe = Workspace(tmp_path / "probe")
    for _ in range(3):
        warc_bytes = capture([url], probe, CaptureOptions(depth=0)).warc_files[0].bytes
        if 1024 <= warc_bytes % 4096 <= 3072:
            break
        MEDIUM["size"] += (2048 - warc_bytes % 4096) % 4096
    else:
        pytest.fail(f"could not place the WARC mid-page ({warc_bytes} bytes)")
    pages = -(-warc_bytes // 4096)
    st = os.statvfs(full_ws.root)
    filler = st.f_bavail * st.f_frsize - pages * 4096
    assert filler > 0, "the filesystem is too small for this test"
    with open(full_ws.root.parent / "filler", "wb") as fh:
        os.posix_fallocate(fh.fileno(), 0, filler)

    earlier = sealed_ids(full_ws)
    done = cli_capture(full_ws, url)
    assert done.returncode != 0, f"the capture did not fail:\n{done.stdout}"
    assert NO_SPACE in done.stderr.lower(), done.stderr
    (full_ws.root.parent / "filler").unlink()
    debris = assert_left_as_debris(full_ws, earlier, warc_finished=True)
    assert_recovers(full_ws, site, debris, earlier)
