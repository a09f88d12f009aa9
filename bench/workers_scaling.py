"""Static capture of capture_vs_wget's site (8 hosts, ``--sources`` source pages with 4 requisites
each, ``--latency`` per response) by ``archiver capture`` on one process, then by ``archiver capture
--queue`` with 1, 2 and 4 ``archiver worker`` processes: wall time, resources per second, the CPU
time of all processes per resource, and the site's own peak of requests in flight per host.

A first look for issue #19: browser capture is not done by workers yet, so the issue's browser
benchmark is not this one. Needs Redis (``--redis``; keys under a random prefix, deleted after).

    .venv/bin/python bench/workers_scaling.py --sources 200 --latency 0.02
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


def one_run(url: str, workers: int, queue: str, root: Path) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of every process, resources archived); workers 0: no queue."""
    ws = root / f"ws-{workers}"
    cpu, started = children_cpu(), time.perf_counter()
    argv = [*ARCHIVER, "-w", str(ws), "capture", url, "--json", "--allow-private"]
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
    return wall, children_cpu() - cpu, json.loads(out)["resources"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = ap.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    queue = f"{args.redis}?prefix={prefix}"
    site = build_site(args.sources, args.latency)
    url = site.url(host_name(0), ARTICLE_PATH)
    print(f"site: {expected_resources(args.sources)} resources on 8 hosts, {args.latency * 1000:.0f} ms per response; "
          f"{os.cpu_count()} CPUs")
    print(f"{'capture':<26} {'wall s':>7} {'res/s':>7} {'CPU ms/res':>10} {'peak/host':>9}")
    try:
        with tempfile.TemporaryDirectory(prefix="archiver-bench-") as tmp:
            for workers in [0, *args.workers]:
                site.in_flight.reset()
                wall, cpu, archived = one_run(url, workers, queue, Path(tmp))
                label = "one process (--concurrency 16)" if not workers else f"--queue, {workers} worker(s)"
                print(f"{label:<26} {wall:7.2f} {archived / wall:7.1f} {cpu / archived * 1000:10.2f} "
                      f"{max(site.in_flight.peak.values()):9d}")
    finally:
        site.stop()
        import redis

        client = redis.Redis.from_url(args.redis)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)


if __name__ == "__main__":
    main()
