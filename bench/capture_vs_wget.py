"""Benchmark: archiver's capture against ``wget --warc-file`` on a generated multi-host site.

The site (served on loopback by ``archiver.demo.server``): 8 hosts on 127.0.0.31-127.0.0.38, an
article on host 1 linking ``--sources`` source pages spread round-robin over the hosts, each source
page with 4 requisites (CSS, JS, two images; unique bytes per page) on its own host, and an
allow-all robots.txt on every host. Every response is delayed by ``--latency`` seconds.

Both tools capture the article and its linked sources with their requisites. The script reports
wall time, resources saved, WARC bytes, archiver's CPU and peak RSS, the most requests the site saw
in flight per host during archiver's capture, and archiver's CPU per MB of payload against the
cost of only hashing (sha256) and gzip-compressing the same payloads in process.

Run:  /work/venv/bin/python bench/capture_vs_wget.py [--sources N] [--latency SECONDS] [--json]
Needs wget on PATH (Debian/Ubuntu: ``apt-get install wget``) and warcio (an archiver dependency).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from archiver.demo.server import Host, Response, Site

HOSTS = 8
FIRST_ADDRESS = 31                      # hosts on 127.0.0.31 .. 127.0.0.38
ARTICLE_PATH = "/article.html"
ROBOTS_TXT = b"User-agent: *\nDisallow:\n"
PER_HOST_LIMIT = 2                      # archiver's default --per-host
CONCURRENCY = 16
LONG_URL_MIN, LONG_URL_MAX = 125, 195   # a long-URL site's page URLs (requisites' within 120-200)
MB = 10**6

TARGET_SPEEDUP = 10.0                   # wget wall / archiver wall, at least (issue #20; it was 5)
TARGET_CPU_RATIO = 2.0                  # archiver CPU/MB over sha256+gzip CPU/MB, at most
TARGET_RSS_MB = 150.0                   # archiver peak RSS, below


# --------------------------------------------------------------------------- the site


class InFlight:
    """Requests being handled, per host: the current count and the highest seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: dict[str, int] = {}
        self.peak: dict[str, int] = {}

    def enter(self, host: str) -> None:
        with self._lock:
            self.current[host] = self.current.get(host, 0) + 1
            self.peak[host] = max(self.peak.get(host, 0), self.current[host])

    def leave(self, host: str) -> None:
        with self._lock:
            self.current[host] -= 1

    def reset(self) -> None:
        with self._lock:
            self.current.clear()
            self.peak.clear()


class CountingSite(Site):
    """A Site that counts requests in flight per host.

    The latency is slept inside ``respond`` (the base class is given latency 0, so it is not slept
    twice), which puts the delay of every response inside the counted window.
    """

    def __init__(self, hosts: list[Host], latency: float, keep_alive: bool = False) -> None:
        super().__init__(hosts, latency=0.0, keep_alive=keep_alive)
        self.delay = latency
        self.in_flight = InFlight()
        self.long_urls = False        # set by build_site: source pages and requisites with 120-200 character URLs

    def respond(self, host: Host, path: str) -> Response:
        self.in_flight.enter(host.name)
        try:
            if self.delay:
                time.sleep(self.delay)
            return super().respond(host, path)
        finally:
            self.in_flight.leave(host.name)


def host_name(index: int) -> str:
    return f"h{index + 1}"


def source_host(source: int) -> str:
    return host_name(source % HOSTS)


def _ok(ctype: str, body: bytes) -> Response:
    return Response(200, [("Content-Type", ctype)], body)


def _filler(seed: int, words: int) -> str:
    rng = random.Random(seed)
    return " ".join(f"w{rng.getrandbits(32):08x}" for _ in range(words))


def source_base(source: int, origin: str | None = None) -> str:
    """The path of a source page without its suffix: ``/s/N``, or with ``origin`` (long URLs) a
    path that makes the page's URL 125-194 characters long (its requisites' 123-195), as news
    sites' dated, slugged URLs are. Deterministic: the same source always gets the same path."""
    if origin is None:
        return f"/s/{source}"
    length = LONG_URL_MIN + (source * 37) % (LONG_URL_MAX - LONG_URL_MIN)   # of the page's URL
    words = _filler(source + 3 * 10**6, 40).replace(" ", "-")
    stem = f"/news/2026/11/{1 + source % 28:02d}/sources/{source}/"
    return (stem + words)[:length - len(origin) - len(".html")].rstrip("-")


def requisite_routes(source: int, image_kb: tuple[int, int] = (3, 5), base: str | None = None) -> dict[str, Response]:
    """CSS, JS and two images of one source page, unique bytes per page."""
    rng = random.Random(source)
    base = base or f"/s/{source}"
    css = f"/* source {source} */\nbody {{ margin: {source % 40}px; }}\n.t{source} {{ content: \"{_filler(source, 120)}\"; }}\n"
    js = f"// source {source}\nvar s{source} = \"{_filler(source + 10**6, 150)}\";\nconsole.log(s{source}.length);\n"
    return {
        f"{base}.css": _ok("text/css; charset=utf-8", css.encode()),
        f"{base}.js": _ok("text/javascript; charset=utf-8", js.encode()),
        f"{base}-a.png": _ok("image/png", b"\x89PNG\r\n\x1a\n" + rng.randbytes(image_kb[0] * 1024)),
        f"{base}-b.png": _ok("image/png", b"\x89PNG\r\n\x1a\n" + rng.randbytes(image_kb[1] * 1024)),
    }


def source_page(source: int, base: str | None = None, page_kb: int = 0) -> bytes:
    base = base or f"/s/{source}"
    more = "".join(f"<p>{_filler(source * 1000 + k, 20)}.</p>" for k in range(page_kb * 1000 // 187))
    html = (f"<!doctype html><html><head><meta charset=utf-8><title>Source {source}</title>"
            f"<link rel=stylesheet href=\"{base}.css\"><script src=\"{base}.js\"></script></head>"
            f"<body><h1>Source {source}</h1><p>{_filler(source + 2 * 10**6, 80)}</p>{more}"
            f"<img src=\"{base}-a.png\" alt=a><img src=\"{base}-b.png\" alt=b></body></html>\n")
    return html.encode()


def article_page(site: CountingSite, sources: int) -> bytes:
    items = "".join(f"<li><a href=\"{site.url(source_host(i), site_base(site, i) + '.html')}\">source {i}</a></li>\n"
                    for i in range(sources))
    return (f"<!doctype html><html><head><meta charset=utf-8><title>Article</title></head>"
            f"<body><h1>Article</h1><p>It cites {sources} sources.</p><ol>\n{items}</ol></body></html>\n").encode()


def site_base(site: CountingSite, source: int) -> str:
    return source_base(source, site.url(source_host(source), "") if site.long_urls else None)


def build_site(sources: int, latency: float, image_kb: tuple[int, int] = (3, 5),
               keep_alive: bool = False, long_urls: bool = False, page_kb: int = 0) -> CountingSite:
    """Start the site: hosts are started first, so the article can link to their origins. With
    ``long_urls`` every source page and requisite has a URL of 120-200 characters."""
    hosts = [Host(host_name(i), f"127.0.0.{FIRST_ADDRESS + i}") for i in range(HOSTS)]
    site = CountingSite(hosts, latency, keep_alive)
    site.long_urls = long_urls
    site.start()
    for host in hosts:
        host.routes["/robots.txt"] = _ok("text/plain; charset=utf-8", ROBOTS_TXT)
    for i in range(sources):
        routes = site.hosts[source_host(i)].routes
        base = site_base(site, i)
        routes[f"{base}.html"] = _ok("text/html; charset=utf-8", source_page(i, base, page_kb))
        routes.update(requisite_routes(i, image_kb, base))
    site.hosts[host_name(0)].routes[ARTICLE_PATH] = _ok("text/html; charset=utf-8", article_page(site, sources))
    return site


def expected_resources(sources: int) -> int:
    """The article, each source page and its 4 requisites, and robots.txt of every host used."""
    return 1 + 5 * sources + min(HOSTS, max(sources, 1))


# --------------------------------------------------------------------------- running the tools


@dataclass(frozen=True, slots=True)
class ChildRun:
    """A finished child process: exit code, wall seconds, CPU seconds (user+sys), peak RSS."""

    returncode: int
    wall: float
    cpu: float
    max_rss_kib: int
    stdout: str
    stderr: str


GNU_TIME = "/usr/bin/time"


def run_child(argv: Sequence[str], env: dict[str, str], out_dir: Path, label: str) -> ChildRun:
    """Run ``argv`` to completion and take its own resource usage.

    Linux carries a process's peak RSS across fork and exec, so a child forked from this script
    (which holds the whole site in memory) would report this script's size as its own peak. When
    GNU time is there, it starts the child and reports the child's own figures; else ``os.wait4``."""
    stdout_path, stderr_path = out_dir / f"{label}.stdout", out_dir / f"{label}.stderr"
    usage_path = out_dir / f"{label}.usage"
    timed = os.access(GNU_TIME, os.X_OK)
    command = [GNU_TIME, "-f", "%U %S %M", "-o", str(usage_path), *argv] if timed else list(argv)
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu, max_rss = usage.ru_utime + usage.ru_stime, usage.ru_maxrss
    if timed:
        user, system, rss = usage_path.read_text().split()[-3:]     # after any "Command exited" line
        cpu, max_rss = float(user) + float(system), int(rss)
    return ChildRun(proc.returncode, wall, cpu, max_rss, stdout_path.read_text(errors="replace"),
                    stderr_path.read_text(errors="replace"))


def archiver_command() -> str:
    sibling = Path(sys.executable).parent / "archiver"
    found = str(sibling) if sibling.exists() else shutil.which("archiver")
    if not found:
        sys.exit("archiver not found: run with the virtualenv's python that has archiver installed")
    return found


def wget_command() -> str:
    found = shutil.which("wget")
    if not found:
        sys.exit("wget not found: install it (Debian/Ubuntu: apt-get install wget)")
    return found


@dataclass(frozen=True, slots=True)
class ToolResult:
    run: ChildRun
    resources: int
    warc_bytes: int
    warcs: tuple[Path, ...]


def capture_with_archiver(url: str, work: Path) -> ToolResult:
    workspace = work / "archiver-ws"
    argv = [archiver_command(), "-w", str(workspace), "capture", "--json", "--concurrency", str(CONCURRENCY), url]
    run = run_child(argv, dict(os.environ), work, "archiver")
    if run.returncode != 0:
        sys.exit(f"archiver failed ({run.returncode}):\n{run.stderr}")
    summary = json.loads(run.stdout)
    warcs = tuple(workspace / p for p in summary["warc_files"])
    return ToolResult(run, int(summary["resources"]), sum(p.stat().st_size for p in warcs), warcs)


def capture_with_wget(url: str, work: Path) -> ToolResult:
    argv = [wget_command(), f"--warc-file={work / 'wget'}", "--page-requisites", "--span-hosts", "--recursive",
            "--level=1", "--no-verbose", "-e", "robots=on", "--directory-prefix", str(work / "wget-files"), url]
    run = run_child(argv, {**os.environ, "no_proxy": "*"}, work, "wget")
    warc = work / "wget.warc.gz"
    if not warc.exists():
        sys.exit(f"wget wrote no WARC (exit {run.returncode}):\n{run.stderr[-2000:]}")
    return ToolResult(run, sum(1 for _ in response_records(warc)), warc.stat().st_size, (warc,))


# --------------------------------------------------------------------------- the sha256 + gzip baseline


def response_records(warc: Path) -> Iterator[bytes]:
    """The raw HTTP payload (bytes after the HTTP head, as stored) of every response record."""
    with open(warc, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                yield record.raw_stream.read()


def hash_and_gzip(payloads: Sequence[bytes]) -> None:
    for payload in payloads:
        hashlib.sha256(payload).digest()
        comp = zlib.compressobj(6, zlib.DEFLATED, 31)
        comp.compress(payload)
        comp.flush()


def baseline_cpu(payloads: Sequence[bytes], repeats: int = 5) -> float:
    """In-process CPU seconds for sha256 + gzip (level 6, one gzip stream per payload); best of ``repeats``."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        hash_and_gzip(payloads)
        best = min(best, time.process_time() - started)
    return best


# --------------------------------------------------------------------------- figures and report


@dataclass(frozen=True, slots=True)
class Figures:
    sources: int
    latency: float
    expected_resources: int
    archiver_wall_s: float
    wget_wall_s: float
    speedup: float
    archiver_resources: int
    wget_resources: int
    archiver_warc_bytes: int
    wget_warc_bytes: int
    archiver_cpu_s: float
    wget_cpu_s: float
    archiver_peak_rss_mb: float
    wget_peak_rss_mb: float
    payload_bytes: int
    archiver_cpu_s_per_mb: float
    baseline_cpu_s_per_mb: float
    cpu_ratio: float
    max_in_flight_per_host: dict[str, int]
    wget_exit_code: int

    @property
    def targets(self) -> dict[str, bool]:
        return {
            "wall >= 10x faster than wget": self.speedup >= TARGET_SPEEDUP,
            "CPU/MB within 2x of sha256+gzip": self.cpu_ratio <= TARGET_CPU_RATIO,
            "peak RSS < 150 MB": self.archiver_peak_rss_mb < TARGET_RSS_MB,
            "per-host limit (<= 2 in flight)": max(self.max_in_flight_per_host.values(), default=0) <= PER_HOST_LIMIT,
        }

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "targets_met": self.targets}


def figures(sources: int, latency: float, archiver: ToolResult, wget: ToolResult, peaks: dict[str, int]) -> Figures:
    payloads = [p for warc in archiver.warcs for p in response_records(warc)]
    payload_bytes = sum(len(p) for p in payloads)
    mb = max(payload_bytes, 1) / MB
    baseline = baseline_cpu(payloads) / mb
    per_mb = archiver.run.cpu / mb
    return Figures(
        sources=sources, latency=latency, expected_resources=expected_resources(sources),
        archiver_wall_s=archiver.run.wall, wget_wall_s=wget.run.wall, speedup=wget.run.wall / archiver.run.wall,
        archiver_resources=archiver.resources, wget_resources=wget.resources,
        archiver_warc_bytes=archiver.warc_bytes, wget_warc_bytes=wget.warc_bytes,
        archiver_cpu_s=archiver.run.cpu, wget_cpu_s=wget.run.cpu,
        archiver_peak_rss_mb=archiver.run.max_rss_kib / 1024, wget_peak_rss_mb=wget.run.max_rss_kib / 1024,
        payload_bytes=payload_bytes, archiver_cpu_s_per_mb=per_mb, baseline_cpu_s_per_mb=baseline,
        cpu_ratio=per_mb / baseline if baseline else float("inf"),
        max_in_flight_per_host=dict(sorted(peaks.items(), key=lambda kv: int(kv[0][1:]))),
        wget_exit_code=wget.run.returncode)


def _met(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def report(f: Figures) -> str:
    t = f.targets
    row = "{:<30} {:>12} {:>12}   {}".format
    peaks = " ".join(f"{h}:{n}" for h, n in f.max_in_flight_per_host.items())
    lines = [
        f"site: article + {f.sources} sources x 4 requisites on {HOSTS} hosts, {f.latency * 1000:g} ms latency "
        f"per response ({f.expected_resources} resources incl. robots.txt)",
        "",
        row("", "archiver", "wget", "comparison / target"),
        row("wall time (s)", f"{f.archiver_wall_s:.2f}", f"{f.wget_wall_s:.2f}",
            f"wget/archiver {f.speedup:.1f}x   target >= {TARGET_SPEEDUP:g}x: {_met(t['wall >= 10x faster than wget'])}"),
        row("resources saved", f.archiver_resources, f.wget_resources, f"expected {f.expected_resources}"),
        row("WARC bytes", f"{f.archiver_warc_bytes:,}", f"{f.wget_warc_bytes:,}", ""),
        row("CPU (s, user+sys)", f"{f.archiver_cpu_s:.2f}", f"{f.wget_cpu_s:.2f}", ""),
        row("CPU per resource (ms)", f"{1000 * f.archiver_cpu_s / max(f.archiver_resources, 1):.2f}",
            f"{1000 * f.wget_cpu_s / max(f.wget_resources, 1):.2f}", "user+sys over the resources each saved"),
        row("peak RSS (MB)", f"{f.archiver_peak_rss_mb:.1f}", f"{f.wget_peak_rss_mb:.1f}",
            f"target archiver < {TARGET_RSS_MB:g} MB: {_met(t['peak RSS < 150 MB'])}"),
        "",
        row("CPU per MB of payload (s/MB)", "archiver", "sha256+gzip", ""),
        row(f"  ({f.payload_bytes / MB:.2f} MB of payload)", f"{f.archiver_cpu_s_per_mb:.3f}",
            f"{f.baseline_cpu_s_per_mb:.4f}",
            f"ratio {f.cpu_ratio:.1f}x   target <= {TARGET_CPU_RATIO:g}x: {_met(t['CPU/MB within 2x of sha256+gzip'])}"),
        "",
        f"max requests in flight per host during archiver's capture: {peaks}",
        f"  limit {PER_HOST_LIMIT}: {_met(t['per-host limit (<= 2 in flight)'])}",
    ]
    if f.wget_exit_code != 0:
        lines.append(f"note: wget exited with code {f.wget_exit_code}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


SITES = ((3, 5), (160, 330))            # image sizes (KiB) of the two default sites: small (2.4 KB per
#                                         resource) and payload-heavy (100 KB per resource, as in dedup_recapture)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Compare archiver's capture with wget --warc-file on a generated site.")
    p.add_argument("--sources", type=int, default=200, help="source pages linked from the article (default 200)")
    p.add_argument("--latency", type=float, default=0.02, help="seconds added to every response (default 0.02)")
    p.add_argument("--image-kb", type=int, nargs=2, default=None, metavar=("A", "B"),
                   help="sizes of each source page's two images in KiB: one site only (default: two sites, "
                        "images of 3 and 5 KiB, then of 160 and 330 KiB, and the marginal CPU per MB between them)")
    p.add_argument("--keep-alive", action="store_true",
                   help="the site keeps HTTP/1.1 connections open (default: it closes each one), for both tools")
    p.add_argument("--long-urls", action="store_true",
                   help="source pages and requisites with 120-200 character URLs (as news sites' dated, slugged ones)")
    p.add_argument("--page-kb", type=int, default=0, metavar="KB",
                   help="about KB kilobytes of paragraphs more on each source page (default 0: ~1 KB pages); "
                        "heavy pages are where archiver's page processes pay")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args(argv)
    if args.sources < 1 or args.latency < 0 or not 0 <= args.page_kb <= 10_000:
        p.error("--sources must be 1 or more, --latency 0 or more, --page-kb 0 to 10000")
    return args


def measure_site(sources: int, latency: float, image_kb: tuple[int, int], keep_alive: bool = False,
                 long_urls: bool = False, page_kb: int = 0) -> Figures:
    site = build_site(sources, latency, image_kb, keep_alive, long_urls, page_kb)
    try:
        url = site.url(host_name(0), ARTICLE_PATH)
        with tempfile.TemporaryDirectory(prefix="bench-capture-") as tmp:
            work = Path(tmp)
            archiver = capture_with_archiver(url, work)
            peaks = dict(site.in_flight.peak)
            site.in_flight.reset()
            wget = capture_with_wget(url, work)
            return figures(sources, latency, archiver, wget, peaks)
    finally:
        site.stop()


@dataclass(frozen=True, slots=True)
class Marginal:
    """CPU = a fixed cost per resource + a cost per MB: the slope and intercept between two sites."""

    archiver_cpu_s_per_mb: float
    wget_cpu_s_per_mb: float
    baseline_cpu_s_per_mb: float
    ratio: float
    archiver_ms_per_resource: float
    wget_ms_per_resource: float


def marginal(small: Figures, large: Figures) -> Marginal:
    mb = (large.payload_bytes - small.payload_bytes) / MB
    slope = (large.archiver_cpu_s - small.archiver_cpu_s) / mb
    wget_slope = (large.wget_cpu_s - small.wget_cpu_s) / mb
    base = (large.baseline_cpu_s_per_mb * large.payload_bytes - small.baseline_cpu_s_per_mb * small.payload_bytes) / MB / mb
    per_resource = 1000 / small.expected_resources
    return Marginal(slope, wget_slope, base, slope / base if base else float("inf"),
                    (small.archiver_cpu_s - slope * small.payload_bytes / MB) * per_resource,
                    (small.wget_cpu_s - wget_slope * small.payload_bytes / MB) * per_resource)


def marginal_report(m: Marginal, small: Figures, large: Figures) -> str:
    row = "{:<30} {:>12} {:>12} {:>12}   {}".format
    return "\n".join([
        f"between the two sites ({small.payload_bytes / MB:.2f} and {large.payload_bytes / MB:.2f} MB of payload, "
        f"{small.expected_resources} resources each): CPU = fixed cost per resource + cost per MB",
        "",
        row("", "archiver", "wget", "sha256+gzip", ""),
        row("marginal CPU per MB (s/MB)", f"{m.archiver_cpu_s_per_mb:.4f}", f"{m.wget_cpu_s_per_mb:.4f}",
            f"{m.baseline_cpu_s_per_mb:.4f}",
            f"ratio {m.ratio:.2f}x   target <= {TARGET_CPU_RATIO:g}x: {_met(m.ratio <= TARGET_CPU_RATIO)}"),
        row("fixed CPU per resource (ms)", f"{m.archiver_ms_per_resource:.2f}", f"{m.wget_ms_per_resource:.2f}", "", ""),
    ])


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sites = [tuple(args.image_kb)] if args.image_kb else list(SITES)
    results = []
    for image_kb in sites:
        results.append(measure_site(args.sources, args.latency, image_kb, args.keep_alive, args.long_urls,
                                    args.page_kb))
        print(f"images of {image_kb[0]} and {image_kb[1]} KiB")
        print(report(results[-1]))
        print()
    out: dict[str, Any] = {"sites": [r.as_json() for r in results]}
    if len(results) == 2:
        m = marginal(*results)
        print(marginal_report(m, *results))
        out["marginal"] = asdict(m)
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
