"""Pages read in other processes (capturing/page_work.py) archive what pages read in the capture's
own threads do: one loopback site captured with the pool forced on and forced off gives the same
WARC records (headers but dates and ids, blocks) and the same manifest (but times, ids, offsets)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from warc_reading import read_records

from archiver.capturing.page_work import PagePool
from archiver.capturing.run import capture
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response

HTML = [("Content-Type", "text/html; charset=utf-8")]
SAID = "The harbour contract was signed on the second of March by the council's own committee."
ID_HEADERS = {"WARC-Date", "WARC-Record-ID", "WARC-Concurrent-To", "WARC-Refers-To", "WARC-Warcinfo-ID",
              "WARC-Filename", "WARC-Block-Digest", "Content-Length"}
VARYING = {"capture_id", "started", "ended", "date", "record_id", "request_record_id", "offset", "length", "warc",
           "warc_files", "warc_bytes"}


def _page(n: int, host: str) -> bytes:
    body = f"<p>{SAID} Page {n} says more about it, in words of its own.</p>" * (3 if n == 2 else 1)
    return (f"<!doctype html><html lang=en><head><title>Page {n}</title>"
            f"<meta name=citation_title content='Source number {n}'><meta name=author content='Ada Writer'>"
            f"<link rel=stylesheet href='/p{n}.css'></head><body><article><h1>Source {n}</h1>{body}"
            f"<p>{'Another sentence of the source, long enough to be text. ' * 8}</p>"
            f"<img src='/p{n}.png'><a href='http://{host}/p{(n + 1) % 6}.html'>next</a></article></body></html>").encode()


def _site(serve: Any) -> list[str]:
    hosts = [Host("a", "127.0.0.211"), Host("b", "127.0.0.212")]
    site = serve(hosts)
    names = [site.url(h.name, "")[len("http://"):].rstrip("/") for h in hosts]
    links = "".join(f"<li><a href='http://{names[n % 2]}/p{n}.html'>source {n}</a></li>" for n in range(6))
    hosts[0].routes["/"] = Response(200, HTML, (f"<!doctype html><html><head><title>The article</title></head><body>"
                                                f"<article><h1>The article</h1><p>{SAID}</p><ul>{links}"
                                                f"<li><a href='/gone.html'>gone</a></li>"
                                                f"<li><a href='/moved'>moved</a></li></ul></article></body></html>")
                                    .encode())
    hosts[0].routes["/moved"] = Response(301, [("Location", f"http://{names[1]}/p1.html")], b"")
    for n in range(6):
        host = hosts[n % 2]
        host.routes[f"/p{n}.html"] = Response(200, HTML, _page(n, names[n % 2]))
        host.routes[f"/p{n}.css"] = Response(200, [("Content-Type", "text/css")],
                                             f"body {{ background: url('/bg{n}.png') }}".encode())
        host.routes[f"/p{n}.png"] = Response(200, [("Content-Type", "image/png")], bytes([n]) * 500)
        host.routes[f"/bg{n}.png"] = Response(200, [("Content-Type", "image/png")], bytes([n, 1]) * 300)
    return [site.url("a", "/")]


def _records(ws: Path, capture_id: str) -> list[tuple[Any, ...]]:
    [warc] = (ws / "archive").glob("*.warc.gz")
    out = []
    for rec in read_records(warc):
        headers = {k: v for k, v in rec.headers.items() if k not in ID_HEADERS}
        http = [(k, v) for k, v in rec.http_headers if k != "Date"]        # the server's clock
        block = re.sub(rb"\r\nDate: [^\r]*", b"", rec.block.replace(capture_id.encode(), b"ID"))
        out.append((rec.type, headers, rec.http_status, http, block))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in VARYING}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _capture(serve_seeds: list[str], root: Path, pool: PagePool) -> tuple[list[tuple[Any, ...]], Any]:
    ws = Workspace(root)
    # one exchange at a time: the records' order, and so the manifest's, is the same in both runs
    options = CaptureOptions(concurrency=1, per_host=1)
    result = capture(serve_seeds, ws, options, pages=pool)
    manifest = yaml.safe_load((root / result.manifest_path).read_text())
    return _records(root, result.capture_id), _plain(manifest)


def test_pages_read_in_a_process_archive_the_same(serve: Any, tmp_path: Path) -> None:
    seeds = _site(serve)
    pool = PagePool(1)
    records_on, manifest_on = _capture(seeds, tmp_path / "on", pool)
    records_off, manifest_off = _capture(seeds, tmp_path / "off", PagePool(0))

    assert pool.pages_read == 7                 # the article and its 6 sources, all read by the process
    assert pool.up and all(p.popen.returncode is not None for p in pool._all)   # and none left running
    assert [r[:2] for r in records_on] == [r[:2] for r in records_off]
    assert records_on == records_off
    assert manifest_on == manifest_off
    # what went through the process is there: links followed, metadata, main text, the repeats
    urls = [r["url"] for r in manifest_on["resources"]]
    assert sum(u.endswith(".html") for u in urls) == 7 and sum("/bg" in u for u in urls) == 6
    page2 = next(r for r in manifest_on["resources"] if r["url"].endswith("/p2.html"))
    assert page2["metadata"]["title"]["value"] == "Source number 2" and page2["text"]["chars"] > 300
    assert [f["flag"] for f in manifest_on["flags"]] == ["repeated-paragraphs"]
    conversions = [r for r in records_on if r[0] == "conversion"]
    assert len(conversions) == 7 and SAID.encode() in conversions[0][4]


def test_a_pool_whose_process_dies_leaves_the_pages_to_the_capture(serve: Any, tmp_path: Path) -> None:
    seeds = _site(serve)
    pool = PagePool(1)
    pool.start(wait=True)
    [process] = pool._all
    process.popen.kill()
    process.popen.wait()
    _, manifest = _capture(seeds, tmp_path / "dead", pool)
    _, manifest_off = _capture(seeds, tmp_path / "off", PagePool(0))
    assert pool.pages_read == 0
    assert manifest == manifest_off


def test_the_pool_process_is_a_plain_child_in_a_session_of_its_own() -> None:
    pool = PagePool(1)
    pool.start(wait=True)
    try:
        [process] = pool._all
        assert os.getsid(process.popen.pid) == process.popen.pid     # Ctrl-C at a terminal reaches the capture alone
        cmdline = Path(f"/proc/{process.popen.pid}/cmdline").read_bytes().split(b"\0")
        assert re.fullmatch(rb".*python[0-9.]*", cmdline[0]) and cmdline[1:3] == [b"-m", b"archiver.capturing.page_work"]
    finally:
        pool.close()
    assert process.popen.returncode == 0


def _pool_children(pid: int) -> list[int]:
    """The page_work processes ``pid`` started (a child is listed under the thread that started it)."""
    found = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"archiver.capturing.page_work" in cmdline:
                found.append(int(child))
    return found


def test_ctrl_c_stops_a_capture_whose_pool_is_up_and_leaves_no_process(serve: Any, tmp_path: Path) -> None:
    release, entered = threading.Event(), threading.Event()

    def slow(site: Any, path: str) -> Response:
        entered.set()
        release.wait(30)
        return Response(200, HTML, b"<html><body>late</body></html>")

    # pages of ~90 KB (~40 ms each to read): the automatic pool starts once they cost POOL_CPU here
    big = "".join(f"<p>Paragraph {i} of a long source, about the harbour contract and its clauses.</p>"
                  for i in range(1000))
    routes: dict[str, Any] = {f"/p{n}.html": Response(200, HTML, f"<html><body><article><h1>{n}</h1>{big}"
                                                                 f"</article></body></html>".encode())
                              for n in range(40)}
    routes["/p39.html"] = slow
    links = "".join(f"<a href='/p{n}.html'>{n}</a>" for n in range(40))
    routes["/"] = Response(200, HTML, f"<html><body><h1>Forty</h1>{links}</body></html>".encode())
    site = serve([Host("forty", "127.0.0.213", routes=routes)])
    # its own session, signalled as a terminal's Ctrl-C signals: the whole foreground process group
    proc = subprocess.Popen([sys.executable, "-m", "archiver", "-w", str(tmp_path / "ws"), "capture",
                             site.url("forty", "/")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        assert entered.wait(30), "the capture never asked for the slow page"
        pool: list[int] = []
        for _ in range(100):
            pool = _pool_children(proc.pid)
            if pool:
                break
            time.sleep(0.1)
        assert pool, "40 pages of 90 KB, and no page_work process started"
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "archiver: interrupted" and "Traceback" not in stderr, stderr
    assert [pid for pid in pool if Path(f"/proc/{pid}").exists()] == []       # ended, and reaped by the capture
