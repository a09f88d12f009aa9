"""Redis restarting mid-capture (issue #19): each test starts its own ``redis-server`` on a spare
loopback port with its data in the test's folder, SIGKILLs it while a worker holds a URL, and starts
it again on the same port and folder. With ``appendonly yes`` the capture completes, every URL
archived once, and verifies; without persistence, or past ``--outage-limit``, one line and the
exit code for it, never a traceback and never a capture sealed half."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import need
from test_distributed import InFlight, finish, launched, page, queued, run

from archiver.demo.server import Host


class OwnRedis:
    """A redis-server of the test's own: killed and started again on the same port and folder."""

    def __init__(self, folder: Path, *config: str) -> None:
        self.folder, self.config = folder, config
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--dir", str(self.folder), "--daemonize", "no", *self.config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            if self.answers():
                return
            time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not start")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)


AOF = ("--appendonly", "yes", "--appendfsync", "everysec", "--save", "")   # docs/distributed.md: why everysec


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[..., OwnRedis]]:
    need("redis-server", shutil.which("redis-server"), "apt-get install -y redis-server")
    try:
        import redis  # noqa: F401
    except ImportError:
        need("redis-py", None, "pip install '.[distributed]'")
    started: list[OwnRedis] = []

    def make(*config: str) -> OwnRedis:
        server = OwnRedis(tmp_path / f"redis-{len(started)}", *config)
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.kill()


@pytest.fixture
def start() -> Iterator[Callable[..., subprocess.Popen]]:
    """As test_distributed's, for a Redis of the test's own (its keys go with it)."""
    with launched() as launch:
        yield launch


def test_redis_killed_and_restarted_mid_capture_the_capture_completes(serve, own_redis, start, tmp_path: Path) -> None:
    server = own_redis(*AOF)
    log = InFlight()
    hold, arrived = threading.Event(), threading.Event()
    pages = {f"/a/p{n}": log.route(f'<title>p{n}</title><img src="/a/i{n}.png"><p>page {n}</p>') for n in range(6)}
    images = {f"/a/i{n}.png": log.route("img") for n in range(6)}
    links = "".join(f'<a href="/a/p{n}">{n}</a>' for n in range(6))
    site = serve([Host("h", "127.0.0.234", routes={
        "/": page(f'<title>Index</title>{links}<a href="/a/held">held</a>'),
        "/a/held": log.route("<p>held</p>", hold=hold, arrived=arrived), **pages, **images})])
    ws = tmp_path / "ws"
    capture = start("-w", str(ws), "capture", site.url("h", "/"), "--queue", server.url, "--json", cwd=tmp_path)
    queued(server.url, tmp_path)
    workers = [start("worker", "--queue", server.url, "--once", "--lease", "20", "--json", cwd=tmp_path)
               for _ in range(2)]
    try:
        assert arrived.wait(60), "no worker asked for /a/held"
        server.kill()                       # mid-capture: a worker holds /a/held, the others poll
        time.sleep(1.5)
        server.start()                      # same port, same folder: it reloads its append-only file
    finally:
        hold.set()
    code, out, err = finish(capture)
    assert code == 0, err
    done = [finish(w) for w in workers]
    assert all(c == 0 for c, _, _ in done), done
    said = [e for _, _, e in done] + [err]
    assert not any("Traceback" in e for e in said), said
    assert not any("warning" in e for e in said), said                  # AOF on: nothing to warn about
    assert any(e.count("Redis does not answer") == 1 and e.count("Redis answers again") == 1 for e in said), said
    assert sum(json.loads(o)["archived"] for _, o, _ in done) == 14     # index, held, 6 pages, 6 images

    data = yaml.safe_load((ws / json.loads(out)["manifest"]).read_text())
    urls = [r["url"] for r in data["resources"] if r["role"] != "robots"]
    assert len(urls) == len(set(urls)) == 14, urls
    assert site.url("h", "/a/held") in urls
    assert sorted(log.served) == sorted(set(log.served)) and len(log.served) == 13    # each asked once
    verified = run("-w", str(ws), "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_past_the_outage_limit_one_line_and_exit_69_nothing_sealed(serve, own_redis, start, tmp_path: Path) -> None:
    server = own_redis("--appendonly", "no", "--save", "")
    hold, arrived = threading.Event(), threading.Event()
    log = InFlight()
    site = serve([Host("h", "127.0.0.235", routes={"/": log.route("<p>held</p>", hold=hold, arrived=arrived)})])
    ws = tmp_path / "ws"
    capture = start("-w", str(ws), "capture", site.url("h", "/"), "--queue", server.url, "--outage-limit", "1",
                    cwd=tmp_path)
    queued(server.url, tmp_path)
    worker = start("worker", "--queue", server.url, "--outage-limit", "1", "--lease", "20", cwd=tmp_path)
    try:
        assert arrived.wait(60)
        server.kill()                       # and never started again
    finally:
        hold.set()
    for proc in (capture, worker):
        code, _, err = finish(proc)
        lines = err.splitlines()
        assert code == 69, (code, err)
        assert "Traceback" not in err and "past --outage-limit 1" in lines[-1], err
        assert sum("Redis does not answer" in line for line in lines) == 1, err
    assert not list(ws.glob("manifests/*.yaml"))          # nothing sealed


def test_a_redis_that_persists_nothing_is_named_in_one_line(own_redis, tmp_path: Path) -> None:
    for config, said in ((("--appendonly", "no", "--save", ""), "persists nothing"),
                         (("--appendonly", "no", "--save", "3600 1"), "keeps only snapshots"),
                         (("--appendonly", "no", "--rename-command", "CONFIG", ""), "cannot tell"),
                         (AOF, None)):
        server = own_redis(*config)
        shown = run("workers", "--queue", server.url, "--json", cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        warning = json.loads(shown.stdout)["persistence_warning"]
        if said is None:
            assert warning is None and shown.stderr == "", shown.stderr
        else:
            assert said in warning and shown.stderr.count("\n") == 1 and said in shown.stderr, shown.stderr
        server.kill()


def test_a_bad_outage_limit_is_refused_in_one_line(tmp_path: Path) -> None:
    for argv in (["worker", "--queue", "redis://127.0.0.1:9/0", "--outage-limit", "-1"],
                 ["-w", str(tmp_path / "ws"), "capture", "http://127.0.0.1:9/", "--queue", "redis://127.0.0.1:9/0",
                  "--outage-limit", "1e9"]):
        proc = run(*argv, cwd=tmp_path)
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
        assert "--outage-limit must be from 0 to 604800 seconds" in proc.stderr, proc.stderr
    assert not (tmp_path / "ws").exists()


def test_an_outage_longer_than_the_leases_still_lists_each_url_once(serve, own_redis, start, tmp_path: Path) -> None:
    """The leases run out while Redis is down (they are times on its clock, kept in its AOF): after
    the restart a URL may be claimed again and fetched twice, but its first worker's report is then
    refused, so the manifest lists it once and the capture verifies."""
    server = own_redis(*AOF)
    log = InFlight()
    hold, arrived = threading.Event(), threading.Event()
    site = serve([Host("h", "127.0.0.237", routes={
        "/": page('<title>Index</title><a href="/a/held">held</a><a href="/a/free">free</a>'),
        "/a/held": log.route("<p>held</p>", hold=hold, arrived=arrived), "/a/free": log.route("<p>free</p>")})])
    ws = tmp_path / "ws"
    capture = start("-w", str(ws), "capture", site.url("h", "/"), "--queue", server.url, "--json", cwd=tmp_path)
    queued(server.url, tmp_path)
    workers = [start("worker", "--queue", server.url, "--once", "--lease", "2", "--json", cwd=tmp_path)
               for _ in range(2)]
    try:
        assert arrived.wait(60), "no worker asked for /a/held"
        server.kill()
        time.sleep(5)                       # two and a half leases
        server.start()
    finally:
        hold.set()
    code, out, err = finish(capture)
    assert code == 0, err
    done = [finish(w) for w in workers]
    assert all(c == 0 for c, _, _ in done), done
    assert not any("Traceback" in e for _, _, e in done), done
    data = yaml.safe_load((ws / json.loads(out)["manifest"]).read_text())
    urls = [r["url"] for r in data["resources"] if r["role"] != "robots"]
    assert sorted(urls) == sorted({site.url("h", p) for p in ("/", "/a/held", "/a/free")}), urls
    assert log.served.count("/a/held") >= 1, log.served      # twice when the claim came before the renewal
    verified = run("-w", str(ws), "verify", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
