"""Benchmark: ``archiver serve``'s TimeGate, CDX API and id_ replay against pywb on the same WARC files.

The data: ``--captures`` sealed captures (default 1,000) of ``--per-capture`` URLs (default 1,000):
1,000,000 mementos over seven years, drawn log-normally from ``--urls`` URLs (default 100,000) on
``--hosts`` hosts. Each memento is a small real ``response`` record written with archiver's writer
(``warc.writer.write_record``), one WARC file per capture; each capture is sealed through the normal
API (``build_manifest``, ``seal``) and indexed as a capture is (``index_sealed``). One more capture
holds a 5 MB response (incompressible bytes) for the replay timing.

pywb reads the same WARC files (``archive_paths``) through a CDXJ of them, written with the records
and sorted by byte value; pywb's own ``cdxj-indexer`` must give the same lines for the first file.
pywb runs with ``redirect_to_exact``, so its TimeGate redirects as ours does (it loads the record
first: that is how pywb answers a TimeGate). Both run as child processes on loopback: archiver's
``serve.app.run_server`` (uvicorn, one process) and ``wayback`` (gevent). Before timing, both must
give the same TimeGate target and CDX rows (pywb's own fields aside) for 200 URLs, and the same id_
bytes, whose sha256 is the manifest's payload_sha256.

Load: ``wrk`` (Debian's package), ``--clients`` connections (default 16), ``--duration`` seconds per
figure after a warm-up, each request a random captured URL: a TimeGate (``GET /archive/<url>``, a
random ``Accept-Datetime``), a CDX query of the URL (``output=json``), a CDX query of the memento
closest to a random moment (``closest=<ts>&limit=1``). Then the time to the first and the last byte
of the 5 MB record's ``id_`` replay, ``--replays`` times, one request at a time.

Before the load, 200 CDX requests go one after another on one connection to each server: a median
near 40 ms would mean responses wait for the client's delayed ACK (no TCP_NODELAY on the server's
connections, head and body written apart); ``serve.app._listen`` makes its sockets so that asyncio
sets TCP_NODELAY, and this probe shows it stays so.

Targets: ahead of pywb on every figure; TimeGate p99 under 50 ms.

Run:  /tmp/venv/bin/python bench/serve_vs_pywb.py [--captures 1000] [--per-capture 1000] [--urls 100000]
          [--hosts 1000] [--clients 16] [--duration 10] [--replays 30]
          [--workdir DIR] [--reuse] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import itertools
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
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
    cumulative = list(itertools.accumulate(rng.lognormvariate(0.0, 1.0) for _ in range(url_count)))
    picks = []
    for _ in range(captures):
        chosen: set[int] = set()
        while len(chosen) < per_capture:
            chosen.update(rng.choices(range(url_count), cum_weights=cumulative, k=per_capture - len(chosen)))
        picks.append(sorted(chosen))
    offsets = sorted(rng.random() for _ in range(captures))
    started = [EPOCH + SPAN * f + timedelta(microseconds=rng.randrange(10**6)) for f in offsets]
    return Plan(urls, picks, started)


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
        block = (f"HTTP/1.1 200 OK\r\nContent-Type: {mime}\r\nContent-Length: {len(body)}\r\n"
                 f"Date: {format_datetime(when, usegmt=True)}\r\nServer: bench\r\n\r\n").encode() + body
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


def build(ws: Workspace, pywb_dir: Path, plan: Plan, witness: Path) -> dict[str, float]:
    level = CaptureOptions().compress_level
    ws.ensure()
    lines: list[str] = []
    t0 = time.perf_counter()
    for k, (started, picks) in enumerate(zip(plan.started, plan.picks)):
        items = [(url, f"<!doctype html><title>{url}</title><p>capture {k}</p>".encode(),
                  KINDS["html"] if "view?" in url else KINDS[url.rsplit(".", 1)[-1]])
                 for url in (plan.urls[u] for u in picks)]
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
    (pywb_dir / "index.cdxj").write_bytes(b"".join(encoded))
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


LAUNCH = """
import sys
from pathlib import Path
import archiver.serve.app as app
from archiver.core.settings import load_settings
from archiver.core.workspace import Workspace
ws, port, replay, ready = Workspace(Path(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
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
        return status(base)[0] > 0
    except OSError:
        return False


def status(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    host, _, path = url.removeprefix("http://").partition("/")
    with closing(http.client.HTTPConnection(host, timeout=60)) as conn:
        conn.request("GET", "/" + path, headers=headers or {})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()


WRK_SCRIPT = """
local lines, n, i = {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do n = n + 1; lines[n] = line end
  i = math.random(n)
end
function request()
  i = i % n + 1
  local path, date = lines[i]:match("([^\t]*)\t?(.*)")
  return wrk.format("GET", path, date ~= "" and {["Accept-Datetime"] = date} or {})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


def load_wrk(base: str, requests: list[tuple[str, str]], clients: int, duration: float, work: Path) -> dict[str, Any]:
    """req/s, p50 and p99 (ms), requests and errors of ``clients`` connections sending ``requests`` for ``duration`` s."""
    listing, script = work / "requests.txt", work / "requests.lua"
    listing.write_text("".join(f"{path}\t{date}\n" for path, date in requests))
    script.write_text(WRK_SCRIPT)
    argv = ["wrk", "-t", str(min(clients, os.cpu_count() or 2)), "-c", str(clients), "-d", f"{duration:g}s",
            "--timeout", "10s", "-s", str(script), base, "--", str(listing)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return {"rps": data["requests"] / (data["duration_us"] / 1e6), "p50_ms": data["p50_us"] / 1000,
            "p99_ms": data["p99_us"] / 1000, "requests": data["requests"], "errors": data["errors"]}


def sequential(base: str, requests: list[tuple[str, str]]) -> float:
    """Median ms of requests sent one after another on one kept-alive connection."""
    times = []
    with closing(http.client.HTTPConnection(base.removeprefix("http://"), timeout=60)) as conn:
        for path, _ in requests:
            t0 = time.perf_counter()
            conn.request("GET", path)
            conn.getresponse().read()
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def percentile(values: Sequence[float], q: float) -> float:
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def replay_times(url: str, runs: int) -> tuple[list[float], list[float], str]:
    """(ms to the first body byte, ms to the last, sha256 of the body) on one kept-alive connection."""
    host, _, path = url.removeprefix("http://").partition("/")
    conn = http.client.HTTPConnection(host, timeout=60)
    times, digest = [], ""
    for _ in range(runs + 2):               # the first two are not timed: warm-up
        t0 = time.perf_counter()
        conn.request("GET", "/" + path, headers={"Accept-Encoding": "identity"})
        h = hashlib.sha256((reply := conn.getresponse()).read(1))
        t1 = time.perf_counter()
        while block := reply.read(1 << 20):
            h.update(block)
        times.append(((t1 - t0) * 1000, (time.perf_counter() - t0) * 1000))
        digest = h.hexdigest()
    conn.close()
    return [t[0] for t in times[2:]], [t[1] for t in times[2:]], digest


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
    assert hashlib.sha256(status(ours + path)[2]).hexdigest() == hashlib.sha256(status(theirs + path)[2]).hexdigest() \
        == sha
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
    plan = make_plan(args.captures, args.per_capture, args.urls, args.hosts)
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
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    result["clients"], result["duration"] = args.clients, args.duration
    queries = requests_for(plan, rng, 20_000)
    big_ts = "".join(c for c in big_row.datetime if c.isdigit())[:14]
    big_path = f"/archive/{big_ts}id_/{BIG_URL}"
    port, replay, pywb_port = free_port(), free_port(), free_port()
    ours, theirs = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{pywb_port}"
    (ready := work / "ready").unlink(missing_ok=True)
    ours_argv = [sys.executable, "-c", LAUNCH, str(ws.root), str(port), str(replay), str(ready)]
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
                load_wrk(base, requests, args.clients, min(3.0, args.duration), work)          # warm-up
                figures[name][server] = load_wrk(base, requests, args.clients, args.duration, work)
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
              f"  one client, CDX requests one after another: median {seq['archiver']:.2f} ms (archiver), "
              f"{seq['pywb']:.2f} ms (pywb)"
              + ("; over 30 ms: the response waits for the client's delayed ACK (no TCP_NODELAY)"
                 if seq["archiver"] > 30 else ""),
              f"  load: wrk, {r['clients']} concurrent clients, {r['duration']:g} s per figure; 1-minute load average "
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
    p.add_argument("--workdir", type=Path, help="build here and keep the files (default: a temporary folder)")
    p.add_argument("--reuse", action="store_true", help="with --workdir: time the data of an earlier run")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args(argv)
    if (args.reuse and not args.workdir) or args.per_capture > args.urls:
        p.error("--reuse needs --workdir; --per-capture cannot exceed --urls")
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
