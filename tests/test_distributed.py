"""Captures spread over worker processes through a real Redis (issue #19): the machine's own on
127.0.0.1:6379, or the one ``ARCHIVER_TEST_REDIS`` (HOST:PORT) names. The site's own log of requests
in flight per host, every URL archived once, the capture sealed once and verified, and a worker
SIGKILLed while it holds a URL. Each test's keys carry their own prefix and are deleted after it;
nothing else in Redis is touched."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from conftest import need
from warcio.archiveiterator import ArchiveIterator

from archiver.demo.server import Host, Response, Site

ARCHIVER = [sys.executable, "-m", "archiver"]
HTML = [("Content-Type", "text/html; charset=utf-8")]
LEASE = "2"         # seconds: a killed worker's URLs come back this soon
# the Redis to test against: the machine's own by default; CI may start one on a spare port
HOST, PORT = os.environ.get("ARCHIVER_TEST_REDIS", "127.0.0.1:6379").rsplit(":", 1)


def redis_answers() -> bool:
    try:
        with socket.create_connection((HOST, int(PORT)), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue URL whose keys are this test's alone; they are deleted afterwards."""
    need("Redis", redis_answers(), "apt-get install -y redis-server")
    try:
        import redis
    except ImportError:
        need("redis-py", None, "pip install '.[distributed]'")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield f"redis://{HOST}:{PORT}/0?prefix={prefix}"
    client = redis.Redis(host=HOST, port=int(PORT), db=0)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def page(body: str) -> Response:
    return Response(200, HTML, body.encode("utf-8"))


class InFlight:
    """The site's own log: requests in flight per host, and the most at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.served: list[str] = []

    def route(self, body: str, hold: threading.Event | None = None, arrived: threading.Event | None = None):
        def respond(site: Site, path: str) -> Response:
            host = path.split("/")[1]
            with self.lock:
                self.now[host] = self.now.get(host, 0) + 1
                self.peak[host] = max(self.peak.get(host, 0), self.now[host])
                self.served.append(path)
            if arrived is not None:
                arrived.set()
            if hold is not None:
                hold.wait(30)
            with self.lock:
                self.now[host] -= 1
            return page(body)
        return respond


@pytest.fixture
def start(queue: str) -> Iterator[Callable[..., subprocess.Popen]]:
    """start(*args, cwd=...) runs archiver in the background; whatever still runs after the test (it
    failed) is killed, before ``queue`` deletes the test's keys."""
    with launched() as launch:
        yield launch


@contextmanager
def launched() -> Iterator[Callable[..., subprocess.Popen]]:
    """launch(*args, cwd=...) runs archiver in the background; what still runs at the end is killed."""
    started: list[subprocess.Popen] = []

    def launch(*args: str, cwd: Path) -> subprocess.Popen:
        proc = subprocess.Popen([*ARCHIVER, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        return proc

    yield launch
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*ARCHIVER, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def queued(queue: str, tmp_path: Path) -> None:
    """Wait until the capture is in the queue (workers with --once stop when none is left)."""
    for _ in range(600):
        listed = json.loads(run("workers", "--queue", queue, "--json", cwd=tmp_path).stdout)
        if listed["captures"]:
            return
        time.sleep(0.1)
    raise AssertionError("the capture never reached the queue")


def manifest_of(ws: Path, out: str) -> dict:
    return yaml.safe_load((ws / json.loads(out)["manifest"]).read_text())


def test_three_workers_keep_the_per_host_limit_and_archive_each_url_once(serve, queue: str, start, tmp_path: Path) -> None:
    log = InFlight()
    pages = {f"/a/p{n}": log.route(f'<img src="/a/i{n}.png"><p>page {n}</p>') for n in range(8)}
    images = {f"/a/i{n}.png": log.route("img") for n in range(8)}
    links = "".join(f'<a href="/a/p{n}">{n}</a>' for n in range(8))
    shared = "".join(f'<img src="/a/i{n}.png">' for n in range(8))        # found by many pages: fetched once
    robots: list[str] = []

    def robots_txt(site: Site, path: str) -> Response:
        robots.append(path)
        return Response(200, [("Content-Type", "text/plain")], b"User-agent: *\nDisallow: /private\n")

    site = serve([Host("h", "127.0.0.231", routes={"/": page(f"<title>Index</title>{links}{shared}"),
                                                    "/robots.txt": robots_txt, **pages, **images})])
    ws = tmp_path / "ws"
    capture = start("-w", str(ws), "capture", site.url("h", "/"), "--queue", queue, "--per-host", "2", "--json",
                    cwd=tmp_path)
    queued(queue, tmp_path)
    workers = [start("worker", "--queue", queue, "--once", "--lease", "10", "--json", cwd=tmp_path)
               for _ in range(3)]       # a long lease: a worker slowed by a busy machine keeps its URLs
    code, out, err = finish(capture)
    assert code == 0, err
    done = [finish(w) for w in workers]
    assert all(c == 0 for c, _, _ in done), done
    assert sum(json.loads(o)["archived"] for _, o, _ in done) == 17          # index, 8 pages, 8 images

    assert max(log.peak.values()) <= 2, log.peak                        # across the three workers
    assert sorted(log.served) == sorted(set(log.served)) and len(log.served) == 16
    assert robots == ["/robots.txt"]                                    # read once for the whole pool
    data = manifest_of(ws, out)
    urls = [r["url"] for r in data["resources"]]
    assert len(urls) == len(set(urls)) == 18                            # and robots.txt, archived once
    assert {w["path"] for w in data["warc_files"]} == {r["warc"] for r in data["resources"]}
    assert all("-w" in w["path"] for w in data["warc_files"])
    origin = site.url("h", "/").rstrip("/")          # each worker's file says what the server proved, as locally
    servers = data["servers"]
    assert {(s["host"], s["scheme"]) for s in servers} == {("127.0.0.231", "http")}, servers
    assert {s["warc"] for s in servers} <= {w["path"] for w in data["warc_files"]} and len(servers) <= 3
    for s in servers:
        with open(ws / s["warc"], "rb") as fh:
            fh.seek(s["offset"])
            record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type == "metadata" and record.rec_headers.get_header("WARC-Target-URI") == origin
        assert record.rec_headers.get_header("WARC-Record-ID") == s["record_id"]
    verified = run("-w", str(ws), "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    cited = run("-w", str(ws), "cite", site.url("h", "/"), "--style", "apa", cwd=tmp_path)
    assert cited.returncode == 0 and "Index" in cited.stdout, cited.stderr
    assert json.loads(run("workers", "--queue", queue, "--json", cwd=tmp_path).stdout)["captures"] == []


def test_a_worker_killed_holding_a_url_loses_nothing(serve, queue: str, start, tmp_path: Path) -> None:
    log = InFlight()
    hold, arrived = threading.Event(), threading.Event()
    site = serve([Host("h", "127.0.0.232", routes={
        "/": page('<title>Held</title><a href="/a/held">held</a><a href="/a/free">free</a>'),
        "/a/held": log.route("<p>held</p>", hold=hold, arrived=arrived),
        "/a/free": log.route("<p>free</p>")})])
    ws = tmp_path / "ws"
    capture = start("-w", str(ws), "capture", site.url("h", "/"), "--queue", queue, "--json", cwd=tmp_path)
    queued(queue, tmp_path)
    victim = start("worker", "--queue", queue, "--lease", LEASE, "--threads", "1", cwd=tmp_path)
    try:
        assert arrived.wait(60), "the first worker never asked for /a/held"
        pool = json.loads(run("workers", "--queue", queue, "--json", cwd=tmp_path).stdout)
        assert [w["urls"] for w in pool["workers"].values()] == [[site.url("h", "/a/held")]]
        assert pool["captures"][0]["leased"] >= 1 and all(n <= 2 for n in pool["in_flight_per_host"].values()), pool
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(30)
    finally:
        hold.set()
    workers = [start("worker", "--queue", queue, "--once", "--lease", LEASE, "--json", cwd=tmp_path)
               for _ in range(2)]
    code, out, err = finish(capture)
    assert code == 0, err
    assert all(finish(w)[0] == 0 for w in workers)
    assert log.served.count("/a/held") == 2          # asked again once the killed worker's lease expired
    gone = json.loads(run("workers", "--queue", queue, "--json", cwd=tmp_path).stdout)["workers"]
    assert [w["alive"] for w in gone.values()] == [False], gone     # the killed one, its status left behind
    left = [p.name for p in (ws / "archive").glob("*.open")]
    assert len(left) == 1 and "-w1-" in left[0], left          # the killed worker's file, never listed
    assert run("-w", str(ws), "clean", cwd=tmp_path).returncode == 0
    assert not list((ws / "archive").glob("*.open"))
    assert run("-w", str(ws), "verify", cwd=tmp_path).returncode == 0
    said = run("workers", "--queue", queue, cwd=tmp_path)
    assert said.returncode == 0 and "(gone: no sign of life for a lease)" in said.stdout, said.stdout
    data = manifest_of(ws, out)
    urls = [r["url"] for r in data["resources"]]
    assert len(urls) == len(set(urls)) and site.url("h", "/a/held") in urls and site.url("h", "/a/free") in urls
    verified = run("-w", str(ws), "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_queue_errors_are_one_line(tmp_path: Path) -> None:
    for argv, said in ((["workers", "--queue", "http://127.0.0.1/"], "expected redis://HOST:PORT/DB"),
                       (["worker", "--queue", "redis://127.0.0.1:6379/0?prefix=a b"], "prefix must be"),
                       (["workers", "--queue", "redis://127.0.0.1:1/0"], "Redis does not answer"),
                       (["worker", "--queue", "redis://127.0.0.1:6379/0", "--lease", "0"], "--lease must be"),
                       (["worker", "--queue", "redis://127.0.0.1:6379/0", "--threads", "65"], "--threads must be"),
                       (["-w", str(tmp_path / "ws"), "capture", "http://127.0.0.1:9/", "--queue", "redis://127.0.0.1:1/0",
                         "--browser", "--browser-tabs", "17"], "--browser-tabs must be from 1 to 16")):
        proc = run(*argv, cwd=tmp_path)
        assert proc.returncode == 2 and said in proc.stderr and len(proc.stderr.splitlines()) == 1, (argv, proc.stderr)
    assert not (tmp_path / "ws").exists()


def test_a_frontier_entry_that_is_not_archivers_stops_the_worker_in_one_line(queue: str, tmp_path: Path) -> None:
    from archiver.core.settings import CaptureOptions
    from archiver.distributed.queue import Queue, parse_queue
    from archiver.distributed.spec import CaptureSpec

    q = Queue(parse_queue(queue))
    spec = CaptureSpec("20990101T000000Z-000001", str(tmp_path / "ws"), ("http://127.0.0.233/",), CaptureOptions())
    q.open_capture(spec.capture_id, spec.data())
    entry = {"url": "http://127.0.0.233/", "role": "boss", "depth": 0, "via": None, "hops": 0, "host": "127.0.0.233:80"}
    assert q.add(spec.capture_id, "http://127.0.0.233/", entry, 10, {}) == 1
    proc = run("worker", "--queue", queue, "--once", cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "frontier entry this archiver cannot read" in proc.stderr and "'boss' is not a valid Role" in proc.stderr
    assert not (tmp_path / "ws").exists()
