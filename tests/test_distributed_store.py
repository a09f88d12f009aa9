"""Distributed captures through an object store (issue #19, "Storage"): workers started in a folder
that is not the workspace put their WARC files in the store, the sealing process copies each one
into the workspace, checked against the worker's report, seals, and puts the manifest in the store;
``verify --store`` compares the store with the sealed manifests byte for byte. S3 is moto's server
(the real S3 REST protocol, through s3fs) on a free loopback port; a plain folder is the other kind
of store. Redis and the site are the real ones of tests/test_distributed.py."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_distributed
import yaml
from conftest import need
from test_distributed import HOST, PORT, InFlight, finish, page, queued, run

from archiver.core.errors import CaptureError
from archiver.core.models import WarcFile
from archiver.core.workspace import Workspace
from archiver.demo.server import Host

queue = test_distributed.queue      # the fixtures of a real Redis, this test's keys only, and processes
start = test_distributed.start      # started in the background, killed if the test fails
BUCKET = "archiver-test"
STORE = f"s3://{BUCKET}/ws"


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1, a free port; its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        need("moto's server", None, "pip install 'moto[server]'")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    """The store's bucket, empty, and this machine's AWS settings pointing at the loopback server only
    (inherited by the workers: credentials never travel through the queue); the s3fs file system."""
    try:
        import fsspec
    except ImportError:
        need("fsspec", None, "pip install '.[distributed,s3]'")
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_server,
                        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": str(tmp_path / "none"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    fs = fsspec.filesystem("s3", skip_instance_cache=True, endpoint_url=s3_server)
    fs.mkdir(BUCKET)
    yield fs
    fs.rm(BUCKET, recursive=True)


def site_with_pages(serve, address: str) -> tuple[str, InFlight]:
    log = InFlight()
    pages = {f"/a/p{n}": log.route(f'<img src="/a/i{n}.png"><p>page {n}</p>') for n in range(6)}
    images = {f"/a/i{n}.png": log.route("img") for n in range(6)}
    links = "".join(f'<a href="/a/p{n}">{n}</a>' for n in range(6))
    site = serve([Host("h", address, routes={"/": page(f"<title>Stored</title>{links}"), **pages, **images})],
                 latency=0.05)              # slow enough that both workers get a share, most of the time
    return site.url("h", "/"), log


def spec_in_redis(queue: str, tmp_path: Path) -> dict:
    import redis

    capture_id = json.loads(run("workers", "--queue", queue, "--json", cwd=tmp_path).stdout)["captures"][0]["capture_id"]
    prefix = queue.rsplit("prefix=", 1)[1]
    raw = redis.Redis(host=HOST, port=int(PORT), db=0).get(f"{prefix}:cap:{capture_id}:spec")
    return json.loads(raw)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def capture_with_two_workers(url: str, ws: Path, queue: str, start, tmp_path: Path, *store: str) -> tuple[dict, dict]:
    """Queue the capture, start two workers in a folder of their own, wait for the seal: (manifest, spec)."""
    elsewhere = tmp_path / "elsewhere"          # the workers' working folder: not the workspace, nothing shared
    elsewhere.mkdir()
    capture = start("-w", str(ws), "capture", url, "--queue", queue, *store, "--json", cwd=tmp_path)
    queued(queue, tmp_path)
    spec = spec_in_redis(queue, tmp_path)
    workers = [start("worker", "--queue", queue, "--once", "--lease", "10", "--json", cwd=elsewhere) for _ in range(2)]
    code, out, err = finish(capture)
    assert code == 0, err
    done = [finish(w) for w in workers]
    assert all(c == 0 for c, _, _ in done), done
    assert sum(json.loads(o)["archived"] for _, o, _ in done) == 13          # index, 6 pages, 6 images
    assert not any(elsewhere.iterdir())                                      # nothing written where they ran
    return yaml.safe_load((ws / json.loads(out)["manifest"]).read_text()), spec


def test_two_workers_with_no_shared_folder_capture_through_s3(serve, queue: str, start, s3, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fs = s3
    url, log = site_with_pages(serve, "127.0.0.234")
    ws = tmp_path / "ws"
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))                 # where the workers write before uploading
    data, spec = capture_with_two_workers(url, ws, queue, start, tmp_path, "--store", STORE)
    assert spec["store"] == STORE and spec["workspace"] == str(ws.resolve())  # named only for a sealer
    assert sorted(log.served) == sorted(set(log.served)) and len(log.served) == 12
    assert not any(temp.iterdir())                          # each worker's temporary folder is gone

    capture_id = data["capture_id"]
    warcs = {w["path"]: w for w in data["warc_files"]}
    assert warcs and all("-w" in p for p in warcs)                  # the workers' files (one each, or more)
    stored = {k.removeprefix(f"{BUCKET}/ws/") for k in fs.find(f"{BUCKET}/ws")}
    assert {p for p in stored if p.startswith("archive/")} == set(warcs)      # nothing else: no partial object
    for path, entry in warcs.items():
        body = fs.cat_file(f"{BUCKET}/ws/{path}")
        assert body == (ws / path).read_bytes()                            # the store's copy is the workspace's
        assert sha256(body) == entry["sha256"] and len(body) == entry["bytes"]
    for name in (f"manifests/{capture_id}.yaml", f"manifests/{capture_id}.sha256"):
        assert fs.cat_file(f"{BUCKET}/ws/{name}") == (ws / name).read_bytes()

    verified = run("-w", str(ws), "verify", "--store", STORE, cwd=tmp_path)
    assert verified.returncode == 0 and "warning" not in verified.stdout, verified.stdout + verified.stderr
    assert f"store {STORE}: 1 capture(s), {len(warcs) + 2} object(s) compared" in verified.stdout, verified.stdout
    as_json = json.loads(run("-w", str(ws), "verify", "--store", STORE, "--json", cwd=tmp_path).stdout)
    assert as_json["ok"] and as_json["store"]["captures"] == 1

    altered = sorted(warcs)[0]                              # one byte changed in the store, its length kept
    body = bytearray(fs.cat_file(f"{BUCKET}/ws/{altered}"))
    body[len(body) // 2] ^= 0x01
    fs.pipe_file(f"{BUCKET}/ws/{altered}", bytes(body))
    failed = run("-w", str(ws), "verify", "--store", STORE, cwd=tmp_path)
    assert failed.returncode == 1, failed.stdout
    bad = [line for line in failed.stdout.splitlines() if line.startswith("error:")]
    assert len(bad) == 1 and f"{STORE}/{altered}" in bad[0] and "differs from what was sealed" in bad[0], failed.stdout
    assert run("-w", str(ws), "verify", cwd=tmp_path).returncode == 0      # the workspace itself is intact
    fs.rm(f"{BUCKET}/ws/manifests/{capture_id}.sha256")
    quick = run("-w", str(ws), "verify", "--quick", "--store", STORE, cwd=tmp_path)
    assert quick.returncode == 1 and f"{STORE}/manifests/{capture_id}.sha256: capture {capture_id}: missing from " \
        "the store" in quick.stdout, quick.stdout


def test_a_folder_named_in_archiver_yaml_is_the_store(serve, queue: str, start, tmp_path: Path) -> None:
    url, _ = site_with_pages(serve, "127.0.0.235")
    ws, store = tmp_path / "ws", tmp_path / "store"
    assert run("init", str(ws), "--no-input", cwd=tmp_path).returncode == 0
    with open(ws / "archiver.yaml", "a", encoding="utf-8") as fh:
        fh.write(f"store: {store}\n")
    data, spec = capture_with_two_workers(url, ws, queue, start, tmp_path)
    assert spec["store"] == str(store) and spec["workspace"] == str(ws.resolve())
    files = sorted(p.relative_to(store).as_posix() for p in store.rglob("*") if p.is_file())
    capture_id = data["capture_id"]
    assert files == sorted([*(w["path"] for w in data["warc_files"]), f"manifests/{capture_id}.sha256",
                            f"manifests/{capture_id}.yaml"])                # no .part left
    for name in files:
        assert (store / name).read_bytes() == (ws / name).read_bytes()
    verified = run("-w", str(ws), "verify", "--store", str(store), cwd=tmp_path)
    assert verified.returncode == 0 and "warning" not in verified.stdout, verified.stdout + verified.stderr
    gone = data["warc_files"][-1]["path"]
    (store / gone).unlink()
    failed = run("-w", str(ws), "verify", "--store", f"file://{store}", cwd=tmp_path)
    assert failed.returncode == 1 and f"file://{store}/{gone}: capture {capture_id}: missing from the store" \
        in failed.stdout, failed.stdout


def test_a_detached_capture_with_a_store_is_sealed_by_a_worker_that_reaches_the_workspace(
        serve, queue: str, start, s3, tmp_path: Path) -> None:
    """The queuing process is gone at once (--detach): a worker fetches into the store, finds the
    workspace's mark, copies the store's files into it, checked, and seals; the store gets the seal."""
    fs = s3
    url, log = site_with_pages(serve, "127.0.0.233")
    ws = tmp_path / "ws"
    queued_now = run("-w", str(ws), "capture", url, "--queue", queue, "--store", STORE, "--detach", "--json",
                     cwd=tmp_path)
    assert queued_now.returncode == 0, queued_now.stderr
    capture_id = json.loads(queued_now.stdout)["capture_id"]
    assert not list((ws / "manifests").glob("*.yaml"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, out, err = finish(start("worker", "--queue", queue, "--once", "--lease", "10", cwd=elsewhere))
    assert code == 0, err
    assert f"sealed capture {capture_id}" in err, err
    assert sorted(log.served) == sorted(set(log.served)) and len(log.served) == 12
    data = yaml.safe_load((ws / "manifests" / f"{capture_id}.yaml").read_text())
    assert data["warc_files"] and all("-w" in w["path"] for w in data["warc_files"])
    for name in [w["path"] for w in data["warc_files"]] + [f"manifests/{capture_id}.yaml",
                                                           f"manifests/{capture_id}.sha256"]:
        assert fs.cat_file(f"{BUCKET}/ws/{name}") == (ws / name).read_bytes(), name
    verified = run("-w", str(ws), "verify", "--store", STORE, cwd=tmp_path)
    assert verified.returncode == 0 and "warning" not in verified.stdout, verified.stdout + verified.stderr
    assert json.loads(run("workers", "--queue", queue, "--json", cwd=tmp_path).stdout)["captures"] == []


def test_a_stored_file_whose_bytes_differ_from_the_report_stops_the_seal(tmp_path: Path) -> None:
    from archiver.distributed.store import open_store
    from archiver.distributed.store_copies import fetch_reported

    store_dir = tmp_path / "store"
    (store_dir / "archive").mkdir(parents=True)
    body = b"WARC/1.1 as a worker wrote it"
    (store_dir / "archive" / "c-w1-00001.warc.gz").write_bytes(body)
    ws = Workspace(tmp_path / "ws").ensure()
    store = open_store(str(store_dir))
    reported = WarcFile("archive/c-w1-00001.warc.gz", len(body), sha256(body))
    fetch_reported(store, ws, "c", (reported,))
    assert (ws.archive_dir / "c-w1-00001.warc.gz").read_bytes() == body                 # copied, checked
    (store_dir / "archive" / "c-w1-00002.warc.gz").write_bytes(body[:-1] + b"?")        # altered after the report
    with pytest.raises(CaptureError) as raised:
        fetch_reported(store, ws, "c", (WarcFile("archive/c-w1-00002.warc.gz", len(body), sha256(body)),))
    said = str(raised.value)
    assert len(said.splitlines()) == 1 and f"{store_dir}/archive/c-w1-00002.warc.gz is {len(body)} bytes" in said
    assert "not sealed" in said and not (ws.archive_dir / "c-w1-00002.warc.gz").exists()
    assert not list(ws.state_dir.rglob("*.part"))
    with pytest.raises(CaptureError, match="not in the store"):
        fetch_reported(store, ws, "c", (WarcFile("archive/c-w9-00001.warc.gz", 1, "0" * 64),))
    (store_dir / "manifests").mkdir()
    (store_dir / "manifests" / "c.yaml").write_bytes(body)
    with pytest.raises(CaptureError, match="not a WARC file in archive/"):        # a report from Redis, checked
        fetch_reported(store, ws, "c", (WarcFile("manifests/c.yaml", len(body), sha256(body)),))
    assert not (ws.manifests_dir / "c.yaml").exists()


def test_bad_stores_are_one_line_and_exit_2(s3, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    cases = [
        (["--store", "ftp://host/x"], "is not supported"),
        (["--store", "s3://key:secret@bucket/x"], "credentials do not belong in the store URL"),
        (["--store", "relative/folder"], "must be absolute"),
        (["--store", "s3://UPPER/x"], "is not a bucket name"),
        (["--store", f"{tmp_path}/no/such/store"], "no such folder"),
        (["--store", "s3://no-such-bucket/ws"], "the bucket 'no-such-bucket' does not exist"),
    ]
    for flags, said in cases:
        proc = run("-w", str(ws), "capture", "http://127.0.0.1:9/", "--queue", "redis://127.0.0.1:1/0", *flags,
                   cwd=tmp_path)
        assert proc.returncode == 2 and said in proc.stderr and len(proc.stderr.splitlines()) == 1, (flags, proc.stderr)
    alone = run("-w", str(ws), "capture", "http://127.0.0.1:9/", "--store", str(tmp_path), cwd=tmp_path)
    assert alone.returncode == 2 and "add --queue" in alone.stderr and len(alone.stderr.splitlines()) == 1
    assert not ws.exists()
    Workspace(ws).ensure()
    (ws / "archiver.yaml").write_text("store: s3://a\n")
    proc = run("-w", str(ws), "verify", cwd=tmp_path)
    assert proc.returncode == 2 and "archiver.yaml:1: store:" in proc.stderr and "bucket name" in proc.stderr, proc.stderr
    (ws / "archiver.yaml").unlink()
    proc = run("-w", str(ws), "verify", "--store", "s3://no-such-bucket/ws", cwd=tmp_path)
    assert proc.returncode == 2 and "does not exist" in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr


def test_a_capture_without_a_store_imports_no_store_code(serve, tmp_path: Path) -> None:
    """fsspec, s3fs and the distributed code stay out of the one-machine path."""
    url, _ = site_with_pages(serve, "127.0.0.236")
    script = ("import sys; from archiver.cli.app import main; code = main(['-w', sys.argv[1], 'capture', sys.argv[2], "
              "'--depth', '0', '--json']); "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fsspec', 's3fs', 'botocore', 'redis') "
              "or m.startswith('archiver.distributed')), file=sys.stderr); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "ws"), url], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]", done.stderr


def test_a_worker_that_cannot_upload_reports_nothing_and_its_urls_come_back(serve, queue: str, start, s3,
                                                                            tmp_path: Path) -> None:
    fs = s3
    url, log = site_with_pages(serve, "127.0.0.237")
    ws = tmp_path / "ws"
    capture = start("-w", str(ws), "capture", url, "--queue", queue, "--store", STORE, "--json", cwd=tmp_path)
    queued(queue, tmp_path)
    fs.rm(BUCKET, recursive=True)                           # the bucket goes away after the capture checked it
    failed = run("worker", "--queue", queue, "--once", "--lease", "2", cwd=tmp_path)
    assert failed.returncode == 1, failed.stderr
    said = [line for line in failed.stderr.splitlines() if line.startswith("archiver:")]
    assert len(said) == 1 and f"cannot write {STORE}/archive/" in said[0] and "Traceback" not in failed.stderr, \
        failed.stderr
    import redis

    prefix = queue.rsplit("prefix=", 1)[1]
    client = redis.Redis(host=HOST, port=int(PORT), db=0)
    assert [k for k in client.scan_iter(match=f"{prefix}:cap:*:results")] == []     # nothing reported
    fs.mkdir(BUCKET)
    again = start("worker", "--queue", queue, "--once", "--lease", "2", "--json", cwd=tmp_path)
    code, out, err = finish(capture)
    assert code == 0, err
    assert finish(again)[0] == 0
    data = yaml.safe_load((ws / json.loads(out)["manifest"]).read_text())
    urls = [r["url"] for r in data["resources"]]
    assert len(urls) == len(set(urls)) and url in urls
    assert all(fs.cat_file(f"{BUCKET}/ws/{w['path']}") == (ws / w["path"]).read_bytes() for w in data["warc_files"])
    assert run("-w", str(ws), "verify", "--store", STORE, cwd=tmp_path).returncode == 0
