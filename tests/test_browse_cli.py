"""archiver list, show, extract and serve, and where citations point, run as a user runs them: real
captures of the sample site (captured twice: the second is deduplicated and signed), the real
command as a subprocess, a real server on free loopback ports."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.fixity.manifest import read_manifest

ARCHIVER = [sys.executable, "-m", "archiver"]


@dataclass(frozen=True)
class Archive:
    root: Path
    article: str
    first: str                 # capture id: unsigned
    second: str                # capture id: signed, its unchanged payloads revisits of the first's
    served: dict[str, bytes]   # URL -> the body the site sent
    fingerprint: str


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("ARCHIVER_WORKSPACE", "ARCHIVER_SERVE_TOKEN")}
    return subprocess.run([*ARCHIVER, *args], cwd=cwd, capture_output=True, text=True, env={**full, **(env or {})},
                          timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess, code: int, *words: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("archiver: ")
    for word in words:
        assert word in proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    root = tmp_path_factory.mktemp("browse") / "ws"
    env = {"ARCHIVER_STATE_HOME": str(tmp_path_factory.mktemp("browse-state"))}    # never the user's own
    with sample_site(first=141) as site:
        article = site.url("news", ARTICLE_PATH)
        first = run("-w", str(root), "capture", "--json", article, env=env)
        keygen = run("-w", str(root), "keygen", env=env)
        second = run("-w", str(root), "capture", "--json", article, env=env)
        served = {s.url: s.body for s in site.served}
    assert first.returncode == 0 and second.returncode == 0 and keygen.returncode == 0, (first.stderr, second.stderr)
    fingerprint = next(line.split()[1] for line in keygen.stdout.splitlines() if line.startswith("fingerprint"))
    return Archive(root, article, json.loads(first.stdout)["capture_id"], json.loads(second.stdout)["capture_id"],
                   served, fingerprint)


def manifest(archive: Archive, capture_id: str):
    return read_manifest(Workspace(archive.root).manifest_path(capture_id))


# -- list --------------------------------------------------------------------------------------------

def test_list_json_newest_first_with_counts_flags_and_signatures(archive: Archive) -> None:
    proc = run("-w", str(archive.root), "list", "--json")
    assert proc.returncode == 0, proc.stderr
    listed = json.loads(proc.stdout)
    assert listed["total"] == 2
    assert [c["capture_id"] for c in listed["captures"]] == [archive.second, archive.first]
    for entry in listed["captures"]:
        m = manifest(archive, entry["capture_id"])
        assert entry["seeds"] == [archive.article] == list(m.seeds)
        assert entry["resources"] == len(m.resources) >= 25
        assert entry["failures"] == len(m.failures) == 1                     # the host that refuses connections
        assert entry["flags"] == len(m.flags) and entry["flag_list"] == [f"{f.flag}: {f.url}" for f in m.flags]
        assert entry["started"] == m.started and entry["ok"] is True and entry["problem"] is None
        assert entry["warc_bytes"] == m.warc_bytes
    newest, oldest = listed["captures"]
    assert oldest["flag_list"] == [f"repeated-paragraphs: {archive.article}"]
    assert newest["signed"] is True and newest["signing_key"] == archive.fingerprint
    assert oldest["signed"] is False and oldest["signing_key"] is None


def test_list_text_is_one_line_per_capture(archive: Archive) -> None:
    proc = run("-w", str(archive.root), "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["started", "capture", "resources"]
    assert archive.second in lines[1] and " signed " in lines[1] and archive.article in lines[1]
    assert archive.first in lines[2] and " no " in lines[2] and " ok " in lines[2]
    assert lines[-1] == "2 capture(s), newest first"


def test_list_shows_an_unreadable_manifest_and_goes_on(archive: Archive, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(archive.root, root)
    broken = Workspace(root).manifest_path(archive.first)
    broken.write_bytes(broken.read_bytes()[:200])                 # cut mid-way
    shutil.rmtree(root / ".archiver")                             # the index is derived: rebuilt from what is there
    proc = run("-w", str(root), "list", "--json")
    assert proc.returncode == 0, proc.stderr
    captures = {c["capture_id"]: c for c in json.loads(proc.stdout)["captures"]}
    assert captures[archive.second]["problem"] is None
    assert captures[archive.first]["problem"] and not captures[archive.first]["ok"]
    text = run("-w", str(root), "list")
    assert "unreadable" in text.stdout and text.returncode == 0


def test_list_of_an_empty_workspace_and_of_no_workspace(tmp_path: Path) -> None:
    (tmp_path / "ws" / "manifests").mkdir(parents=True)
    empty = run("-w", str(tmp_path / "ws"), "list", "--json")
    assert empty.returncode == 0 and json.loads(empty.stdout) == {"total": 0, "captures": []}
    assert "no capture" in run("-w", str(tmp_path / "ws"), "list").stdout
    one_line_error(run("-w", str(tmp_path / "nothing"), "list"), 2, "does not exist")


# -- show --------------------------------------------------------------------------------------------

def test_show_json_has_every_resource_failure_flag_provenance_and_file(archive: Archive) -> None:
    proc = run("-w", str(archive.root), "show", archive.second, "--json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    m = manifest(archive, archive.second)
    assert shown["capture_id"] == archive.second and shown["seeds"] == [archive.article] and shown["ok"]
    assert [(r["url"], r["role"], r["status"], r["payload_bytes"], r["via"]) for r in shown["resources"]] == \
        [(r.url, r.role.value, r.status, r.payload_bytes, r.via) for r in m.resources]
    revisits = [r for r in shown["resources"] if r["revisit_of"]]
    assert revisits and all(r["revisit_of"]["capture_id"] == archive.first for r in revisits)
    assert [(f["url"], f["kind"]) for f in shown["failures"]] == [(f.url, f.kind) for f in m.failures]
    assert "refused" in shown["failures"][0]["reason"]
    assert [(f["url"], f["flag"]) for f in shown["flags"]] == [(f.url, f.flag) for f in m.flags]
    prov = shown["provenance"]
    assert prov["signed"] and prov["signing_key"] == archive.fingerprint
    assert prov["sequence"] == 2 and prov["previous"]["capture_id"] == archive.first
    assert prov["software"]["archiver"] and prov["settings"]["depth"] == 1 and prov["started"] == m.started
    assert "127.0.0.141" in prov["remote_addresses"]
    files = {f["kind"]: f for f in shown["files"]}
    assert set(files) == {"warc", "manifest", "checksums", "signature"} and all(f["present"] for f in shown["files"])
    warc = files["warc"]
    assert warc["sha256"] == hashlib.sha256((archive.root / warc["path"]).read_bytes()).hexdigest()


def test_show_text_names_the_resources_revisits_failures_and_files(archive: Archive) -> None:
    proc = run("-w", str(archive.root), "show", archive.second)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith(f"capture {archive.second}: every seed captured")
    assert f"signed      by key {archive.fingerprint}" in text
    assert f"after capture {archive.first}" in text
    assert f"revisit: payload in capture {archive.first}" in text
    assert "failures (1)" in text and "refused" in text
    assert f"manifests/{archive.second}.sha256.sig" in text
    first = run("-w", str(archive.root), "show", archive.first).stdout
    assert "signed      no" in first and "the first in the chain" in first and "revisit" not in first
    assert "fidelity flags (1)" in first and "repeated-paragraphs" in first


@pytest.mark.parametrize("capture_id", ["20200101T000000Z-000000", "../manifests/x", "a" * 300, "-"])
def test_show_an_unknown_capture_is_one_line_exit_1(archive: Archive, capture_id: str) -> None:
    one_line_error(run("-w", str(archive.root), "show", "--", capture_id), 1)


# -- where citations point ---------------------------------------------------------------------------

def test_cite_says_once_that_localhost_is_no_use_in_a_publication(archive: Archive, tmp_path: Path) -> None:
    proc = run("-w", str(archive.root), "cite", "--style", "markdown", archive.second, archive.article)
    assert proc.returncode == 0, proc.stderr
    assert "http://localhost:8080/archive/" in proc.stdout
    assert proc.stderr.count("localhost") == 1 and "public_url" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cite_with_public_url_names_the_published_server_and_says_nothing(archive: Archive, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(archive.root, root)
    (root / "archiver.yaml").write_text("public_url: https://archive.example.org/sources/\n")
    proc = run("-w", str(root), "cite", "--style", "robust-link", archive.article)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    stamp = manifest(archive, archive.second).resources[0].date
    ts = stamp[:19].replace("-", "").replace(":", "").replace("T", "")
    assert f'data-versionurl="https://archive.example.org/sources/archive/{ts}/{archive.article}"' in proc.stdout
    (root / "archiver.yaml").write_text("public_url: https://archive.example.org\ncollection: news\n"
                                        "replay_url: 'https://wb.example.org/{collection}/{timestamp}/{url}'\n")
    own = run("-w", str(root), "cite", "--style", "markdown", archive.article)
    assert f"https://wb.example.org/news/{ts}/{archive.article}" in own.stdout and own.stderr == ""


@pytest.mark.parametrize("setting,message", [
    ("public_url: ftp://archive.example.org", "'ftp://archive.example.org' is not an http(s) URL"),
    ("public_url: 'https://u:p@archive.example.org'", "no user name, query"),
    ("public_url: 'https://archive.example.org/?x=1'", "no user name, query"),
    ("public_url: 8080", "must be text"),
    ("public_url: 'https://" + "a" * 2000 + ".org'", "longer than 2000"),
    ("serve_token: short", "the token must be 8 to 512"),
    ("serve_token: 'has space in it'", "the token must be"),
])
def test_bad_public_url_and_token_settings_name_file_line_and_key(archive: Archive, tmp_path: Path, setting: str,
                                                                  message: str) -> None:
    root = tmp_path / "ws"
    shutil.copytree(archive.root, root)
    (root / "archiver.yaml").write_text("collection: archive\n" + setting + "\n")
    proc = run("-w", str(root), "cite", "--style", "apa", archive.article)
    key = setting.split(":")[0]
    one_line_error(proc, 2, f"archiver.yaml:2: {key}: ", message)
    assert "short" not in proc.stderr and "has space" not in proc.stderr      # a token is never shown
