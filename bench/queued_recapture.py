"""What a second capture of an unchanged site adds, captured locally and through the queue.

capture_vs_wget's site (8 loopback hosts, ``--sources`` source pages with 4 requisites each) is
captured twice into one workspace by ``archiver capture`` on one process, then twice into another by
``archiver capture --queue`` with ``--workers`` ``archiver worker`` processes (bench/workers_scaling.py
runs them). Prints, per way, the bytes under ``archive/`` after each capture, the revisit records of
the second capture and its page flags: through the queue they should match the local capture's.
Needs Redis (``--redis``; keys under a random prefix, deleted after).

    .venv/bin/python bench/queued_recapture.py --sources 100
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture_vs_wget import ARTICLE_PATH, build_site, expected_resources, host_name  # noqa: E402
from workers_scaling import drop_keys, one_run  # noqa: E402


def archive_bytes(ws: Path) -> int:
    return sum(p.stat().st_size for p in (ws / "archive").glob("*.warc.gz"))


def last_manifest(ws: Path) -> dict:
    return yaml.safe_load(sorted((ws / "manifests").glob("*.yaml"))[-1].read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sources", type=int, default=100)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = ap.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    queue = f"{args.redis}?prefix={prefix}"
    site = build_site(args.sources, args.latency)
    url = site.url(host_name(0), ARTICLE_PATH)
    print(f"site: {expected_resources(args.sources)} resources on 8 hosts")
    print("| capture | archive/ after the 1st | after the 2nd | added by the 2nd | revisits in the 2nd | flags |")
    print("|---|---|---|---|---|---|")
    try:
        with tempfile.TemporaryDirectory(prefix="archiver-bench-") as tmp:
            for workers in (0, args.workers):
                ws = Path(tmp) / f"ws-{workers}"
                one_run(url, workers, queue, Path(tmp), ws=ws)
                first = archive_bytes(ws)
                one_run(url, workers, queue, Path(tmp), ws=ws)
                second, manifest = archive_bytes(ws), last_manifest(ws)
                revisits = sum(1 for r in manifest["resources"] if r.get("revisit_of"))
                label = "one process" if not workers else f"--queue, {workers} workers"
                print(f"| {label} | {first:,} B | {second:,} B | {second - first:,} B | {revisits} of "
                      f"{len(manifest['resources'])} | {len(manifest.get('flags') or [])} |")
    finally:
        site.stop()
        drop_keys(args.redis, prefix)


if __name__ == "__main__":
    main()
