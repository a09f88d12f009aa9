"""archiver list, show, extract and serve, and where citations point, run as a user runs them: real
captures of the sample site (captured twice: the second is deduplicated and signed), the real
command as a subprocess, a real server on free loopback ports."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.demo.server import Host, Response
from archiver.fixity.manifest import read_manifest
from archiver.net.surt import timestamp14

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
    # besides the warnings about pages whose markup names no author or date (each says how to set them)
    others = [line for line in proc.stderr.strip().splitlines() if " --set " not in line]
    assert len(others) == 1, proc.stderr


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


# -- extract -----------------------------------------------------------------------------------------

def extract(archive: Archive, url: str, out: Path, *more: str) -> subprocess.CompletedProcess:
    return run("-w", str(archive.root), "extract", url, "-o", str(out), *more)


def resource(archive: Archive, capture_id: str, url: str):
    return next(r for r in manifest(archive, capture_id).resources if r.url == url)


def test_extract_a_page_and_an_image_as_archived(archive: Archive, tmp_path: Path) -> None:
    first = manifest(archive, archive.first)
    image = archive.article.replace(ARTICLE_PATH, "/media/harbour-800.png")
    for url in (archive.article, image):
        out = tmp_path / url.rsplit("/", 1)[1]
        proc = extract(archive, url, out, "--at", first.started)            # the first capture: stored whole
        assert proc.returncode == 0, proc.stderr
        expected = resource(archive, archive.first, url)
        assert expected.revisit_of is None and f"in capture {archive.first}" in proc.stdout
        assert hashlib.sha256(out.read_bytes()).hexdigest() == expected.payload_sha256
        assert out.read_bytes() == archive.served[url]                         # what the site sent
    assert sorted(p.name for p in tmp_path.iterdir()) == ["harbour-800.png", "harbour-contract.html"]   # no debris


def test_extract_a_revisit_reads_its_original(archive: Archive, tmp_path: Path) -> None:
    revisit = resource(archive, archive.second, archive.article)
    assert revisit.revisit_of is not None and revisit.revisit_of.capture_id == archive.first
    out = tmp_path / "article.html"
    proc = extract(archive, archive.article, out)                               # default: the latest capture
    assert proc.returncode == 0, proc.stderr
    assert f"in capture {archive.second}" in proc.stdout
    assert hashlib.sha256(out.read_bytes()).hexdigest() == revisit.payload_sha256
    assert revisit.payload_sha256 in proc.stdout


def test_extract_keeps_content_coding_and_removes_chunked_framing(serve, tmp_path: Path) -> None:
    body = b"<!doctype html><title>Minutes</title><p>" + b"eleven votes to four " * 300
    coded = gzip.compress(body, mtime=0)
    site = serve([Host("h", "127.0.0.146", routes={"/m.html": Response(
        200, [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], coded, chunked=True)})])
    root = tmp_path / "ws"
    captured = run("-w", str(root), "capture", "--depth", "0", "--json", site.url("h", "/m.html"))
    assert captured.returncode == 0, captured.stderr
    out = tmp_path / "m.html.gz"
    proc = run("-w", str(root), "extract", site.url("h", "/m.html"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == coded and gzip.decompress(out.read_bytes()) == body
    archived = read_manifest(next((root / "manifests").glob("*.yaml"))).resources[0]
    assert hashlib.sha256(coded).hexdigest() == archived.payload_sha256
    assert "Content-Encoding gzip kept" in proc.stdout


def test_extract_refuses_to_overwrite_unless_forced(archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "article.html"
    out.write_bytes(b"mine")
    one_line_error(extract(archive, archive.article, out), 2, "exists", "--force")
    assert out.read_bytes() == b"mine"
    proc = extract(archive, archive.article, out, "--force")
    assert proc.returncode == 0, proc.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == resource(archive, archive.second, archive.article).payload_sha256
    assert [p.name for p in tmp_path.iterdir()] == ["article.html"]


def test_extract_bad_input_is_one_line(archive: Archive, tmp_path: Path) -> None:
    out = tmp_path / "x"
    one_line_error(extract(archive, archive.article + "?not-archived", out), 1, "has not been captured")
    one_line_error(extract(archive, archive.article, out, "--at", "yesterday"), 2, "--at", "not a date")
    one_line_error(extract(archive, archive.article, out, "--at", "20261399"), 2, "--at")
    one_line_error(extract(archive, archive.article, tmp_path), 2, "is a folder")
    one_line_error(extract(archive, archive.article, tmp_path / "no" / "x"), 2, "does not exist")
    one_line_error(extract(archive, "ftp://example.org/x", out), 2, "http")
    assert list(tmp_path.iterdir()) == []


# -- serve -------------------------------------------------------------------------------------------

def free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def get(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {}, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class Server:
    proc: subprocess.Popen
    ui: str
    replay: str

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, out, err


@pytest.fixture
def start_server() -> Iterator:
    started: list[subprocess.Popen] = []

    def start(root: Path, *more: str, env: dict[str, str] | None = None) -> Server:
        port, replay = free_ports(2)
        full = {k: v for k, v in os.environ.items() if k not in ("ARCHIVER_WORKSPACE", "ARCHIVER_SERVE_TOKEN")}
        proc = subprocess.Popen([*ARCHIVER, "-w", str(root), "serve", "--port", str(port), "--replay-port",
                                 str(replay), *more], env={**full, **(env or {})}, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(proc)
        server = Server(proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{replay}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", replay), timeout=1).close()
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return server
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"archiver serve did not start: {proc.communicate(timeout=10)}")

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_on_both_ports_resolves_citations_and_stops_cleanly(archive: Archive, start_server,
                                                                          sig: int) -> None:
    server = start_server(archive.root)
    status, page = get(server.ui + "/")
    assert status == 200 and archive.second.encode() in page
    status, head = get(f"{server.replay}/wacz/{archive.second}.wacz", {"Range": "bytes=0-3"})
    assert status == 206 and head == b"PK\x03\x04"
    cited = run("-w", str(archive.root), "cite", "--style", "markdown", archive.article).stdout
    ts = timestamp14(resource(archive, archive.second, archive.article).date)
    local = f"http://localhost:8080/archive/{ts}/{archive.article}"
    assert local in cited                                        # the default citation names this server's route
    status, page = get(local.replace("http://localhost:8080", server.ui))
    assert status == 200 and b"<iframe" in page
    code, out, err = server.stop(sig)
    assert code == 0 and "Traceback" not in err and "server stopped" in err, (code, err)
    assert f"UI      {server.ui}/" in out and f"replay  {server.replay}/" in out and "read-only" in out
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(server.ui.rsplit(":", 1)[1])), timeout=1).close()


def test_serve_takes_its_token_from_the_environment_and_never_prints_it(archive: Archive, start_server,
                                                                        tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(archive.root, root)
    token = "env-token-" + "x" * 20
    server = start_server(root, env={"ARCHIVER_SERVE_TOKEN": token})
    verify = f"{server.ui}/api/captures/{archive.second}/verify"
    assert get(verify, data=b"")[0] == 403
    assert get(verify, {"Authorization": f"Bearer {token}"}, data=b"")[0] == 202
    code, out, err = server.stop()
    assert code == 0 and "writable" in out and token not in out + err


def test_serve_token_from_the_settings_and_the_flag_wins(archive: Archive, start_server, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(archive.root, root)
    (root / "archiver.yaml").write_text("serve_token: from-the-settings-file\n")
    server = start_server(root, "--token", "from-the-command-line")
    verify = f"{server.ui}/api/captures/{archive.second}/verify"
    assert get(verify, {"Authorization": "Bearer from-the-settings-file"}, data=b"")[0] == 403
    assert get(verify, {"Authorization": "Bearer from-the-command-line"}, data=b"")[0] == 202
    code, out, err = server.stop()
    assert code == 0 and "from-the" not in out + err
    server = start_server(root)
    verify = f"{server.ui}/api/captures/{archive.second}/verify"
    assert get(verify, {"Authorization": "Bearer from-the-settings-file"}, data=b"")[0] == 202
    assert server.stop()[0] == 0


def test_serve_refuses_other_hosts_without_a_token_busy_ports_and_bad_flags(archive: Archive, tmp_path: Path) -> None:
    one_line_error(run("-w", str(archive.root), "serve", "--host", "0.0.0.0", "--port", str(free_ports(1)[0]),
                       timeout=30), 2, "--host 0.0.0.0", "--token")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        one_line_error(run("-w", str(archive.root), "serve", "--port", str(port), timeout=30), 2, f"--port {port}",
                       "cannot listen")
        one_line_error(run("-w", str(archive.root), "serve", "--port", str(free_ports(1)[0]), "--replay-port",
                           str(port), timeout=30), 2, "--replay-port")
    one_line_error(run("-w", str(archive.root), "serve", "--port", "70000"), 2, "--port must be from 1 to 65535")
    one_line_error(run("-w", str(archive.root), "serve", "--port", "9000", "--replay-port", "9000"), 2, "differ")
    one_line_error(run("-w", str(archive.root), "serve", "--public-url", "javascript:alert(1)"), 2, "--public-url")
    bad = run("-w", str(archive.root), "serve", "--token", "tiny")
    one_line_error(bad, 2, "--token", "8 to 512")
    assert "tiny" not in bad.stderr
    one_line_error(run("-w", str(tmp_path / "none"), "serve"), 2, "does not exist")
