"""``dedup_recapture.py --conditional``: an unchanged re-capture against a server that answers
conditional requests, conditional (the default) against ``--no-conditional``, side by side.

The site is capture_vs_wget's (8 loopback hosts, an article linking ``--sources`` source pages with
4 requisites each; ``--long-urls`` for 120-200 character URLs), with the demo server's validators
on: every 200 carries an ETag and a Last-Modified, and a request that matches them gets a 304 with
no body. For each mode a new workspace is captured twice (``archiver -w WS capture --json URL``,
the second time with ``--no-conditional`` for the unconditional mode). Printed per mode: the body
bytes the server sent during the re-capture (its own log), its 304s and 200s, and what the
re-capture added to the workspace per unchanged resource: WARC (archive/), manifest (manifests/)
and index (.archiver/), each and together. ``verify`` must exit 0 after each.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import capture_vs_wget as base  # the site and the child-process helpers


@dataclass(frozen=True, slots=True)
class ModeFigures:
    mode: str                      # conditional | unconditional
    resources: int                 # of the re-capture
    body_bytes_sent: int           # body bytes the server sent during the re-capture
    answers_304: int
    answers_200: int
    warc_added: int
    manifest_added: int
    index_added: int
    wall_s: float
    verify_exit: int

    def per_resource(self, added: int) -> float:
        return added / max(self.resources, 1)

    @property
    def total_added(self) -> int:
        return self.warc_added + self.manifest_added + self.index_added


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _capture(ws: Path, url: str, work: Path, label: str, *flags: str) -> tuple[base.ChildRun, dict[str, Any]]:
    run = base.run_child([base.archiver_command(), "-w", str(ws), "capture", "--json", *flags, url],
                         dict(os.environ), work, label)
    if run.returncode != 0:
        sys.exit(f"archiver capture failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return run, json.loads(run.stdout)


def measure_mode(mode: str, site: base.CountingSite, url: str, work: Path) -> ModeFigures:
    ws = work / f"ws-{mode}"
    _capture(ws, url, work, f"{mode}-1")
    with site._lock:
        site.served[:] = []
    sizes = [_bytes(ws / d) for d in ("archive", "manifests", ".archiver")]
    run, summary = _capture(ws, url, work, f"{mode}-2", *(["--no-conditional"] if mode == "unconditional" else []))
    with site._lock:
        served, site.served[:] = list(site.served), []
    after = [_bytes(ws / d) for d in ("archive", "manifests", ".archiver")]
    verify = base.run_child([base.archiver_command(), "-w", str(ws), "verify", "--json"], dict(os.environ), work,
                            f"{mode}-verify")
    return ModeFigures(mode, int(summary["resources"]), sum(len(s.body) for s in served),
                       sum(1 for s in served if s.status == 304), sum(1 for s in served if s.status == 200),
                       after[0] - sizes[0], after[1] - sizes[1], after[2] - sizes[2], run.wall, verify.returncode)


def run(sources: int, latency: float, image_kb: tuple[int, int], long_urls: bool, as_json: bool) -> int:
    site = base.build_site(sources, latency, image_kb, long_urls=long_urls)
    site.validators = True
    try:
        url = site.url(base.host_name(0), base.ARTICLE_PATH)
        with tempfile.TemporaryDirectory(prefix="bench-conditional-") as tmp:
            figures = [measure_mode(m, site, url, Path(tmp)) for m in ("conditional", "unconditional")]
    finally:
        site.stop()
    row = "{:<44} {:>16} {:>16}".format
    c, u = figures
    print(f"conditional re-capture: article + {sources} sources x 4 requisites, images {image_kb[0]} and "
          f"{image_kb[1]} KiB, {latency * 1000:g} ms latency" + (", URLs of 120-200 characters" if long_urls else ""))
    print(row("", "conditional", "--no-conditional"))
    print(row("resources re-captured", f"{c.resources:,}", f"{u.resources:,}"))
    print(row("body bytes the server sent", f"{c.body_bytes_sent:,}", f"{u.body_bytes_sent:,}"))
    print(row("answers 304 / 200", f"{c.answers_304} / {c.answers_200}", f"{u.answers_304} / {u.answers_200}"))
    for label, attr in (("WARC", "warc_added"), ("manifest", "manifest_added"), ("index", "index_added")):
        print(row(f"{label} bytes added per resource", f"{c.per_resource(getattr(c, attr)):,.0f}",
                  f"{u.per_resource(getattr(u, attr)):,.0f}"))
    print(row("together per resource", f"{c.per_resource(c.total_added):,.0f}", f"{u.per_resource(u.total_added):,.0f}"))
    print(row("re-capture wall time (s)", f"{c.wall_s:.2f}", f"{u.wall_s:.2f}"))
    print(row("verify exit", str(c.verify_exit), str(u.verify_exit)))
    if as_json:
        print(json.dumps([asdict(f) | {"total_added": f.total_added} for f in figures], indent=2))
    return 0 if c.verify_exit == 0 and u.verify_exit == 0 else 1
