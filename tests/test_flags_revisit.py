"""A page captured again unchanged is stored as a revisit: its text-derived flags (repeated
paragraphs) come with it from the original's manifest, and search finds every capture time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response
from archiver.fixity.manifest import read_manifest

ARCHIVER = [sys.executable, "-m", "archiver"]
HTML = [("Content-Type", "text/html; charset=utf-8")]
REPEATED = "The council approved the new harbour wall after a long debate about its cost and its height."
SLOPPY = (f"<html lang='en'><head><title>Harbour wall approved</title></head><body><article>"
          f"<h1>Harbour wall approved</h1><p>{REPEATED}</p>"
          "<p>Work on the quayside begins in March and is expected to last about eighteen months.</p>"
          f"<p>{REPEATED}</p><p>{REPEATED}</p></article></body></html>").encode()


def archiver(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHIVER, "-w", str(root), *args], capture_output=True, text=True, timeout=120)


def test_revisit_keeps_repeated_paragraphs_flag_and_is_searchable(serve, workspace: Workspace) -> None:
    site = serve([Host("h", "127.0.0.151", routes={"/wall": Response(200, HTML, SLOPPY)})])
    url = site.url("h", "/wall")
    ids = []
    for _ in range(2):
        proc = archiver(workspace.root, "capture", url, "--json")
        assert proc.returncode == 0, proc.stderr
        ids.append(json.loads(proc.stdout)["capture_id"])
    first, second = (read_manifest(workspace.manifest_path(cid)) for cid in ids)
    page = [r for r in second.resources if r.url == url]
    assert page and page[0].revisit_of is not None and page[0].text is None   # deduplicated: no text record of its own
    assert page[0].revisit_of.capture_id == ids[0]
    for manifest in (first, second):
        flags = [(f.url, f.flag) for f in manifest.flags]
        assert flags == [(url, "repeated-paragraphs")], manifest.capture_id
        assert "appears 3 times" in manifest.flags[0].detail

    proc = archiver(workspace.root, "search", "harbour quayside", "--json")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)["results"]
    assert sorted(r["capture_id"] for r in found) == sorted(ids)
    assert {r["title"] for r in found} == {"Harbour wall approved"}

    proc = archiver(workspace.root, "reindex")                   # the index is derived: a rebuild finds both again
    assert proc.returncode == 0, proc.stderr
    found = json.loads(archiver(workspace.root, "search", "quayside", "--json").stdout)["results"]
    assert sorted(r["capture_id"] for r in found) == sorted(ids)


def test_no_dedup_capture_computes_its_own_flag(serve, workspace: Workspace) -> None:
    """With --no-dedup each capture stores its payload and finds the repeats itself (one flag, not two)."""
    site = serve([Host("h", "127.0.0.152", routes={"/wall": Response(200, HTML, SLOPPY)})])
    url = site.url("h", "/wall")
    for extra in ((), ("--no-dedup",)):
        proc = archiver(workspace.root, "capture", url, "--json", *extra)
        assert proc.returncode == 0, proc.stderr
        manifest = read_manifest(workspace.manifest_path(json.loads(proc.stdout)["capture_id"]))
        assert [f.flag for f in manifest.flags] == ["repeated-paragraphs"]
