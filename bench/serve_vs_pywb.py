"""Benchmark: ``archiver serve``'s TimeGate, CDX API and id_ replay against pywb on the same WARC files.

The data: ``--captures`` captures (default 1,000) of ``--per-capture`` URLs each (default 1,000), so
1,000,000 mementos, spread over seven years and over ``--urls`` URLs (default 100,000) on ``--hosts``
hosts (default 1,000); a URL's share of the captures follows a log-normal spread. Each memento is a
small real ``response`` record (an HTTP head and a body of about 100 bytes) written with archiver's
own writer (``warc.writer.write_record``, one gzip member each) into one WARC file per capture. Each
capture is then sealed through the normal API (``build_manifest``, ``seal``: manifest, checksum list,
chain, witness) and added to the index as a capture adds it (``index_sealed``). One more capture
holds a single 5 MB response (incompressible bytes) for the replay timing.

pywb reads the same WARC files (its config's ``archive_paths`` is the workspace's ``archive/``)
through a CDXJ index of them, written while the records are written and sorted by byte value
(``LC_ALL=C sort``); the script checks that pywb's own indexer (``cdxj-indexer``) gives the same
lines for the first WARC file. pywb runs with ``redirect_to_exact`` so that its TimeGate redirects,
as ours does (it loads the record before it redirects: that is how pywb answers a TimeGate).

Both servers run as child processes on loopback: ``archiver serve``'s server (``serve.app.run_server``,
one process, uvicorn) and ``wayback`` (gevent). Before timing, each kind of query is asked of both
for 200 URLs and must give the same answer (TimeGate target; CDX JSON rows, pywb's own fields
aside; id_ bytes, whose sha256 must be the manifest's payload_sha256).

Load: ``wrk`` (Debian's package; else Python threads with keep-alive connections) with
``--clients`` connections (default 16) for ``--duration`` seconds per figure after a warm-up, each
request a random present URL:

- TimeGate: ``GET /archive/<url>`` with a random ``Accept-Datetime`` within the seven years;
- CDX: ``GET /archive/cdx?url=<url>&output=json`` (every capture of the URL);
- CDX closest: ``GET /archive/cdx?url=<url>&closest=<ts>&limit=1&output=json``.

Then the time to first byte of ``GET /archive/<ts>id_/<url>`` of the 5 MB record, and to its last
byte, ``--replays`` times each on a kept-alive connection, one request at a time.

Before the load, 200 CDX requests are sent one after another on one connection to each server: a
median near 40 ms means responses wait for the client's delayed ACK (a server socket without
TCP_NODELAY writing head and body apart). ``--nodelay`` starts archiver's server with TCP_NODELAY set
on its connections (the fix proposed for ``serve.app._listen``, patched into that module only).

Targets: ahead of pywb on every figure; TimeGate p99 under 50 ms.

Run:  /tmp/venv/bin/python bench/serve_vs_pywb.py [--captures 1000] [--per-capture 1000] [--urls 100000]
          [--hosts 1000] [--clients 16] [--duration 10] [--replays 30] [--nodelay] [--threads]
          [--workdir DIR] [--reuse] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from archiver.core.capture_options import CaptureOptions
from archiver.core.models import ArchivedResource, CaptureResult, Role
from archiver.core.settings import Operator
from archiver.core.workspace import Workspace, new_capture_id
from archiver.fixity.manifest import build_manifest
from archiver.fixity.seal import seal
from archiver.index.store import Index, index_sealed
from archiver.warc.writer import WarcFileWriter, new_record_id, warc_date, write_record

SEED = 20261130
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=7 * 365)
BIG_URL = "https://media.bench.example/briefing-5mb.bin"
BIG = 5 * 2**20
WORDS = ["news", "world", "politics", "report", "archive", "story", "article", "press", "release", "data"]
KINDS = {"html": "text/html; charset=utf-8", "css": "text/css", "png": "image/png", "js": "text/javascript"}
CHECKED = 200
TARGET_P99_MS = 50.0
BIN = Path(sys.executable).parent


# --------------------------------------------------------------------------- the plan


@dataclass(slots=True)
class Plan:
    urls: list[str]
    picks: list[list[int]]          # per capture: the URLs it archives
    started: list[datetime]


def make_plan(captures: int, per_capture: int, url_count: int, hosts: int) -> Plan:
    rng = random.Random(SEED)
    names = [f"https://{rng.choice(['', 'www.'])}{rng.choice(WORDS)}{h}.{rng.choice(WORDS)}.example" for h in range(hosts)]
    urls = []
    for n in range(url_count):
        kind = rng.choices(list(KINDS), [60, 10, 20, 10])[0]
        path = f"/{rng.choice(WORDS)}/{n}.{kind}" if rng.random() < 0.8 else f"/{rng.choice(WORDS)}/view?id={n}"
        urls.append(names[n % hosts] + path)
    weights = [rng.lognormvariate(0.0, 1.0) for _ in range(url_count)]
    cumulative, total = [], 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    picks = []
    for _ in range(captures):
        chosen: set[int] = set()
        while len(chosen) < per_capture:
            chosen.update(rng.choices(range(url_count), cum_weights=cumulative, k=per_capture - len(chosen)))
        picks.append(sorted(chosen))
    offsets = sorted(rng.random() for _ in range(captures))
    started = [EPOCH + SPAN * f + timedelta(microseconds=rng.randrange(10**6)) for f in offsets]
    return Plan(urls, picks, started)


# --------------------------------------------------------------------------- the data


def response_block(url: str, when: datetime, body: bytes, mime: str) -> tuple[bytes, bytes]:
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: {mime}\r\nContent-Length: {len(body)}\r\n"
            f"Date: {format_datetime(when, usegmt=True)}\r\nServer: bench\r\n\r\n").encode()
    return head, body


def write_capture(ws: Workspace, started: datetime, items: list[tuple[str, bytes, str]], level: int,
                  witness: Path) -> list[str]:
    """One capture of ``items`` (url, body, content type), sealed and indexed; its CDXJ lines."""
    import surt as surt_package  # pywb's canonicaliser: the keys pywb looks up

    capture_id = new_capture_id(started, token=hashlib.sha256(started.isoformat().encode()).hexdigest()[:6])
    path = ws.warc_path(capture_id)
    writer = WarcFileWriter(path, {"software": "bench/serve_vs_pywb", "isPartOf": capture_id}, started, level)
    fragment = io.BytesIO()
    placed = []
    for i, (url, body, mime) in enumerate(items):
        when = started + timedelta(milliseconds=i)
        head, body = response_block(url, when, body, mime)
        block = head + body
        record_id, digest = new_record_id(), hashlib.sha256(body).hexdigest()
        headers = [("WARC-Type", "response"), ("WARC-Record-ID", record_id), ("WARC-Date", warc_date(when)),
                   ("WARC-Target-URI", url), ("WARC-Block-Digest", f"sha256:{hashlib.sha256(block).hexdigest()}"),
                   ("WARC-Payload-Digest", f"sha256:{digest}"), ("Content-Type", "application/http; msgtype=response")]
        start = fragment.tell()
        length = write_record(fragment, headers, [block], len(block), level)
        placed.append((url, when, record_id, digest, len(body), mime, start, length))
    base = writer.append(fragment)
    relative = ws.relative(path)
    warc = writer.finish(relative)
    resources, lines = [], []
    for url, when, record_id, digest, size, mime, start, length in placed:
        resources.append(ArchivedResource(
            url=url, role=Role.SEED if not resources else Role.SOURCE, via=None, depth=0, status=200,
            content_type=mime, payload_sha256=digest, payload_bytes=size, warc=relative, offset=base + start,
            length=length, record_id=record_id, request_record_id=None, date=warc_date(when), remote_address=None,
            warc_payload_digest=f"sha256:{digest}"))
        fields = {"url": url, "mime": mime.split(";")[0], "status": "200", "digest": f"sha256:{digest}",
                  "length": str(length), "offset": str(base + start), "filename": path.name}
        lines.append(f"{surt_package.surt(url)} {when.strftime('%Y%m%d%H%M%S')} {json.dumps(fields)}\n")
    result = CaptureResult(capture_id, ws.relative(ws.manifest_path(capture_id)), (items[0][0],), (warc,),
                           tuple(resources), (), (), ())
    manifest = build_manifest(result, started=started, ended=started + timedelta(minutes=5),
                              options=CaptureOptions(), operator=Operator("bench"), redacted=[])
    sealed = seal(ws, manifest, witness_file=witness)
    index_sealed(ws, sealed.document)
    return lines


def body_of(url: str, k: int) -> bytes:
    return f"<!doctype html><title>{url}</title><p>capture {k}</p>".encode()


def build(ws: Workspace, pywb_dir: Path, plan: Plan, witness: Path) -> dict[str, float]:
    level = CaptureOptions().compress_level
    ws.ensure()
    lines: list[str] = []
    t0 = time.perf_counter()
    for k, (started, picks) in enumerate(zip(plan.started, plan.picks)):
        items = [(plan.urls[u], body_of(plan.urls[u], k), KINDS[plan.urls[u].rsplit(".", 1)[-1]]
                  if "view?" not in plan.urls[u] else KINDS["html"]) for u in picks]
        lines += write_capture(ws, started, items, level, witness)
        if k % 100 == 99:
            print(f"  {k + 1} captures sealed ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    big = random.Random(SEED + 5).randbytes(BIG)
    lines += write_capture(ws, plan.started[-1] + timedelta(days=1), [(BIG_URL, big, "application/octet-stream")],
                           level, witness)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    encoded = sorted(line.encode() for line in lines)         # bytes order: LC_ALL=C sort
    pywb_dir.mkdir(parents=True, exist_ok=True)
    with open(pywb_dir / "index.cdxj", "wb") as fh:
        fh.writelines(encoded)
    (pywb_dir / "config.yaml").write_text(
        f"collections:\n  archive:\n    index: {pywb_dir / 'index.cdxj'}\n    archive_paths: {ws.archive_dir}/\n"
        "redirect_to_exact: true\nenable_memento: true\n")
    return {"write_seal_index_s": built, "cdxj_s": time.perf_counter() - t0}


def check_cdxj(ws: Workspace, pywb_dir: Path) -> int:
    """pywb's own indexer gives, for the first WARC file, the lines this script wrote for it."""
    first = sorted(ws.archive_dir.glob("*.warc.gz"))[0]
    done = subprocess.run([str(BIN / "cdxj-indexer"), str(first)], capture_output=True, text=True, check=True)
    theirs = sorted(line for line in done.stdout.splitlines() if line and not line.startswith("!"))
    ours = sorted(line for line in (pywb_dir / "index.cdxj").read_text().splitlines() if first.name in line)
    assert theirs == ours, (theirs[:2], ours[:2])
    return len(ours)


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


LAUNCH = """
import socket, sys, types
from pathlib import Path
import archiver.serve.app as app
from archiver.core.settings import load_settings
from archiver.core.workspace import Workspace
ws, port, replay, ready = Workspace(Path(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
if sys.argv[5] == "nodelay":
    # app._listen's sockets are made with proto 0, so asyncio does not set TCP_NODELAY on the
    # connections (it checks proto == IPPROTO_TCP): a response written as head then body waits for
    # the client's delayed ACK (40 ms). The fix proposed for app._listen, applied to app only:
    class TcpSocket(socket.socket):
        def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
            tcp = fileno is None and type == socket.SOCK_STREAM and proto in (-1, 0)
            super().__init__(family, type, socket.IPPROTO_TCP if tcp else proto, fileno)
    app.socket = types.SimpleNamespace(**{**vars(socket), "socket": TcpSocket})
ctx = app.make_context(ws, load_settings(ws.root), host="127.0.0.1", port=port, replay_port=replay,
                       public_url=None, token=None)
app.run_server(ctx, host="127.0.0.1", port=port, replay_port=replay, ready=ready)
"""


@contextmanager
def child(argv: list[str], cwd: Path, ready: Any, name: str) -> Iterator[subprocess.Popen[bytes]]:
    log = open(cwd / f"{name}.log", "wb")
    proc = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not ready():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start:\n{(cwd / f'{name}.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def answers(base: str) -> bool:
    try:
        status(base)
        return True
    except OSError:
        return False


def status(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    host, _, path = url.removeprefix("http://").partition("/")
    conn = http.client.HTTPConnection(host, timeout=60)
    try:
        conn.request("GET", "/" + path, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


# --------------------------------------------------------------------------- load


@dataclass(frozen=True, slots=True)
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


WRK_SCRIPT = """
local lines = {}
local n = 0
local i = 0
init = function(args)
  for line in io.lines(args[1]) do n = n + 1; lines[n] = line end
  i = math.random(n)
end
request = function()
  i = i % n + 1
  local path, date = lines[i]:match("([^\\t]*)\\t?(.*)")
  local headers = {}
  if date ~= "" then headers["Accept-Datetime"] = date end
  return wrk.format("GET", path, headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, '
    .. '"status_errors": %d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def load_wrk(base: str, requests: list[tuple[str, str]], clients: int, duration: float, work: Path) -> Figures:
    listing = work / "requests.txt"
    listing.write_text("".join(f"{path}\t{date}\n" for path, date in requests))
    script = work / "requests.lua"
    script.write_text(WRK_SCRIPT)
    argv = ["wrk", "-t", str(min(clients, os.cpu_count() or 2)), "-c", str(clients), "-d", f"{duration:g}s",
            "--timeout", "10s", "-s", str(script), base, "--", str(listing)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Figures(data["requests"] / (data["duration_us"] / 1e6), data["p50_us"] / 1000, data["p99_us"] / 1000,
                   data["requests"], data["errors"] + data["status_errors"])


def load_threads(base: str, requests: list[tuple[str, str]], clients: int, duration: float, work: Path) -> Figures:
    host = base.removeprefix("http://")
    stop = time.monotonic() + duration
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def run(offset: int) -> None:
        conn = http.client.HTTPConnection(host, timeout=30)
        mine, i = [], offset
        while time.monotonic() < stop:
            path, date = requests[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Accept-Datetime": date} if date else {})
            reply = conn.getresponse()
            reply.read()
            mine.append(time.perf_counter() - t0)
            if reply.status >= 400:
                with lock:
                    errors[0] += 1
        with lock:
            times.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(k * 7919,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    times.sort()
    return Figures(len(times) / wall, percentile(times, 0.5) * 1000, percentile(times, 0.99) * 1000, len(times),
                   errors[0])


def sequential(base: str, requests: list[tuple[str, str]]) -> float:
    """Median ms of requests sent one after another on one kept-alive connection."""
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=60)
    times = []
    for path, _ in requests:
        t0 = time.perf_counter()
        conn.request("GET", path)
        conn.getresponse().read()
        times.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return statistics.median(times)


def percentile(values: Sequence[float], q: float) -> float:
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def replay_times(url: str, runs: int) -> tuple[list[float], list[float], str]:
    """(ms to the first body byte, ms to the last, sha256 of the body) on one kept-alive connection."""
    host, _, path = url.removeprefix("http://").partition("/")
    conn = http.client.HTTPConnection(host, timeout=60)
    first, last, digest = [], [], ""
    for n in range(runs + 2):
        t0 = time.perf_counter()
        conn.request("GET", "/" + path, headers={"Accept-Encoding": "identity"})
        reply = conn.getresponse()
        h = hashlib.sha256(reply.read(1))
        t1 = time.perf_counter()
        while block := reply.read(1 << 20):
            h.update(block)
        t2 = time.perf_counter()
        if n >= 2:                          # two untimed warm-up runs
            first.append((t1 - t0) * 1000)
            last.append((t2 - t0) * 1000)
        digest = h.hexdigest()
    conn.close()
    return first, last, digest


# --------------------------------------------------------------------------- the run


def cdx_rows(text: bytes) -> list[dict[str, str]]:
    rows = [json.loads(line) for line in text.decode().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("source", "source-coll", "access")} for row in rows]


def check_answers(ours: str, theirs: str, sample: list[tuple[str, str]], big: tuple[str, str]) -> int:
    """Both servers give the same TimeGate target and CDX rows for ``sample``, and the same id_ bytes."""
    for url, date in sample:
        mine = status(f"{ours}/archive/{url}", {"Accept-Datetime": date})
        pywb = status(f"{theirs}/archive/{url}", {"Accept-Datetime": date})
        assert (mine[0], pywb[0]) == (302, 307), (url, mine[0], pywb[0])
        assert mine[1]["location"].removeprefix(ours) == pywb[1]["location"].removeprefix(theirs), url
        query = f"/archive/cdx?url={quote(url, safe='')}&output=json"
        mine_rows, pywb_rows = cdx_rows(status(ours + query)[2]), cdx_rows(status(theirs + query)[2])
        assert mine_rows == pywb_rows and mine_rows, url
    path, sha = big
    mine_body, pywb_body = status(ours + path)[2], status(theirs + path)[2]
    assert hashlib.sha256(mine_body).hexdigest() == hashlib.sha256(pywb_body).hexdigest() == sha
    return len(sample)


def requests_for(plan: Plan, rng: random.Random, count: int) -> dict[str, list[tuple[str, str]]]:
    captured = sorted({u for picks in plan.picks for u in picks})
    urls = [plan.urls[rng.choice(captured)] for _ in range(count)]
    moments = [EPOCH + SPAN * rng.random() for _ in range(count)]
    dates = [format_datetime(m.replace(microsecond=0), usegmt=True) for m in moments]
    return {
        "TimeGate (Accept-Datetime)": [(f"/archive/{u}", d) for u, d in zip(urls, dates)],
        "CDX exact URL (output=json)": [(f"/archive/cdx?url={quote(u, safe='')}&output=json", "") for u in urls],
        "CDX closest, limit 1": [(f"/archive/cdx?url={quote(u, safe='')}&closest={m.strftime('%Y%m%d%H%M%S')}"
                                  f"&limit=1&output=json", "") for u, m in zip(urls, moments)],
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    ws, pywb_dir = Workspace(work / "ws"), work / "pywb"
    os.environ["ARCHIVER_STATE_HOME"] = str(work / "state")        # the witness, for this run only
    params = {"captures": args.captures, "per_capture": args.per_capture, "urls": args.urls, "hosts": args.hosts,
              "seed": SEED}
    stamp = work / "bench-params.json"
    result: dict[str, Any] = {"params": params}
    t0 = time.perf_counter()
    plan = make_plan(args.captures, args.per_capture, args.urls, args.hosts)
    result["plan_s"] = time.perf_counter() - t0
    if args.reuse and stamp.exists() and json.loads(stamp.read_text()) == params:
        print(f"reusing the workspace and CDXJ in {work}", file=sys.stderr)
        result["build"] = None
    else:
        stamp.unlink(missing_ok=True)
        for old in (ws.root, pywb_dir, work / "state"):
            shutil.rmtree(old, ignore_errors=True)
        print(f"writing and sealing {args.captures:,} captures of {args.per_capture:,} URLs ...", file=sys.stderr)
        result["build"] = build(ws, pywb_dir, plan, work / "witness")
        stamp.write_text(json.dumps(params))
    with Index.open(ws) as index:
        result["mementos"] = index.db.execute("SELECT count(*) FROM mementos").fetchone()[0]
        big_row = index.timemap(BIG_URL)[-1]
    result["cdxj_lines"] = sum(1 for _ in open(pywb_dir / "index.cdxj", "rb"))
    result["warc_bytes"] = sum(p.stat().st_size for p in ws.archive_dir.glob("*.warc.gz"))
    result["cdxj_checked_lines"] = check_cdxj(ws, pywb_dir)
    assert result["mementos"] == result["cdxj_lines"] == args.captures * args.per_capture + 1

    rng = random.Random(SEED + 9)
    load = load_wrk if shutil.which("wrk") and not args.threads else load_threads
    result["load_tool"] = "wrk" if load is load_wrk else "python threads"
    result["clients"], result["duration"] = args.clients, args.duration
    queries = requests_for(plan, rng, 20_000)
    big_ts = "".join(c for c in big_row.datetime if c.isdigit())[:14]
    big_path = f"/archive/{big_ts}id_/{BIG_URL}"
    port, replay, pywb_port = free_port(), free_port(), free_port()
    ours, theirs = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{pywb_port}"
    ready = work / "ready"
    ready.unlink(missing_ok=True)
    ours_argv = [sys.executable, "-c", LAUNCH, str(ws.root), str(port), str(replay), str(ready),
                 "nodelay" if args.nodelay else "as-is"]
    result["nodelay_patch"] = args.nodelay
    with child(ours_argv, work, ready.exists, "archiver-serve"), \
            child([str(BIN / "wayback"), "-p", str(pywb_port), "-b", "127.0.0.1"], pywb_dir,
                  lambda: answers(theirs + "/"), "wayback"):
        sample = [(p.removeprefix("/archive/"), d) for p, d in queries["TimeGate (Accept-Datetime)"][:CHECKED]]
        result["answers_checked"] = check_answers(ours, theirs, sample, (big_path, big_row.payload_sha256))
        one = queries["CDX exact URL (output=json)"][:200]
        result["sequential_cdx_ms"] = {"archiver": sequential(ours, one), "pywb": sequential(theirs, one)}
        result["loadavg_before"] = os.getloadavg()[0]
        figures: dict[str, dict[str, Any]] = {}
        for name, requests in queries.items():
            figures[name] = {}
            for server, base in (("archiver", ours), ("pywb", theirs)):
                load(base, requests, args.clients, min(3.0, args.duration), work)          # warm-up
                figures[name][server] = _as_dict(load(base, requests, args.clients, args.duration, work))
        result["load"] = figures
        replays = {}
        for server, base in (("archiver", ours), ("pywb", theirs)):
            first, last, digest = replay_times(base + big_path, args.replays)
            assert digest == big_row.payload_sha256, server
            first.sort()
            last.sort()
            replays[server] = {"first_byte_p50_ms": statistics.median(first), "first_byte_p99_ms": percentile(first, .99),
                               "last_byte_p50_ms": statistics.median(last), "runs": len(first)}
        result["replay_5mb"] = replays
        result["loadavg_after"] = os.getloadavg()[0]
    return result


def _as_dict(f: Figures) -> dict[str, Any]:
    return {"rps": f.rps, "p50_ms": f.p50_ms, "p99_ms": f.p99_ms, "requests": f.requests, "errors": f.errors}


def report(r: dict[str, Any]) -> str:
    p = r["params"]
    ok = lambda flag: "MET" if flag else "NOT MET"  # noqa: E731
    lines = [f"data: {r['mementos']:,} mementos ({p['captures']:,} sealed captures of {p['per_capture']:,} URLs, "
             f"{p['urls']:,} URLs on {p['hosts']:,} hosts) + one 5 MB record; "
             f"WARC {r['warc_bytes'] / 1e6:,.0f} MB; pywb CDXJ {r['cdxj_lines']:,} lines "
             f"({r['cdxj_checked_lines']:,} checked against cdxj-indexer)"]
    if r["build"]:
        lines.append(f"  built in {r['build']['write_seal_index_s']:.0f} s (write, seal, index) "
                     f"+ {r['build']['cdxj_s']:.0f} s (CDXJ)")
    seq = r["sequential_cdx_ms"]
    lines += [f"  same answers from both for {r['answers_checked']} URLs (TimeGate target, CDX rows, id_ bytes)",
              f"  one client, CDX requests one after another: median {seq['archiver']:.2f} ms (archiver"
              f"{', TCP_NODELAY patched in' if r['nodelay_patch'] else ''}), {seq['pywb']:.2f} ms (pywb)"
              + ("; over 30 ms: the response waits for the client's delayed ACK (no TCP_NODELAY)"
                 if seq["archiver"] > 30 else ""),
              f"  load: {r['load_tool']}, {r['clients']} concurrent clients, {r['duration']:g} s per figure; "
              "1-minute load average "
              f"{r['loadavg_before']:.2f} before, {r['loadavg_after']:.2f} after "
              f"({os.cpu_count()} CPUs shared by client and server)", "",
              f"{'':30} {'archiver':>30}   {'pywb':>30}",
              f"{'':30} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9}   {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9}"]
    targets = []
    for name, both in r["load"].items():
        a, b = both["archiver"], both["pywb"]
        lines.append(f"{name:30} {a['rps']:10,.0f} {a['p50_ms']:9.2f} {a['p99_ms']:9.2f}   "
                     f"{b['rps']:10,.0f} {b['p50_ms']:9.2f} {b['p99_ms']:9.2f}")
        assert a["errors"] == 0 and b["errors"] == 0, (name, a, b)
        targets.append((f"{name}: ahead of pywb (req/s, p50, p99)",
                        a["rps"] > b["rps"] and a["p50_ms"] < b["p50_ms"] and a["p99_ms"] < b["p99_ms"]))
    tg = r["load"]["TimeGate (Accept-Datetime)"]["archiver"]
    targets.append((f"TimeGate p99 {tg['p99_ms']:.1f} ms < {TARGET_P99_MS:g} ms", tg["p99_ms"] < TARGET_P99_MS))
    a, b = r["replay_5mb"]["archiver"], r["replay_5mb"]["pywb"]
    lines += ["", f"id_ replay of the 5 MB record ({a['runs']} runs, one at a time):",
              f"  {'time to first byte, median':36} {a['first_byte_p50_ms']:9.2f} ms   {b['first_byte_p50_ms']:9.2f} ms",
              f"  {'time to first byte, p99':36} {a['first_byte_p99_ms']:9.2f} ms   {b['first_byte_p99_ms']:9.2f} ms",
              f"  {'time to last byte, median':36} {a['last_byte_p50_ms']:9.2f} ms   {b['last_byte_p50_ms']:9.2f} ms"]
    targets.append(("id_ time to first byte: ahead of pywb (median)", a["first_byte_p50_ms"] < b["first_byte_p50_ms"]))
    lines += ["", "targets:"] + [f"  {name}: {ok(flag)}" for name, flag in targets]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Compare archiver serve's TimeGate, CDX API and id_ replay with pywb's.")
    p.add_argument("--captures", type=int, default=1_000, help="sealed captures to write")
    p.add_argument("--per-capture", type=int, default=1_000, help="URLs (mementos) per capture")
    p.add_argument("--urls", type=int, default=100_000, help="distinct URLs the captures draw from")
    p.add_argument("--hosts", type=int, default=1_000, help="hosts the URLs are spread over")
    p.add_argument("--clients", type=int, default=16, help="concurrent connections")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of load per figure")
    p.add_argument("--replays", type=int, default=30, help="timed id_ replays of the 5 MB record per server")
    p.add_argument("--nodelay", action="store_true",
                   help="start archiver's server with TCP_NODELAY on its connections (the fix proposed for "
                        "serve.app._listen), to measure the server without the 40 ms delayed-ACK stall")
    p.add_argument("--threads", action="store_true", help="load with Python threads even when wrk is installed")
    p.add_argument("--workdir", type=Path, help="build here and keep the files (default: a temporary folder)")
    p.add_argument("--reuse", action="store_true", help="with --workdir: time the data of an earlier run")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args(argv)
    if args.reuse and not args.workdir:
        p.error("--reuse needs --workdir")
    if args.per_capture > args.urls:
        p.error("--per-capture cannot exceed --urls")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = run(args, args.workdir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
            result = run(args, Path(tmp))
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
