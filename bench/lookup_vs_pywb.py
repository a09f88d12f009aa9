"""Benchmark: archiver's index lookup against pywb's CDXJ lookup, and the CLI's cold start.

The script builds two indexes of the same ``--captures`` synthetic captures (default 1,000,000),
spread over ``--urls`` URLs (default 100,000) on ``--hosts`` hosts (default 1,000):

- an archiver workspace whose SQLite index (``<ws>/.archiver/index.sqlite``) is created with
  archiver's own ``SCHEMA`` and ``SCHEMA_VERSION`` and filled with one ``executemany`` into
  ``mementos`` in a single transaction, in capture order (as ``Index.sync`` adds manifests). The
  ``captures`` table stays empty and ``manifests/`` is an empty folder, so ``Index.open``'s
  ``sync()`` finds nothing to do. The script checks this before timing anything (row counts
  before and after, no manifests) and then times the index that ``Index.open`` returned;
- a CDXJ file (``SURT 14-digit-timestamp {json}``, sorted by byte value like ``LC_ALL=C sort``),
  which pywb reads with its own local index reader: ``FileIndexSource.load_index`` with the
  parameters of a ``CDXQuery`` (pywb's canonicaliser + ``binsearch.iter_range`` + ``CDXObject``).

Captures per URL follow a log-normal spread (median about 7, a few hundred at most). Every
page URL carries a small citation-metadata JSON, as archiver records for HTML pages.

With both files in the page cache, after a warm-up on other URLs, it times in-process, over
``--queries`` random present URLs plus ``--absent`` URLs that were never captured:

- archiver ``Index.timemap(url)`` and ``Index.nearest(url, at)`` (``at`` a random moment);
- pywb's TimeMap: ``list(FileIndexSource.load_index(CDXQuery({'url': url}).params))``;
- pywb's nearest: the same, through ``cdxops.cdx_sort_closest(ts, ..., limit=1)``;
- pywb's bare binary search: ``binsearch.iter_range`` on an open file with the key precomputed
  (no canonicalisation, no parsing), the floor of a CDXJ lookup in Python.

``archiver.urls.parse_http_url`` has an LRU cache; it is cleared before each timed pass so that
each query pays for canonicalisation once, as an ``archiver lookup`` process does. The objects of
the synthetic plan are moved out of the garbage collector's reach (``gc.freeze``) before timing. Every timed query
also checks that both tools return the same captures (count and 14-digit timestamps).

Then it times cold starts as child processes, median of ``--runs`` (default 10): ``python -c pass``
(the floor), ``archiver --help``, and ``archiver -w WS lookup URL`` on a URL with the median number
of captures.

Targets: archiver timemap p50 < 1 ms and faster than pywb's TimeMap; cold starts < 300 ms.

Run:  /work/venv/bin/python bench/lookup_vs_pywb.py [--captures 1000000] [--urls 100000]
          [--hosts 1000] [--queries 2000] [--absent 20] [--runs 10] [--workdir DIR] [--reuse] [--json]
With ``--workdir`` the files are kept; ``--reuse`` times the files a previous run left there
(same parameters) instead of building them again.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pywb.utils.binsearch import iter_range
from pywb.warcserver.index.cdxops import cdx_sort_closest
from pywb.warcserver.index.indexsource import FileIndexSource
from pywb.warcserver.index.query import CDXQuery

from archiver.core.urls import parse_http_url
from archiver.core.workspace import Workspace, new_capture_id
from archiver.index.store import SCHEMA, SCHEMA_VERSION, Index
from archiver.net.surt import surt

SEED = 20261129
PER_CAPTURE = 100                       # mementos per synthetic capture (one crawl run)
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=7 * 365)          # captures are spread over seven years
TLDS = ["com", "org", "net", "de", "fr", "co.uk", "info", "io"]
WORDS = ["news", "world", "politics", "report", "archive", "story", "article", "press", "release",
         "opinion", "analysis", "data", "science", "health", "culture", "sport", "blog", "docs"]
TARGET_P50_MS = 1.0
TARGET_COLD_MS = 300.0
WARMUP = 500


# --------------------------------------------------------------------------- the synthetic corpus


@dataclass(frozen=True, slots=True)
class Url:
    url: str
    key: str          # SURT
    kind: str         # html, css, js, png, redirect


def make_urls(rng: random.Random, count: int, hosts: int) -> list[Url]:
    names = []
    for h in range(hosts):
        label = f"{rng.choice(WORDS)}{h}"
        host = f"{label}.{rng.choice(WORDS)}.{rng.choice(TLDS)}"
        prefix = rng.choices(["", "www.", "www2."], [6, 3, 1])[0]
        scheme = rng.choices(["https", "http"], [4, 1])[0]
        port = ":8080" if h % 97 == 0 else ""
        names.append(f"{scheme}://{prefix}{host}{port}")
    urls, seen = [], set()
    while len(urls) < count:
        n = len(urls)
        base = names[n % hosts]
        section = rng.choice(WORDS)
        kind = rng.choices(["html", "css", "js", "png", "redirect"], [60, 8, 8, 20, 4])[0]
        if kind == "html":
            shape = rng.random()
            if shape < 0.6:
                path = f"/{section}/{rng.choice(WORDS)}-{n}.html"
            elif shape < 0.85:       # a query, its parameters not in sorted order
                path = f"/{section}/view?page={rng.randint(1, 50)}&id={n}"
            else:
                path = f"/{section}/{n}/"
        elif kind == "redirect":
            path = f"/{section}/go/{n}"
        else:
            path = f"/static/{section}/{n}.{kind}"
        url = base + path
        key = surt(url)
        if key in seen:          # a different spelling of a URL already made: skip it
            continue
        seen.add(key)
        urls.append(Url(url, key, kind))
    return urls


def captures_per_url(rng: random.Random, urls: int, captures: int) -> list[int]:
    """At least one capture per URL; the rest spread log-normally; sums to ``captures``."""
    if captures < urls:
        raise SystemExit(f"--captures ({captures}) must be at least --urls ({urls})")
    weights = [rng.lognormvariate(0.0, 1.0) for _ in range(urls)]
    total = sum(weights)
    extra = captures - urls
    counts = [1 + int(extra * w / total) for w in weights]
    short = captures - sum(counts)
    order = sorted(range(urls), key=lambda i: -weights[i])
    for i in range(short):
        counts[order[i % urls]] += 1
    return counts


@dataclass(slots=True)
class Plan:
    urls: list[Url]
    counts: list[int]
    capture_ids: list[str]
    started: list[datetime]
    pairs: list[tuple[int, int]]       # (capture index, url index), in capture order


def make_plan(captures: int, url_count: int, hosts: int) -> Plan:
    rng = random.Random(SEED)
    urls = make_urls(rng, url_count, hosts)
    counts = captures_per_url(rng, url_count, captures)
    runs = max(max(counts), math.ceil(captures / PER_CAPTURE))
    offsets = sorted(rng.random() for _ in range(runs))
    started = [EPOCH + SPAN * f + timedelta(microseconds=rng.randrange(10**6)) for f in offsets]
    capture_ids = [new_capture_id(t, token=f"{rng.getrandbits(24):06x}") for t in started]
    pairs = []
    for u, c in enumerate(counts):
        pairs.extend((run, u) for run in rng.sample(range(runs), c))
    pairs.sort()
    return Plan(urls, counts, capture_ids, started, pairs)


MIME = {"html": "text/html", "css": "text/css", "js": "text/javascript", "png": "image/png",
        "redirect": "text/html"}


def rows(plan: Plan) -> Iterator[tuple[Any, ...]]:
    """The ``mementos`` rows (id left to SQLite), as ``Index._add`` writes them."""
    rng = random.Random(SEED + 1)
    offset, previous = 0, -1
    for run, u in plan.pairs:
        if run != previous:
            offset, previous = 0, run
        item = plan.urls[u]
        cid = plan.capture_ids[run]
        when = plan.started[run].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        length = rng.randrange(600, 60_000)
        status, location, metadata = 200, None, None
        if item.kind == "redirect":
            status, location = 301, item.url.rsplit("/go/", 1)[0] + "/"
        elif item.kind == "html":
            if rng.random() < 0.03:
                status = 404
            else:
                metadata = json.dumps({"title": {"value": f"{item.url.rsplit('/', 1)[-1]} - a story",
                                                 "source": "og:title"},
                                       "author": {"value": "A. Reporter", "source": "meta:author"},
                                       "published": {"value": "2024-05-01", "source": "json-ld"}},
                                      sort_keys=True, ensure_ascii=False)
        role = "seed" if item.kind == "html" and rng.random() < 0.05 else \
            ("source" if item.kind in ("html", "redirect") else "requisite")
        yield (item.key, item.url, when, cid, role, status, MIME[item.kind], f"{rng.getrandbits(256):064x}",
               f"archive/{cid}-00000.warc.gz", offset, length,
               f"<urn:uuid:{rng.getrandbits(128):032x}>", location, metadata)
        offset += length


def build_index(ws: Workspace, plan: Plan) -> float:
    ws.manifests_dir.mkdir(parents=True, exist_ok=True)
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    path = ws.state_dir / "index.sqlite"
    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA cache_size = -1000000")       # this connection only; not stored in the file
    db.executescript(SCHEMA)
    with db:
        db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        db.executemany("INSERT INTO mementos (surt, url, datetime, capture_id, role, status, mime, payload_sha256,"
                       " warc, offset, length, record_id, location, metadata) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       rows(plan))
    db.close()
    return time.perf_counter() - t0


def build_cdxj(path: Path, plan: Plan) -> float:
    t0 = time.perf_counter()
    lines = []
    for row in rows(plan):
        key, url, when, _cid, _role, status, mime, digest, warc, offset, length = row[:11]
        ts = when[0:4] + when[5:7] + when[8:10] + when[11:13] + when[14:16] + when[17:19]
        fields = {"url": url, "mime": mime, "status": str(status), "digest": f"sha256:{digest}",
                  "length": str(length), "offset": str(offset), "filename": warc.rsplit("/", 1)[-1]}
        lines.append(f"{key} {ts} {json.dumps(fields)}\n".encode())
    lines.sort()                      # bytes order: what LC_ALL=C sort gives
    with open(path, "wb") as fh:
        fh.writelines(lines)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- timing


def percentile(sorted_values: Sequence[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


@dataclass(frozen=True, slots=True)
class Latency:
    name: str
    p50: float
    p99: float
    mean: float
    max: float

    def as_json(self) -> dict[str, Any]:
        return {"p50_ms": self.p50, "p99_ms": self.p99, "mean_ms": self.mean, "max_ms": self.max}


def time_each(name: str, queries: Sequence[Any], call: Callable[[Any], Any]) -> tuple[Latency, list[Any]]:
    parse_http_url.cache_clear()
    out, ms = [], []
    clock = time.perf_counter_ns
    for q in queries:
        t0 = clock()
        result = call(q)
        ms.append((clock() - t0) / 1e6)
        out.append(result)
    ms.sort()
    return Latency(name, percentile(ms, 0.5), percentile(ms, 0.99), statistics.fmean(ms), ms[-1]), out


def ts14(iso_text: str) -> str:
    return "".join(c for c in iso_text if c.isdigit())[:14]


def warm_page_cache(*paths: Path) -> None:
    for p in paths:
        with open(p, "rb") as fh:
            while fh.read(8 << 20):
                pass


def median_wall(argv: list[str], runs: int) -> tuple[float, list[float]]:
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)    # untimed first run
    walls = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append((time.perf_counter() - t0) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"{argv} exited with {done.returncode}: {done.stderr.decode(errors='replace')}")
    return statistics.median(walls), walls


def archiver_command() -> str:
    near = Path(sys.executable).with_name("archiver")
    return str(near) if near.exists() else (shutil.which("archiver") or "archiver")


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    ws = Workspace(work / "ws")
    cdxj = work / "index.cdxj"
    db_path = ws.state_dir / "index.sqlite"
    params = {"captures": args.captures, "urls": args.urls, "hosts": args.hosts, "seed": SEED}
    stamp = work / "bench-params.json"
    result: dict[str, Any] = {"params": params}

    t0 = time.perf_counter()
    plan = make_plan(args.captures, args.urls, args.hosts)
    result["plan_s"] = time.perf_counter() - t0
    reuse = args.reuse and stamp.exists() and json.loads(stamp.read_text()) == params \
        and db_path.exists() and cdxj.exists()
    if reuse:
        result["build_index_s"] = result["build_cdxj_s"] = None
        print(f"reusing the index and CDXJ in {work}", file=sys.stderr)
    else:
        stamp.unlink(missing_ok=True)
        print(f"building {args.captures:,} captures of {args.urls:,} URLs ...", file=sys.stderr)
        result["build_index_s"] = build_index(ws, plan)
        print(f"  SQLite index: {result['build_index_s']:.1f} s", file=sys.stderr)
        result["build_cdxj_s"] = build_cdxj(cdxj, plan)
        print(f"  CDXJ: {result['build_cdxj_s']:.1f} s", file=sys.stderr)
        stamp.write_text(json.dumps(params))
    result["db_bytes"] = db_path.stat().st_size
    result["cdxj_bytes"] = cdxj.stat().st_size
    result["cdxj_lines"] = sum(1 for _ in open(cdxj, "rb"))
    warm_page_cache(db_path, cdxj)
    result["loadavg_before_timing"] = os.getloadavg()[0]

    # Index.open syncs with manifests/: check that it leaves the synthetic rows alone.
    probe = sqlite3.connect(db_path)
    before = probe.execute("SELECT (SELECT count(*) FROM mementos), (SELECT count(*) FROM captures)").fetchone()
    probe.close()
    t0 = time.perf_counter()
    index = Index.open(ws)
    result["index_open_ms"] = (time.perf_counter() - t0) * 1000
    after = index.db.execute("SELECT (SELECT count(*) FROM mementos), (SELECT count(*) FROM captures)").fetchone()
    assert before == after == (args.captures, 0), (before, after)
    assert ws.manifest_paths() == [] and index._version() == SCHEMA_VERSION
    assert result["cdxj_lines"] == args.captures
    result["sync_noop_verified"] = True

    rng = random.Random(SEED + 2)
    picks = rng.sample(range(len(plan.urls)), min(len(plan.urls), args.queries + WARMUP))
    warm_ids, timed_ids = picks[:WARMUP], picks[WARMUP:]
    absent = [f"https://absent{i}.{rng.choice(WORDS)}.example/{rng.choice(WORDS)}/{i}.html" for i in range(args.absent)]
    timed = [plan.urls[i].url for i in timed_ids] + absent
    rng.shuffle(timed)
    warm = [plan.urls[i].url for i in warm_ids]
    first, last = plan.started[0], plan.started[-1]
    moments = {u: first + (last - first) * rng.random() for u in timed + warm}
    expected = {plan.urls[i].url: plan.counts[i] for i in picks}
    expected.update({u: 0 for u in absent})

    source = FileIndexSource(str(cdxj))
    fh = open(cdxj, "rb")

    def pywb_timemap(url: str) -> list[Any]:
        return list(source.load_index(CDXQuery({"url": url}).params))

    def pywb_nearest(url: str) -> Any:
        closest = moments[url].strftime("%Y%m%d%H%M%S")
        return next(iter(cdx_sort_closest(closest, source.load_index(CDXQuery({"url": url}).params), limit=1)), None)

    raw_keys = {u: surt(u).encode("utf-8") for u in timed + warm}

    def pywb_raw(url: str) -> list[bytes]:
        key = raw_keys[url]
        return list(iter_range(fh, key + b" ", key + b"!"))

    def arch_timemap(url: str) -> list[Any]:
        return index.timemap(url)

    def arch_nearest(url: str) -> Any:
        return index.nearest(url, moments[url])

    methods = [("archiver timemap", arch_timemap), ("archiver nearest", arch_nearest),
               ("pywb TimeMap (FileIndexSource)", pywb_timemap), ("pywb nearest (closest, limit 1)", pywb_nearest),
               ("pywb bare iter_range", pywb_raw)]
    # The plan holds millions of objects; a full collection over them would land in one timed
    # query (~200 ms). Freeze them so that the collector only sees what the lookups allocate.
    gc.collect()
    gc.freeze()
    for _, call in methods:          # warm-up on other URLs
        for u in warm:
            call(u)
    latencies: dict[str, Latency] = {}
    outputs: dict[str, list[Any]] = {}
    for name, call in methods:
        latencies[name], outputs[name] = time_each(name, timed, call)
    fh.close()

    # Both tools must find the same captures of every timed URL.
    for i, url in enumerate(timed):
        mine = outputs["archiver timemap"][i]
        theirs = outputs["pywb TimeMap (FileIndexSource)"][i]
        raw = outputs["pywb bare iter_range"][i]
        assert len(mine) == len(theirs) == len(raw) == expected[url], (url, len(mine), len(theirs), len(raw))
        assert sorted(ts14(m.datetime) for m in mine) == sorted(c["timestamp"] for c in theirs), url
        near, pnear = outputs["archiver nearest"][i], outputs["pywb nearest (closest, limit 1)"][i]
        assert (near is None) == (pnear is None) == (expected[url] == 0), url
        if near is not None:       # same distance, to the second (pywb works in whole seconds)
            at = moments[url].replace(microsecond=0)
            pywb_at = datetime.strptime(pnear["timestamp"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            mine_at = datetime.strptime(ts14(near[0].datetime), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            assert abs(abs((mine_at - at).total_seconds()) - abs((pywb_at - at).total_seconds())) <= 1, url
    index.close()
    counts = sorted(expected[u] for u in timed if expected[u])
    result["timed_queries"] = {"present": len(timed) - len(absent), "absent": len(absent),
                               "captures_per_url_min": counts[0], "captures_per_url_median": statistics.median(counts),
                               "captures_per_url_max": counts[-1], "results_match": True}
    result["latency"] = {name: lat.as_json() for name, lat in latencies.items()}

    # Cold starts.
    lookup_url = plan.urls[timed_ids[sorted(range(len(timed_ids)),
                                            key=lambda k: plan.counts[timed_ids[k]])[len(timed_ids) // 2]]]
    arch = archiver_command()
    cold = {}
    for label, argv in [("python -c pass", [sys.executable, "-c", "pass"]),
                        ("archiver --help", [arch, "--help"]),
                        (f"archiver lookup ({plan.counts[plan.urls.index(lookup_url)]} captures)",
                         [arch, "-w", str(ws.root), "lookup", lookup_url.url])]:
        med, walls = median_wall(argv, args.runs)
        cold[label] = {"median_ms": med, "min_ms": min(walls), "max_ms": max(walls)}
    result["cold_start"] = cold
    result["loadavg_after_timing"] = os.getloadavg()[0]
    result["lookup_url"] = lookup_url.url
    return result


def report(r: dict[str, Any]) -> str:
    p = r["params"]
    lat = r["latency"]
    q = r["timed_queries"]
    mb = 1e6

    def secs(v: float | None) -> str:
        return "reused" if v is None else f"{v:.1f} s"

    lines = [f"corpus: {p['captures']:,} captures of {p['urls']:,} URLs on {p['hosts']:,} hosts "
             f"(plan {r['plan_s']:.1f} s)",
             f"  archiver SQLite index  {r['db_bytes'] / mb:8.1f} MB   built in {secs(r['build_index_s'])}"
             f"   (Index.open incl. sync: {r['index_open_ms']:.1f} ms, sync no-op verified)",
             f"  pywb CDXJ              {r['cdxj_bytes'] / mb:8.1f} MB   built in {secs(r['build_cdxj_s'])}"
             f"   ({r['cdxj_lines']:,} lines)",
             f"  1-minute load average: {r['loadavg_before_timing']:.2f} before timing, "
             f"{r['loadavg_after_timing']:.2f} after (2 CPUs: other work on the machine skews p99 and max)",
             "",
             f"in-process lookups: {q['present']:,} present URLs ({q['captures_per_url_min']}-"
             f"{q['captures_per_url_max']} captures, median {q['captures_per_url_median']:g}) + {q['absent']} absent, "
             "warm cache, same results checked",
             f"  {'':34} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'max ms':>8}"]
    for name, v in lat.items():
        lines.append(f"  {name:34} {v['p50_ms']:8.3f} {v['p99_ms']:8.3f} {v['mean_ms']:8.3f} {v['max_ms']:8.3f}")
    a, b = lat["archiver timemap"], lat["pywb TimeMap (FileIndexSource)"]
    an, bn = lat["archiver nearest"], lat["pywb nearest (closest, limit 1)"]
    ok = lambda flag: "MET" if flag else "NOT MET"  # noqa: E731
    lines += ["",
              f"  timemap: pywb/archiver p50 {b['p50_ms'] / a['p50_ms']:.2f}x, p99 {b['p99_ms'] / a['p99_ms']:.2f}x, "
              f"mean {b['mean_ms'] / a['mean_ms']:.2f}x",
              f"  nearest: pywb/archiver p50 {bn['p50_ms'] / an['p50_ms']:.2f}x, p99 {bn['p99_ms'] / an['p99_ms']:.2f}x, "
              f"mean {bn['mean_ms'] / an['mean_ms']:.2f}x",
              "",
              "targets:",
              f"  archiver timemap p50 {a['p50_ms']:.3f} ms < {TARGET_P50_MS:g} ms: {ok(a['p50_ms'] < TARGET_P50_MS)}",
              f"  archiver nearest p50 {an['p50_ms']:.3f} ms < {TARGET_P50_MS:g} ms: {ok(an['p50_ms'] < TARGET_P50_MS)}",
              f"  archiver timemap p50 faster than pywb TimeMap p50 ({b['p50_ms']:.3f} ms): "
              f"{ok(a['p50_ms'] < b['p50_ms'])}",
              f"  archiver nearest p50 faster than pywb nearest p50 ({bn['p50_ms']:.3f} ms): "
              f"{ok(an['p50_ms'] < bn['p50_ms'])}",
              "",
              f"cold start (child process, median of runs): {'median ms':>10} {'min':>7} {'max':>7}"]
    for name, v in r["cold_start"].items():
        target = "" if name.startswith("python") else \
            f"   target < {TARGET_COLD_MS:g} ms: {ok(v['median_ms'] < TARGET_COLD_MS)}"
        lines.append(f"  {name:42} {v['median_ms']:10.1f} {v['min_ms']:7.1f} {v['max_ms']:7.1f}{target}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Compare archiver's index lookup with pywb's CDXJ lookup.")
    p.add_argument("--captures", type=int, default=1_000_000, help="captures (index rows) to build")
    p.add_argument("--urls", type=int, default=100_000, help="distinct URLs they are spread over")
    p.add_argument("--hosts", type=int, default=1_000, help="hosts the URLs are spread over")
    p.add_argument("--queries", type=int, default=2_000, help="present URLs to time")
    p.add_argument("--absent", type=int, default=20, help="absent URLs to time along with them")
    p.add_argument("--runs", type=int, default=10, help="runs of each cold-start command")
    p.add_argument("--workdir", type=Path, help="build here and keep the files (default: a temporary folder)")
    p.add_argument("--reuse", action="store_true", help="with --workdir: time the files of an earlier run")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args(argv)
    if args.reuse and not args.workdir:
        p.error("--reuse needs --workdir")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        result = run(args, args.workdir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-lookup-") as tmp:
            result = run(args, Path(tmp))
    print(report(result))
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
