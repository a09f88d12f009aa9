"""Where the bytes of an unchanged re-capture go, for ``dedup_recapture.py``: per resource of the
second capture, its WARC records, its manifest entry and its index rows, each split into parts.

- WARC: for each record type, the gzip framing (18 bytes a member: header and trailer) and the
  deflated cost of each line of the record, in order: each line costs what it adds to the deflated
  size of the lines before it (zlib level 6, raw deflate), so the parts add up to the record's
  deflated size. ``http:`` lines are the HTTP head in the record's block.
- manifest: the bytes of the capture's manifest file, the ``resources`` list split by key (a key's
  nested lines count for it), and the rest of the file.
- index: SQLite's ``dbstat`` pages of each table and index, after the second capture less after
  the first (the whole pages, free space in them included).

Run on its own, it captures dedup_recapture.py's shape (a) site twice into a workspace, for each
case asked: ``identical`` (the server has no validators, so the re-capture gets 200s and writes
identical-payload revisits) and ``304`` (the server answers conditional requests; the re-capture
writes server-not-modified revisits). It prints where the re-capture's bytes go, and with
``--floor`` the smallest WARC 1.1 records for the same exchanges (bench/revisit_floor.py), read
back with warcio.

Run:  .venv/bin/python bench/revisit_bytes.py --floor [--long-urls] [--sources N] [--cases identical 304]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

GZIP_FRAMING = 18


def members(warc: Path) -> list[tuple[bytes, int]]:
    """(decompressed record, compressed member length) of each gzip member of ``warc``."""
    data, pos, out = warc.read_bytes(), 0, []
    while pos < len(data):
        d = zlib.decompressobj(31)
        record = d.decompress(data[pos:])
        used = len(data) - pos - len(d.unused_data)
        out.append((record, used))
        pos += used
    return out


def _deflated(data: bytes) -> int:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return len(c.compress(data) + c.flush())


def _line_costs(record: bytes) -> Counter:
    """Deflated bytes each line adds to the lines before it, by the line's field name."""
    head, _, block = record.partition(b"\r\n\r\n")
    http_head = block.split(b"\r\n\r\n", 1)[0] if block[:5] in (b"HTTP/", b"GET /", b"HEAD ", b"POST ") else b""
    lines = [(b"", line) for line in head.split(b"\r\n")] + [(b"http:", line) for line in http_head.split(b"\r\n")]
    costs: Counter = Counter()
    done, before = b"", 0
    for prefix, line in lines:
        done += line + b"\r\n"
        now = _deflated(done)
        if line.startswith(b"WARC/"):
            name = "WARC/1.1 (version line)"
        elif prefix and (line.startswith(b"HTTP/") or b" HTTP/1." in line):
            name = "http: status or request line"
        elif b":" in line:
            name = (prefix + line.split(b":", 1)[0]).decode(errors="replace")
        else:
            name = "(empty line)"
        costs[name] += now - before
        before = now
    costs["rest (end of record)"] += _deflated(record) - before
    return costs


def warc_parts(warcs: list[Path], resources: int) -> dict[str, dict[str, float]]:
    """{record type: {part: bytes per resource}} of the request and revisit records."""
    parts: dict[str, Counter] = {}
    actual: Counter = Counter()
    for warc in warcs:
        for record, length in members(warc):
            kind = record.split(b"WARC-Type: ", 1)[1].split(b"\r\n", 1)[0].decode() if b"WARC-Type: " in record else "?"
            if kind not in ("request", "revisit"):
                continue
            parts.setdefault(kind, Counter()).update(_line_costs(record))
            parts[kind]["gzip framing"] += GZIP_FRAMING
            actual[kind] += length
    out = {}
    for kind, costs in parts.items():
        out[kind] = {k: v / resources for k, v in costs.most_common()}
        out[kind]["= deflated here (level 6)"] = sum(costs.values()) / resources
        out[kind]["= as written"] = actual[kind] / resources
    return out


def manifest_parts(manifest: Path, resources: int) -> dict[str, float]:
    """Bytes per resource of the manifest file: its resources list by key, and the rest."""
    costs: Counter = Counter()
    inside, key = False, ""
    for line in manifest.read_bytes().splitlines(keepends=True):
        if not line.startswith((b" ", b"-")):
            inside = line.startswith(b"resources:")
            costs["rest of the manifest" if not inside else "resources: (line)"] += len(line)
            continue
        if not inside:
            costs["rest of the manifest"] += len(line)
            continue
        if line.startswith((b"- ", b"  ")) and not line.startswith(b"    "):
            key = line[2:].split(b":", 1)[0].decode(errors="replace")
        costs[f"resources: {key}"] += len(line)
    return {k: v / resources for k, v in costs.most_common()}


def index_pages(path: Path) -> Counter:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return Counter(dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()))
    finally:
        db.close()


def index_parts(before: Counter, after: Counter, file_growth: int, resources: int) -> dict[str, float]:
    """Bytes per resource each table and index grew by, and the file's growth beyond them."""
    grown = {name: after[name] - before.get(name, 0) for name in after}
    out = {name: n / resources for name, n in sorted(grown.items(), key=lambda kv: -kv[1]) if n}
    out["other (free pages)"] = (file_growth - sum(grown.values())) / resources
    return out


def report(warc: dict[str, dict[str, float]], manifest: dict[str, float], index: dict[str, float]) -> list[str]:
    lines = ["where the bytes of an unchanged resource go (bytes per resource of the 2nd capture):"]
    for kind, parts in warc.items():
        lines.append(f"  WARC {kind} record: {parts['= as written']:,.0f} B as written")
        lines += [f"    {name:<40} {b:>8.1f}" for name, b in parts.items() if not name.startswith("= ")]
        lines.append(f"    {'(deflated here at level 6)':<40} {parts['= deflated here (level 6)']:>8.1f}")
    lines.append(f"  manifest: {sum(manifest.values()):,.0f} B")
    lines += [f"    {name:<40} {b:>8.1f}" for name, b in manifest.items() if b >= 0.5]
    lines.append(f"  index: {sum(index.values()):,.0f} B")
    lines += [f"    {name:<40} {b:>8.1f}" for name, b in index.items() if abs(b) >= 0.5]
    return lines


def breakdown(ws: Path, summary: dict[str, Any], pages_before: Counter, index_bytes_before: int) -> dict[str, Any]:
    """WARC records, manifest and index of the capture ``summary`` (its ``--json``), by part, per resource."""
    index, resources = ws / ".archiver" / "index.sqlite", int(summary["resources"])
    return {"warc": warc_parts([ws / p for p in summary["warc_files"]], resources),
            "manifest": manifest_parts(ws / "manifests" / f"{summary['capture_id']}.yaml", resources),
            "index": index_parts(pages_before, index_pages(index), index.stat().st_size - index_bytes_before,
                                 resources)}


# --------------------------------------------------------------------------- run on its own

LATENCY = 0.005     # seconds added to every response, as dedup_recapture.py's default: no byte depends on it
CASES = {"identical": "identical payload: a server without validators (200s, identical-payload revisits)",
         "304": "304: a server that answers conditional requests (server-not-modified revisits)"}


def recapture(case: str, args: argparse.Namespace, work: Path) -> list[str]:
    """Capture the site twice into one workspace; the report of the second capture."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import capture_vs_wget as base
    import dedup_recapture as dedup
    import revisit_floor as floor

    site = base.build_site(args.sources, LATENCY, (3, 5), long_urls=args.long_urls)
    site.validators = case == "304"
    ws = work / f"ws-{case}"
    try:
        url = site.url(base.host_name(0), base.ARTICLE_PATH)
        dedup.run_archiver(url, ws, work, f"{case}-1")
        index = ws / ".archiver" / "index.sqlite"
        before = [dedup.archive_bytes(ws), dedup.dir_bytes(ws / "manifests"), index.stat().st_size]
        pages = index_pages(index)
        _, summary = dedup.run_archiver(url, ws, work, f"{case}-2")
    finally:
        site.stop()
    n = int(summary["resources"])
    grown = [dedup.archive_bytes(ws) - before[0], dedup.dir_bytes(ws / "manifests") - before[1],
             index.stat().st_size - before[2]]
    parts = breakdown(ws, summary, pages, before[2])
    lines = [f"case {CASES[case]}; {args.sources} sources, "
             + ("URLs of 120-200 characters" if args.long_urls else "short URLs") + f", {n:,} resources re-captured",
             f"  the re-capture added per resource: WARC {grown[0] / n:,.0f} B, manifest {grown[1] / n:,.0f} B, "
             f"index {grown[2] / n:,.0f} B, together {sum(grown) / n:,.0f} B",
             *report(parts["warc"], parts["manifest"], parts["index"])]
    if args.floor:
        recs = floor.exchanges(m for p in summary["warc_files"] for m in members(ws / p))
        verified = floor.verify_floor([floor.floor_parts(ex) for ex in recs.exchanges], floor.warcio_command())
        lines += floor.report(floor.figures(recs), recs, n, verified)
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Where the bytes of an unchanged re-capture go; with --floor, the "
                                            "smallest WARC 1.1 records for the same exchanges.")
    p.add_argument("--floor", action="store_true",
                   help="also build the smallest spec-conformant records for the same exchanges and check them with warcio")
    p.add_argument("--long-urls", action="store_true", help="source pages and requisites with 120-200 character URLs")
    p.add_argument("--sources", type=int, default=200, help="source pages linked from the article (default 200)")
    p.add_argument("--cases", nargs="+", choices=tuple(CASES), default=list(CASES),
                   help="identical (200s, identical-payload revisits) and/or 304 (default both)")
    args = p.parse_args(argv)
    if args.sources < 1:
        p.error("--sources must be 1 or more")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-revisit-bytes-") as tmp:
        for case in args.cases:
            print("\n".join(recapture(case, args, Path(tmp))) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
