"""Captures of capture_vs_wget's site (8 hosts, ``--sources`` source pages with 4 requisites each,
``--latency`` per response) by ``archiver capture`` on one process, then by ``archiver capture
--queue`` with 1, 2 and 4 ``archiver worker`` processes: wall time, resources (or pages) per second,
the CPU time of all processes (Chromium included) per resource (or page), and the site's own peak
of requests in flight per host.

Two halves (issue #19): ``static``, the whole site statically; ``browser``, ``--browser on`` of
``--pages`` pages (the article and its first sources: the others are left out by ``--exclude``),
one tab per process (and the one process with as many tabs as the most workers, too). Needs Redis
(``--redis``; keys under a random prefix, deleted after); the browser half needs Chromium.

    .venv/bin/python bench/workers_scaling.py --sources 200 --latency 0.02 --half static
    .venv/bin/python bench/workers_scaling.py --sources 200 --latency 0.02 --half browser --pages 50
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture_vs_wget import ARTICLE_PATH, build_site, expected_resources, host_name  # noqa: E402

ARCHIVER = [sys.executable, "-m", "archiver"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(url: str, workers: int, queue: str, root: Path, extra: tuple[str, ...] = (),
            ws: Path | None = None) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds of every process, the capture's JSON summary); workers 0: no queue.
    ``ws``: the workspace (a re-capture names the same one); by default a new one under ``root``."""
    ws = ws or root / f"ws-{workers}-{len(list(root.iterdir()))}"
    cpu, started = children_cpu(), time.perf_counter()
    argv = [*ARCHIVER, "-w", str(ws), "capture", url, "--json", "--allow-private", *extra]
    if not workers:
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    else:
        capture = subprocess.Popen([*argv, "--queue", queue], stdout=subprocess.PIPE, text=True)
        while True:       # workers with --once stop when no capture is queued: start them once it is
            listed = subprocess.run([*ARCHIVER, "workers", "--queue", queue, "--json"], capture_output=True,
                                    text=True, check=True).stdout
            if json.loads(listed)["captures"]:
                break
            time.sleep(0.05)
        pool = [subprocess.Popen([*ARCHIVER, "worker", "--queue", queue, "--once", "--json"],
                                 stdout=subprocess.DEVNULL) for _ in range(workers)]
        out, _ = capture.communicate()
        for worker in pool:
            worker.wait()
        if capture.returncode:
            raise SystemExit(f"capture --queue with {workers} worker(s) failed")
    wall = time.perf_counter() - started
    return wall, children_cpu() - cpu, json.loads(out)


def browser_flags(pages: int, sources: int) -> list[str]:
    """--browser on, and the sources past the first ``pages - 1`` left out, so ``pages`` are rendered."""
    if pages - 1 >= sources:
        return ["--browser", "on", "--timeout", "30"]
    left_out = "|".join(str(n) for n in range(pages - 1, sources))
    return ["--browser", "on", "--timeout", "30", "--exclude", f"/s/({left_out})\\.html$"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    ap.add_argument("--half", choices=("static", "browser", "both"), default="both")
    ap.add_argument("--pages", type=int, default=50, help="pages rendered in the browser half")
    args = ap.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    queue = f"{args.redis}?prefix={prefix}"
    site = build_site(args.sources, args.latency)
    url = site.url(host_name(0), ARTICLE_PATH)
    print(f"site: {expected_resources(args.sources)} resources on 8 hosts, {args.latency * 1000:.0f} ms per response; "
          f"{os.cpu_count()} CPUs")
    try:
        with tempfile.TemporaryDirectory(prefix="archiver-bench-") as tmp:
            if args.half in ("static", "both"):
                print(f"{'static capture':<34} {'wall s':>7} {'res/s':>7} {'CPU ms/res':>10} {'peak/host':>9}")
                for workers in [0, *args.workers]:
                    site.in_flight.reset()
                    wall, cpu, summary = one_run(url, workers, queue, Path(tmp))
                    archived = summary["resources"]
                    label = "one process (--concurrency 16)" if not workers else f"--queue, {workers} worker(s)"
                    print(f"{label:<34} {wall:7.2f} {archived / wall:7.1f} {cpu / archived * 1000:10.2f} "
                          f"{max(site.in_flight.peak.values()):9d}")
            if args.half in ("browser", "both"):
                browser_half(args, site, url, queue, Path(tmp))
    finally:
        site.stop()
        drop_keys(args.redis, prefix)


def drop_keys(redis_url: str, prefix: str) -> None:
    """Delete the bench's own keys (``prefix:*``) from the Redis it used."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def browser_half(args: argparse.Namespace, site: object, url: str, queue: str, root: Path) -> None:
    flags = browser_flags(args.pages, args.sources)
    most = max(args.workers)
    print(f"{'browser capture, ' + str(args.pages) + ' pages':<34} {'wall s':>7} {'pages/s':>7} "
          f"{'CPU s/page':>10} {'peak/host':>9} {'resources':>9} {'pages ok':>8}")
    runs = [(0, 1), (0, most), *((w, 1) for w in args.workers)]
    for workers, tabs in runs:
        site.in_flight.reset()      # type: ignore[attr-defined]
        wall, cpu, summary = one_run(url, workers, queue, root, (*flags, "--browser-tabs", str(tabs)))
        pages = summary["browser_pages"]
        settled = sum(1 for p in pages if p["settled"] and not p.get("error"))
        label = (f"one process (--browser-tabs {tabs})" if not workers else f"--queue, {workers} worker(s), 1 tab each")
        print(f"{label:<34} {wall:7.2f} {len(pages) / wall:7.2f} {cpu / max(len(pages), 1):10.2f} "
              f"{max(site.in_flight.peak.values()):9d} {summary['resources']:9d} {settled:>4}/{len(pages)}")  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
