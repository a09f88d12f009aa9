"""``archiver clean`` removes the debris of killed captures, says what it removed, and never touches
a sealed file or a capture that is running (issue #14)."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from test_interrupts import SlowSite

from archiver.demo.server import Site

ARCHIVER = [sys.executable, "-m", "archiver"]


def cli(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHIVER, "-w", str(ws), *args], capture_output=True, text=True, timeout=120)


def snapshot(ws: Path) -> dict[str, str]:
    """Every file of the workspace and its sha256."""
    return {p.relative_to(ws).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(ws.rglob("*")) if p.is_file()}


def sealed_files(ws: Path) -> dict[str, str]:
    """The hashes of every manifest and every file a manifest lists or owns."""
    import yaml

    out = {}
    for manifest in (ws / "manifests").glob("*.yaml"):
        data = yaml.safe_load(manifest.read_text())
        names = [f"manifests/{manifest.name}", f"manifests/{manifest.stem}.sha256",
                 f"manifests/{manifest.stem}.sha256.sig", *(w["path"] for w in data["warc_files"])]
        for name in names:
            if (ws / name).exists():
                out[name] = hashlib.sha256((ws / name).read_bytes()).hexdigest()
    return out


def start_slow_capture(slow: SlowSite, ws: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([*ARCHIVER, "-w", str(ws), "capture", slow.url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert slow.entered.wait(30), "the capture never requested the slow URL"
    time.sleep(0.3)
    return proc


def debris_entries(ws: Path, before: set[str]) -> set[str]:
    """What appeared in archive/, manifests/ and the state folder's tmp/ and running/ since ``before``."""
    found = set()
    for folder in ("archive", "manifests", ".archiver/tmp", ".archiver/running"):
        if (ws / folder).is_dir():
            found |= {p.relative_to(ws).as_posix() for p in (ws / folder).iterdir()}
    return found - before


def entries(ws: Path) -> set[str]:
    return debris_entries(ws, set())


def test_clean_removes_exactly_what_a_killed_capture_left_and_no_sealed_file(
        serve: Callable[..., Site], tmp_path: Path) -> None:
    slow = SlowSite(serve)
    ws = tmp_path / "ws"
    done = cli(ws, "capture", slow.site.url("slow", "/fast.png"))
    assert done.returncode == 0, done.stderr
    sealed = sealed_files(ws)
    assert len(sealed) >= 3
    before = entries(ws)

    proc = start_slow_capture(slow, ws)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        slow.release.set()
    # and what a seal killed before its manifest was written leaves
    (ws / "manifests" / "20260101T000000Z-dead00.sha256").write_text("0" * 64 + "  archive/x.warc.gz\n")
    debris = debris_entries(ws, before)
    assert any(p.endswith(".warc.gz.open") for p in debris) and any(p.startswith(".archiver/tmp/") for p in debris)
    warned = json.loads(cli(ws, "verify", "--json").stdout)
    assert {p["path"] for p in warned["problems"]} >= {p for p in debris if not p.startswith(".archiver/")}

    everything = snapshot(ws)
    dry = cli(ws, "clean", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    listed = json.loads(dry.stdout)
    assert listed["dry_run"] is True and {d["path"] for d in listed["removed"]} == debris, dry.stdout
    assert snapshot(ws) == everything, "--dry-run changed a file"

    done = cli(ws, "clean")
    assert done.returncode == 0, done.stderr
    assert all(f"removed  {p}" in done.stdout for p in debris), done.stdout
    assert "no sealed file touched" in done.stdout
    assert debris_entries(ws, before) == set() and entries(ws) == before
    assert sealed_files(ws) == sealed
    verified = json.loads(cli(ws, "verify", "--json").stdout)
    assert verified["ok"] and verified["problems"] == [], verified
    again = cli(ws, "clean")
    assert again.returncode == 0 and "nothing to clean" in again.stdout, again.stdout


def test_clean_keeps_the_files_of_a_capture_that_is_running(serve: Callable[..., Site], tmp_path: Path) -> None:
    slow = SlowSite(serve)
    ws = tmp_path / "ws"
    proc = start_slow_capture(slow, ws)
    try:
        running = entries(ws)
        open_files = [p for p in running if p.endswith(".open")]
        assert open_files
        done = cli(ws, "clean", "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["removed"] == [], done.stdout
        assert {k["path"] for k in report["kept"]} >= set(open_files)
        assert all((ws / p).exists() for p in running)
    finally:
        slow.release.set()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    verified = json.loads(cli(ws, "verify", "--json").stdout)
    assert verified["ok"] and verified["problems"] == [], verified


def test_clean_outside_a_workspace_is_a_usage_error(tmp_path: Path) -> None:
    done = cli(tmp_path / "nowhere", "clean")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr


def test_clean_keeps_a_finished_unsealed_warc_until_it_is_imported_or_unsealed_is_given(
        serve: Callable[..., Site], tmp_path: Path) -> None:
    """A capture killed after closing a WARC file leaves bytes that may be the only copy of a page gone
    since: clean keeps the file and says how to seal it; once imported, clean removes the copy."""
    slow = SlowSite(serve)
    slow.release.set()
    ws = tmp_path / "ws"
    done = cli(ws, "capture", slow.site.url("slow", "/fast.png"))
    assert done.returncode == 0, done.stderr
    sealed = sealed_files(ws)
    warc = next(p for p in sealed if p.startswith("archive/"))
    orphan = ws / "archive" / "20260101T000000Z-dead00-00000.warc.gz"
    orphan.write_bytes((ws / warc).read_bytes())
    rel = orphan.relative_to(ws).as_posix()

    kept = json.loads(cli(ws, "clean", "--json").stdout)
    assert kept["removed"] == [] and orphan.exists()
    why = {k["path"]: k["why"] for k in kept["kept"]}[rel]
    assert f"archiver import {rel}" in why and "--unsealed" in why

    imported = subprocess.run([*ARCHIVER, "-w", str(ws), "import", str(orphan)], capture_output=True, text=True,
                              timeout=120, cwd=ws)
    assert imported.returncode == 0, imported.stderr
    done = cli(ws, "clean")
    assert done.returncode == 0 and f"removed  {rel}" in done.stdout and "imported as capture" in done.stdout, done.stdout
    assert not orphan.exists() and sealed_files(ws).items() >= sealed.items()
    verified = json.loads(cli(ws, "verify", "--json").stdout)
    assert verified["ok"] and verified["problems"] == [], verified

    orphan.write_bytes(b"WARC/1.1\r\n")        # a finished file nobody imported: removed only when asked
    assert orphan.exists() and cli(ws, "clean").returncode == 0 and orphan.exists()
    gone = cli(ws, "clean", "--unsealed")
    assert gone.returncode == 0 and f"removed  {rel}" in gone.stdout and not orphan.exists(), gone.stdout
