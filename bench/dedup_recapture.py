"""Benchmark: what a second capture of an unchanged site adds, archiver (dedup) against wget (none).

The site is the one of ``capture_vs_wget.py`` (imported, not copied): 8 loopback hosts, an article
linking ``--sources`` source pages, each with a CSS file, a JS file and two images. Two shapes are
measured:

  (a) small requisites: images of ``--small-kb`` KiB (default 3 and 5, capture_vs_wget's default);
  (b) large resources: images of ``--large-kb`` KiB (default 160 and 330, which makes the average
      payload per resource about 100 KB: pages, CSS and JS stay small, so with capture_vs_wget's
      ``--image-kb 100 200`` the average is only about 62 KB). The real average is printed.

For each shape, archiver captures the article twice into one workspace
(``archiver -w WS capture --json URL``). The script records the bytes under ``archive/`` after each
capture, counts the record types of the second capture's WARC with warcio, and checks that every
2xx response of the first capture became a ``revisit`` record in the second one that refers to it
(same record id and payload digest). ``archiver -w WS verify --json`` must exit 0 afterwards. wget
(``--warc-file --page-requisites --span-hosts --recursive --level=1 -e robots=on``) also fetches the
site twice, into two WARC files: it has no deduplication, so its second file is the reference.

The site must serve identical bodies on every capture: the script logs the sha256 of every body
served and checks that no URL was served with two different bodies.

``--conditional``: against a server that answers conditional requests, a conditional re-capture
and a ``--no-conditional`` one side by side (bench/dedup_conditional.py).

Run:  /work/venv/bin/python bench/dedup_recapture.py [--sources N] [--shapes a b] [--long-urls] [--conditional] [--json]
Needs wget on PATH and warcio (an archiver dependency).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
import capture_vs_wget as base  # the site and the child-process helpers
import revisit_bytes  # where the bytes of an unchanged resource go

TARGET_BYTES_PER_RESOURCE = 1000        # shape (a): WARC + manifest + index bytes the second capture adds per resource
TARGET_PERCENT = 3.0                    # shape (b): second capture's bytes as % of the first's
KB = 1000

# the names of the checks in ShapeFigures.targets
T_IDENTICAL = "identical bodies on every fetch"
T_ALL_REVISITS = "every 2xx response became a revisit"
T_REVISITS_BUT_ROBOTS = "every 2xx response other than robots.txt became a revisit"
T_VERIFY = "verify exit 0"
T_PER_RESOURCE = f"<= {TARGET_BYTES_PER_RESOURCE:,} B (WARC + manifest + index) added per unchanged resource"
T_PERCENT = f"<= {TARGET_PERCENT:g}% of the first capture's bytes"


# --------------------------------------------------------------------------- reading WARC files


@dataclass(slots=True)
class WarcContents:
    """Record counts and compressed bytes per WARC-Type, and the 2xx responses / revisits by URL."""

    records: Counter = field(default_factory=Counter)
    bytes_by_type: Counter = field(default_factory=Counter)
    responses_2xx: dict[str, tuple[str, str]] = field(default_factory=dict)   # url -> (record id, payload digest)
    revisits: dict[str, tuple[str, str]] = field(default_factory=dict)        # url -> (refers-to, payload digest)
    payload_bytes: int = 0                                                      # HTTP bodies of responses

    def add(self, warc: Path) -> WarcContents:
        with open(warc, "rb") as fh:
            it = ArchiveIterator(fh)
            for record in it:
                kind = record.rec_type
                url = record.rec_headers.get_header("WARC-Target-URI")
                digest = record.rec_headers.get_header("WARC-Payload-Digest")
                if kind == "response":
                    self.payload_bytes += len(record.raw_stream.read())
                    status = record.http_headers.get_statuscode() if record.http_headers else ""
                    if status.startswith("2"):
                        self.responses_2xx[url] = (record.rec_headers.get_header("WARC-Record-ID"), digest)
                elif kind == "revisit":
                    self.revisits[url] = (record.rec_headers.get_header("WARC-Refers-To"), digest)
                self.records[kind] += 1
                self.bytes_by_type[kind] += it.get_record_length()
        return self


def archive_bytes(workspace: Path) -> int:
    return sum(p.stat().st_size for p in (workspace / "archive").iterdir() if p.is_file())


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- served bodies


class BodyLog:
    """sha256 of every body the site served, per URL; the site's own log is drained after each run
    (it keeps the bodies in memory)."""

    def __init__(self) -> None:
        self.digests: dict[str, set[str]] = {}
        self.served = 0

    def drain(self, site: base.Site) -> int:
        with site._lock:
            served, site.served[:] = list(site.served), []
        for s in served:
            self.digests.setdefault(s.url, set()).add(s.sha256)
        self.served += len(served)
        return len(served)

    def changed(self) -> list[str]:
        return sorted(url for url, d in self.digests.items() if len(d) > 1)


# --------------------------------------------------------------------------- the runs


class _Added:
    """What a second capture added: per resource of the second capture, and as a share of the first."""

    __slots__ = ()
    warc_bytes_added: int
    warc_bytes_first: int
    resources_second: int

    @property
    def added_per_resource(self) -> float:
        return self.warc_bytes_added / max(self.resources_second, 1)

    @property
    def added_percent(self) -> float:
        return 100.0 * self.warc_bytes_added / max(self.warc_bytes_first, 1)


@dataclass(frozen=True, slots=True)
class ArchiverFigures(_Added):
    resources_first: int
    resources_second: int
    payload_bytes_first: int
    warc_bytes_first: int                 # archive/ after the first capture
    warc_bytes_added: int                 # archive/ growth by the second capture
    manifest_bytes_added: int             # manifests/ growth by the second capture (not counted above)
    index_bytes_added: int                # .archiver/index.sqlite growth by the second capture
    breakdown: dict[str, Any]             # revisit_bytes: WARC records, manifest and index, by part
    workspace_bytes_added: int            # the whole workspace: archive/, manifests/, .archiver/ (index)
    wall_first_s: float
    wall_second_s: float
    records_second: dict[str, int]
    bytes_by_type_second: dict[str, int]
    responses_2xx_first: int
    revisits_second: int
    revisits_referring_to_first: int
    not_revisited: list[dict[str, str]]   # 2xx responses of the first capture without a revisit
    verify_exit: int
    verify_ok: bool
    verify_problems: list[str]


    @property
    def all_added_per_resource(self) -> float:
        """WARC, manifest and index bytes added, per resource of the second capture."""
        total = self.warc_bytes_added + self.manifest_bytes_added + self.index_bytes_added
        return total / max(self.resources_second, 1)


@dataclass(frozen=True, slots=True)
class WgetFigures(_Added):
    resources_first: int
    resources_second: int
    warc_bytes_first: int
    warc_bytes_added: int
    wall_first_s: float
    wall_second_s: float
    exit_codes: tuple[int, int]


@dataclass(frozen=True, slots=True)
class ShapeFigures:
    shape: str
    sources: int
    image_kb: tuple[int, int]
    latency: float
    long_urls: bool                       # source pages and requisites with 120-200 character URLs
    expected_resources: int
    average_payload_bytes: float          # per resource, first archiver capture
    average_image_bytes: float
    average_other_bytes: float            # article, pages, CSS, JS, robots.txt
    bodies_served: int
    urls_with_changed_body: list[str]
    archiver: ArchiverFigures
    wget: WgetFigures

    @property
    def targets(self) -> dict[str, bool]:
        a = self.archiver
        met = {
            T_IDENTICAL: not self.urls_with_changed_body,
            T_ALL_REVISITS: not a.not_revisited,
            T_REVISITS_BUT_ROBOTS: not [m for m in a.not_revisited if not _is_robots(m["url"])],
            T_VERIFY: a.verify_exit == 0,
        }
        if self.shape == "a":
            met[T_PER_RESOURCE] = a.all_added_per_resource <= TARGET_BYTES_PER_RESOURCE
        else:
            met[T_PERCENT] = a.added_percent <= TARGET_PERCENT
        return met

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key, obj in (("archiver", self.archiver), ("wget", self.wget)):
            out[key]["added_per_resource"] = obj.added_per_resource
            out[key]["added_percent"] = obj.added_percent
        out["targets_met"] = self.targets
        return out


def run_archiver(url: str, workspace: Path, work: Path, label: str) -> tuple[base.ChildRun, dict[str, Any]]:
    argv = [base.archiver_command(), "-w", str(workspace), "capture", "--json", url]
    run = base.run_child(argv, dict(os.environ), work, label)
    if run.returncode != 0:
        sys.exit(f"archiver capture failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return run, json.loads(run.stdout)


def run_verify(workspace: Path, work: Path) -> tuple[int, dict[str, Any]]:
    argv = [base.archiver_command(), "-w", str(workspace), "verify", "--json"]
    run = base.run_child(argv, dict(os.environ), work, "verify")
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        report = {"ok": False, "problems": [{"line": run.stderr.strip()[-500:]}]}
    return run.returncode, report


def run_wget(url: str, work: Path, label: str) -> tuple[base.ChildRun, Path]:
    argv = [base.wget_command(), f"--warc-file={work / label}", "--page-requisites", "--span-hosts", "--recursive",
            "--level=1", "--no-verbose", "-e", "robots=on", "--directory-prefix", str(work / f"{label}-files"), url]
    run = base.run_child(argv, {**os.environ, "no_proxy": "*"}, work, label)
    warc = work / f"{label}.warc.gz"
    if not warc.exists():
        sys.exit(f"wget wrote no WARC (exit {run.returncode}):\n{run.stderr[-2000:]}")
    return run, warc


def measure_archiver(url: str, work: Path, site: base.Site, log: BodyLog) -> tuple[ArchiverFigures, WarcContents]:
    ws = work / "ws"
    run1, s1 = run_archiver(url, ws, work, "archiver-1")
    log.drain(site)
    bytes1, manifests1, all1 = archive_bytes(ws), dir_bytes(ws / "manifests"), dir_bytes(ws)
    index = ws / ".archiver" / "index.sqlite"
    index1, pages1 = index.stat().st_size, revisit_bytes.index_pages(index)
    run2, s2 = run_archiver(url, ws, work, "archiver-2")
    log.drain(site)
    bytes2, manifests2, all2 = archive_bytes(ws), dir_bytes(ws / "manifests"), dir_bytes(ws)
    index2 = index.stat().st_size
    breakdown = revisit_bytes.breakdown(ws, s2, pages1, index1)

    first, second = WarcContents(), WarcContents()
    for p in s1["warc_files"]:
        first.add(ws / p)
    for p in s2["warc_files"]:
        second.add(ws / p)

    missing, referring = [], 0
    for u, (record_id, digest) in sorted(first.responses_2xx.items()):
        got = second.revisits.get(u)
        if got is None:
            kind = "response" if u in second.responses_2xx else "absent"
            missing.append({"url": u, "second_capture_has": kind})
        elif got == (record_id, digest):
            referring += 1
        else:
            missing.append({"url": u, "second_capture_has": f"revisit referring to {got[0]} ({got[1]})"})

    code, report = run_verify(ws, work)
    figs = ArchiverFigures(
        resources_first=int(s1["resources"]), resources_second=int(s2["resources"]),
        payload_bytes_first=int(s1["payload_bytes"]),
        warc_bytes_first=bytes1, warc_bytes_added=bytes2 - bytes1, manifest_bytes_added=manifests2 - manifests1,
        workspace_bytes_added=all2 - all1, index_bytes_added=index2 - index1, breakdown=breakdown,
        wall_first_s=run1.wall, wall_second_s=run2.wall,
        records_second=dict(second.records), bytes_by_type_second=dict(second.bytes_by_type),
        responses_2xx_first=len(first.responses_2xx), revisits_second=second.records["revisit"],
        revisits_referring_to_first=referring, not_revisited=missing,
        verify_exit=code, verify_ok=bool(report.get("ok")),
        verify_problems=[p.get("line", str(p)) for p in report.get("problems", [])])
    return figs, first


def measure_wget(url: str, work: Path, site: base.Site, log: BodyLog) -> WgetFigures:
    run1, warc1 = run_wget(url, work, "wget-1")
    log.drain(site)
    run2, warc2 = run_wget(url, work, "wget-2")
    log.drain(site)
    c1, c2 = WarcContents().add(warc1), WarcContents().add(warc2)
    return WgetFigures(resources_first=c1.records["response"], resources_second=c2.records["response"],
                       warc_bytes_first=warc1.stat().st_size, warc_bytes_added=warc2.stat().st_size,
                       wall_first_s=run1.wall, wall_second_s=run2.wall,
                       exit_codes=(run1.returncode, run2.returncode))


def site_sizes(sources: int, image_kb: tuple[int, int], site: base.Site) -> tuple[float, float]:
    """Average body bytes of the images, and of everything else the site serves."""
    images, other = [], []
    for host in site.hosts.values():
        for path, route in host.routes.items():
            (images if path.endswith(".png") else other).append(len(route.body))
    return sum(images) / max(len(images), 1), sum(other) / max(len(other), 1)


def measure_shape(shape: str, sources: int, image_kb: tuple[int, int], latency: float,
                  long_urls: bool = False) -> ShapeFigures:
    site = base.build_site(sources, latency, image_kb, long_urls=long_urls)
    log = BodyLog()
    try:
        url = site.url(base.host_name(0), base.ARTICLE_PATH)
        avg_image, avg_other = site_sizes(sources, image_kb, site)
        with tempfile.TemporaryDirectory(prefix="bench-dedup-") as tmp:
            work = Path(tmp)
            archiver, _ = measure_archiver(url, work, site, log)
            wget = measure_wget(url, work, site, log)
    finally:
        site.stop()
    return ShapeFigures(
        shape=shape, sources=sources, image_kb=image_kb, latency=latency, long_urls=long_urls,
        expected_resources=base.expected_resources(sources),
        average_payload_bytes=archiver.payload_bytes_first / max(archiver.resources_first, 1),
        average_image_bytes=avg_image, average_other_bytes=avg_other,
        bodies_served=log.served, urls_with_changed_body=log.changed(), archiver=archiver, wget=wget)


# --------------------------------------------------------------------------- report


def _is_robots(url: str) -> bool:
    return url.split("?", 1)[0].endswith("/robots.txt")


def _met(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def report(f: ShapeFigures) -> str:
    a, w, t = f.archiver, f.wget, f.targets
    n2 = max(a.resources_second, 1)
    row = "{:<40} {:>14} {:>14}   {}".format
    per_target = f"target <= {TARGET_BYTES_PER_RESOURCE:,} B: {_met(t[T_PER_RESOURCE])}" if T_PER_RESOURCE in t else ""
    pct_target = f"target <= {TARGET_PERCENT:g}%: {_met(t[T_PERCENT])}" if T_PERCENT in t else ""
    lines = [
        (f"shape ({f.shape}): article + {f.sources} sources x 4 requisites, images {f.image_kb[0]} and "
         f"{f.image_kb[1]} KiB, {f.latency * 1000:g} ms latency ({f.expected_resources} resources incl. robots.txt)"
         + (", URLs of 120-200 characters" if f.long_urls else "")),
        (f"  average payload per resource {f.average_payload_bytes / KB:,.1f} KB "
         f"(images {f.average_image_bytes / KB:,.1f} KB; article, pages, CSS, JS, robots.txt "
         f"{f.average_other_bytes / KB:,.1f} KB)"),
        (f"  bodies served {f.bodies_served:,}; URLs served with differing bodies: "
         f"{len(f.urls_with_changed_body)} ({_met(t[T_IDENTICAL])})"),
        "",
        row("", "archiver", "wget", "target"),
        row("resources (1st / 2nd)", f"{a.resources_first} / {a.resources_second}",
            f"{w.resources_first} / {w.resources_second}", f"expected {f.expected_resources}"),
        row("WARC bytes after 1st capture", f"{a.warc_bytes_first:,}", f"{w.warc_bytes_first:,}", ""),
        row("WARC bytes added by 2nd capture", f"{a.warc_bytes_added:,}", f"{w.warc_bytes_added:,}", ""),
        row("  per unchanged resource (B)", f"{a.added_per_resource:,.0f}", f"{w.added_per_resource:,.0f}", ""),
        row("manifest bytes added, per resource", f"{a.manifest_bytes_added / n2:,.0f}", "-", ""),
        row("index bytes added, per resource", f"{a.index_bytes_added / n2:,.0f}", "-", ""),
        row("WARC + manifest + index, per resource", f"{a.all_added_per_resource:,.0f}",
            f"{w.added_per_resource:,.0f}", per_target),
        row("  % of the 1st capture's bytes", f"{a.added_percent:.2f}%", f"{w.added_percent:.1f}%", pct_target),
        row("wall time 1st / 2nd (s)", f"{a.wall_first_s:.2f} / {a.wall_second_s:.2f}",
            f"{w.wall_first_s:.2f} / {w.wall_second_s:.2f}", ""),
        "",
        "archiver's 2nd capture, by record type (count, compressed bytes, bytes per record):",
    ]
    for kind in sorted(a.records_second, key=lambda k: -a.bytes_by_type_second[k]):
        n, b = a.records_second[kind], a.bytes_by_type_second[kind]
        lines.append(f"  {kind:<12} {n:>6} {b:>12,} {b / n:>10,.0f}")
    lines.append(f"  manifests/ grew by {a.manifest_bytes_added:,} bytes, .archiver/index.sqlite by "
                 f"{a.index_bytes_added:,}; the whole workspace by {a.workspace_bytes_added:,}")
    lines += ["", *revisit_bytes.report(a.breakdown["warc"], a.breakdown["manifest"], a.breakdown["index"])]
    lines += [
        "",
        (f"2xx responses in the 1st capture: {a.responses_2xx_first}; revisits in the 2nd: {a.revisits_second}, "
         f"{a.revisits_referring_to_first} of them referring to the 1st capture's record (same payload digest)"),
        (f"  not revisited: {len(a.not_revisited)}   every 2xx response became a revisit: "
         f"{_met(t[T_ALL_REVISITS])}"),
    ]
    lines.append(f"  not revisited apart from robots.txt: "
                 f"{sum(1 for m in a.not_revisited if not _is_robots(m['url']))}   "
                 f"(robots.txt was once exempt from dedup; it no longer is): "
                 f"{_met(t[T_REVISITS_BUT_ROBOTS])}")
    lines += [f"    {m['url']}  (2nd capture has: {m['second_capture_has']})" for m in a.not_revisited[:30]]
    if len(a.not_revisited) > 30:
        lines.append(f"    ... and {len(a.not_revisited) - 30} more")
    lines.append(f"archiver verify: exit {a.verify_exit}, ok={a.verify_ok}   target exit 0: "
                 f"{_met(t[T_VERIFY])}")
    lines += [f"    {p}" for p in a.verify_problems[:10]]
    if w.exit_codes != (0, 0):
        lines.append(f"note: wget exit codes {w.exit_codes[0]}, {w.exit_codes[1]}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Bytes a second capture of an unchanged site adds: archiver vs wget.")
    p.add_argument("--sources", type=int, default=200, help="source pages linked from the article (default 200)")
    p.add_argument("--latency", type=float, default=0.005, help="seconds added to every response (default 0.005)")
    p.add_argument("--small-kb", type=int, nargs=2, default=(3, 5), metavar=("A", "B"),
                   help="image sizes in KiB of shape (a) (default 3 5)")
    p.add_argument("--large-kb", type=int, nargs=2, default=(160, 330), metavar=("A", "B"),
                   help="image sizes in KiB of shape (b) (default 160 330: about 100 KB per resource on average)")
    p.add_argument("--shapes", nargs="+", choices=("a", "b"), default=["a", "b"], help="shapes to run (default a b)")
    p.add_argument("--long-urls", action="store_true",
                   help="source pages and requisites with 120-200 character URLs (as news sites' dated, slugged ones)")
    p.add_argument("--conditional", action="store_true",
                   help="instead: a server that answers conditional requests; re-capture conditional vs "
                        "--no-conditional side by side (bench/dedup_conditional.py; shape (a) sizes)")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args(argv)
    if args.sources < 1 or args.latency < 0:
        p.error("--sources must be 1 or more and --latency 0 or more")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.conditional:
        import dedup_conditional

        return dedup_conditional.run(args.sources, args.latency, tuple(args.small_kb), args.long_urls, args.json)
    results = []
    for shape in args.shapes:
        kb = tuple(args.small_kb if shape == "a" else args.large_kb)
        started = time.perf_counter()
        result = measure_shape(shape, args.sources, kb, args.latency, args.long_urls)
        results.append(result)
        print(report(result))
        print(f"  (shape measured in {time.perf_counter() - started:.0f} s)\n", flush=True)
    if args.json:
        print(json.dumps([r.as_json() for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
