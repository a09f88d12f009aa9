"""Benchmark: ``archiver verify`` against ``sha256sum`` on a synthetic workspace of WARC files.

The script builds a workspace of at least ``--gigabytes`` (default 1.0, 1 GB = 10^9 bytes) of
compressed WARC files, 100-250 MB each, one file per capture. Every file is written by archiver's
own writer (``WarcFileWriter`` + ``write_exchange``), listed in a manifest (``build_manifest``) and
sealed (``seal``), so the files are exactly what a capture writes. The records are request/response
pairs: HTML pages of compressible text (20-100 KB) and image-like random bodies (100 KB-2 MB),
about half and half by body bytes. ``archiver verify --quick`` must pass before anything is timed;
generation is not timed.

With a warm page cache (every file is read once first) the script times, best of ``--repeats``:

- ``sha256sum FILE`` for one file after the other (one process per file), total wall time;
- ``sha256sum`` with every file in one invocation;
- ``archiver verify`` in full mode with ``--workers 1`` and with the default (CPU count), and
  ``archiver verify --quick``, each as a child process (wall time, and its CPU time from wait4).

Throughput is compressed bytes on disk / wall seconds, in MB/s (10^6 bytes). Targets: full verify
(default workers) at least as fast as sha256sum file after file, and faster when two cores are free.

Then, in-process on the largest file, it splits the cost of one full scan: ``scan_warc(path)``
against ``scan_warc(path, check_records=False)`` (the file hash only), a plain hashlib.sha256 in
4 MiB blocks, a gunzip of every member with zlib-ng, archiver's deflate (64 KiB of input per
call, as ``scan_warc`` feeds it, and 4 MiB per call), sha256 over the decompressed bytes, and
verify's own split of the file into tasks (``file_digest`` plus ``scan_range`` over ranges of
``fixity.verify.RANGE_BYTES``), one task after the other. It scans the two smallest files
one after the other, in two threads and in two processes (threads gaining less than processes
points at the GIL), with ``scan_warc`` and with ``lean_scan``, the same work done with zlib-ng and
hashlib only. And it times two ``sha256sum`` processes at once against one, to show what a second
core is worth on the machine at that moment.

Run:  /work/venv/bin/python bench/verify_vs_sha256sum.py [--gigabytes 1.0] [--repeats 3]
                                                        [--workdir DIR] [--json]
Needs ``sha256sum`` (GNU coreutils) on PATH.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from archiver.core import deflate as codec
from archiver.core.capture_options import DEFAULT_USER_AGENT
from archiver.core.models import ArchivedResource, CaptureResult, Role, WarcFile
from archiver.core.settings import CaptureOptions, Operator
from archiver.core.workspace import Workspace, new_capture_id
from archiver.fixity.manifest import build_manifest
from archiver.fixity.seal import seal
from archiver.fixity.verify import RANGE_BYTES
from archiver.net.fetch import ACCEPT, Exchange
from archiver.net.wire import build_request, parse_head
from archiver.warc.reader import file_digest, plan_ranges, scan_range, scan_warc
from archiver.warc.writer import CONFORMS_TO, WarcFileWriter, settings_json, warc_date, write_exchange

MB = 10**6
GB = 10**9
MiB = 2**20
FILE_TARGET = 175 * MB                  # average file size aimed at; files span 0.8x-1.2x of it
HTML_BYTES = (20_000, 100_000)          # body size range of a page
IMAGE_BYTES = (100_000, 2_000_000)      # body size range of an image
HASH_BLOCK = 4 * MiB
GUNZIP_FEED = 64 * 1024                 # input bytes per inflate call in the gunzip baseline
HOSTS = 8
OPTIONS = CaptureOptions()
OPERATOR = Operator(name="bench", contact="bench@example.invalid")


# --------------------------------------------------------------------------- synthetic bodies


def vocabulary(rng: random.Random, words: int = 3000) -> list[str]:
    letters = "etaoinshrdlucmfwypvbgkjqxz"
    weights = [12, 9, 8, 8, 7, 7, 6, 6, 6, 4, 4, 3, 3, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]
    lengths = [2, 3, 3, 4, 4, 5, 5, 6, 7, 8, 9]
    return ["".join(rng.choices(letters, weights, k=rng.choice(lengths))) for _ in range(words)]


def marked_up(n: int, word: str) -> str:
    """Every few words a link or an emphasis, as article text has."""
    if n % 14 == 6:
        return f'<a class="inline-link" href="https://www.example.com/topics/{word}/">{word}</a>'
    if n % 11 == 3:
        return f"<em>{word}</em>"
    return word


def paragraph_pool(rng: random.Random, paragraphs: int = 4000) -> list[bytes]:
    """Paragraphs of pseudo-words (Zipf-like frequencies) with inline markup; gzip takes them to
    about a quarter of their size, as it does real article HTML."""
    words = vocabulary(rng)
    ranks = [1.0 / (i + 1) for i in range(len(words))]
    pool = []
    for _ in range(paragraphs):
        text = " ".join(marked_up(n, w) for n, w in enumerate(rng.choices(words, ranks, k=rng.randint(30, 120))))
        pool.append(f'<div class="para"><p class="body-text">{text}</p></div>\n'.encode("ascii"))
    return pool


def html_body(rng: random.Random, pool: list[bytes], size: int, title: str) -> bytes:
    head = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n"
            f"<link rel=\"stylesheet\" href=\"/static/site.css\"></head>\n<body><article>\n"
            f"<h1>{title}</h1>\n").encode("ascii")
    parts, length = [head], len(head)
    while length < size:
        part = rng.choice(pool)
        parts.append(part)
        length += len(part)
    parts.append(b"</article></body></html>\n")
    return b"".join(parts)


def image_body(rng: random.Random, size: int) -> bytes:
    """Incompressible bytes behind a JPEG signature, as a photo is to gzip."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + rng.randbytes(size - 11)


# --------------------------------------------------------------------------- exchanges and records


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    role: Role
    via: str | None
    depth: int
    content_type: str
    body: bytes


def response_head(content_type: str, length: int, when: datetime) -> bytes:
    return (f"HTTP/1.1 200 OK\r\nDate: {when:%a, %d %b %Y %H:%M:%S} GMT\r\nServer: nginx\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n"
            f"Cache-Control: max-age=3600\r\nConnection: close\r\n\r\n").encode("ascii")


def make_exchange(page: Page, when: datetime, address: str) -> Exchange:
    scheme_host, _, path = page.url.partition("://")[2].partition("/")
    request = build_request("GET", "/" + path, [("Host", scheme_host), ("User-Agent", DEFAULT_USER_AGENT),
                                                ("Accept", ACCEPT), ("Accept-Encoding", "identity"),
                                                ("Connection", "close")])
    head = parse_head(response_head(page.content_type, len(page.body), when))
    digest = hashlib.sha256(page.body).hexdigest()
    return Exchange(url=page.url, date=when, request=request, head=head, body=io.BytesIO(page.body),
                    body_bytes=len(page.body), block_digest=hashlib.sha256(head.raw + page.body).hexdigest(),
                    payload_digest=digest, entity_digest=digest, entity_bytes=len(page.body),
                    prefix=b"", remote_address=address)


def pages(rng: random.Random, pool: list[bytes], capture: int) -> Iterator[Page]:
    """An endless stream of pages and images, about half and half by body bytes."""
    seed = f"https://host1.example/c{capture}/article.html"
    yield Page(seed, Role.SEED, None, 0, "text/html; charset=utf-8",
               html_body(rng, pool, rng.randint(*HTML_BYTES), f"Article {capture}"))
    html, image, page_url = 0, 0, seed
    for n in range(1, sys.maxsize):
        host = f"host{n % HOSTS + 1}.example"
        if html <= image:
            page_url = f"https://{host}/c{capture}/source/{n}.html"
            body = html_body(rng, pool, rng.randint(*HTML_BYTES), f"Source {n}")
            html += len(body)
            yield Page(page_url, Role.SOURCE, seed, 1, "text/html; charset=utf-8", body)
        else:
            body = image_body(rng, rng.randint(*IMAGE_BYTES))
            image += len(body)
            yield Page(f"https://{host}/c{capture}/img/{n}.jpg", Role.REQUISITE, page_url, 1, "image/jpeg", body)


def archive_page(writer: WarcFileWriter, ws: Workspace, page: Page, when: datetime) -> ArchivedResource:
    address = f"192.0.2.{zlib.crc32(page.url.split('/')[2].encode()) % 250 + 1}"
    ex = make_exchange(page, when, address)
    fragment = io.BytesIO()
    rec = write_exchange(fragment, ex, writer.warcinfo_id, OPTIONS.compress_level)
    offset = writer.append(fragment)
    return ArchivedResource(
        url=page.url, role=page.role, via=page.via, depth=page.depth, status=200,
        content_type=ex.head.content_type, payload_sha256=ex.entity_digest, payload_bytes=ex.entity_bytes,
        warc=ws.relative(writer.path), offset=offset + rec.request_length, length=rec.response_length,
        record_id=rec.response_id, request_record_id=rec.request_id, date=warc_date(when),
        remote_address=address)


# --------------------------------------------------------------------------- captures


@dataclass(frozen=True, slots=True)
class Written:
    """One capture's WARC file, written but not sealed yet."""

    capture_id: str
    started: datetime
    ended: datetime
    seed: str
    warc: WarcFile
    resources: tuple[ArchivedResource, ...]


def warcinfo(capture_id: str) -> dict[str, str]:
    return {"software": "archiver (bench/verify_vs_sha256sum.py)", "format": "WARC File Format 1.1",
            "conformsTo": CONFORMS_TO, "isPartOf": capture_id, "robots": "obey (linked sources and requisites)",
            "http-header-user-agent": OPTIONS.user_agent, "operator": f"{OPERATOR.name} <{OPERATOR.contact}>",
            "payload-digest-rule": "sha256 of the HTTP body as stored (chunked framing included when sent)",
            "archiver-settings": settings_json(OPTIONS.public())}


def write_capture(root: Path, capture_id: str, started: datetime, target: int, seed: int) -> Written:
    """Write one WARC file of at least ``target`` compressed bytes (runs in a worker process)."""
    ws = Workspace(root)
    rng = random.Random(seed)
    pool = paragraph_pool(rng)
    writer = WarcFileWriter(ws.warc_path(capture_id), warcinfo(capture_id), started, OPTIONS.compress_level)
    resources: list[ArchivedResource] = []
    when = started
    for page in pages(rng, pool, seed):
        when += timedelta(milliseconds=rng.randint(5, 40))
        resources.append(archive_page(writer, ws, page, when))
        if writer.size >= target:
            break
    warc = writer.finish(ws.relative(writer.path))
    return Written(capture_id, started, when, resources[0].url, warc, tuple(resources))


def file_targets(total: int) -> list[int]:
    """File sizes adding up to ``total``: about FILE_TARGET each, spread from 0.8x to 1.2x."""
    count = max(1, math.ceil(total / FILE_TARGET))
    if count == 1:
        return [total]
    factors = [0.8 + 0.4 * i / (count - 1) for i in range(count)]
    return [math.ceil(total * f / sum(factors)) for f in factors]


def seal_capture(ws: Workspace, w: Written) -> None:
    result = CaptureResult(capture_id=w.capture_id, manifest_path="", seeds=(w.seed,), warc_files=(w.warc,),
                           resources=w.resources, failures=(), skipped=(), flags=())
    manifest = build_manifest(result, started=w.started, ended=w.ended, options=OPTIONS, operator=OPERATOR,
                              redacted=[])
    seal(ws, manifest)


def build_workspace(root: Path, total: int, jobs: int) -> list[Path]:
    """Write and seal the captures, in capture-id order; return the WARC files."""
    ws = Workspace(root).ensure()
    targets = file_targets(total)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=len(targets))
    starts = [base + timedelta(hours=i) for i in range(len(targets))]
    ids = [new_capture_id(s, token=f"b{i:05x}") for i, s in enumerate(starts)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        written = list(pool.map(write_capture, [root] * len(ids), ids, starts, targets, range(len(ids))))
    for w in written:
        seal_capture(ws, w)
    return [root / w.warc.path for w in written]


def existing_warcs(root: Path) -> list[Path]:
    return sorted(Workspace(root).archive_dir.glob("*.warc.gz"))


# --------------------------------------------------------------------------- timing child processes


@dataclass(slots=True)
class Timed:
    """One measured command: the best wall time of the repeats, with the CPU time of that run."""

    name: str
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    mb_per_s: float = 0.0

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def cpu_of_best(self) -> float:
        return self.cpus[self.walls.index(self.best)]


def run_child(cmd: Sequence[str], capture: bool = False) -> tuple[float, float, bytes]:
    """Run ``cmd``; return wall seconds, its CPU seconds (user + sys, from wait4) and its stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}: {out[-2000:]!r}")
    return wall, usage.ru_utime + usage.ru_stime, out


def run_all(cmds: Sequence[Sequence[str]], check: Callable[[bytes], None] | None) -> tuple[float, float]:
    """Run commands one after the other; total wall and CPU seconds."""
    cpu = 0.0
    start = time.perf_counter()
    for cmd in cmds:
        _, used, out = run_child(cmd, capture=check is not None)
        cpu += used
        if check:
            check(out)
    wall = time.perf_counter() - start
    return wall, cpu


def archiver_bin() -> str:
    local = Path(sys.executable).with_name("archiver")
    found = str(local) if local.exists() else shutil.which("archiver")
    if not found:
        sys.exit("archiver script not found next to this Python nor on PATH")
    return found


def verify_checker(total: int, full: bool) -> Callable[[bytes], None]:
    """Checks a ``verify --json`` report: intact, no problems, and every byte hashed in full mode."""

    def check(out: bytes) -> None:
        report = json.loads(out)
        if not report["ok"] or report["problems"]:
            raise RuntimeError(f"verify found problems: {report['problems'][:5]}")
        if full and report["bytes_hashed"] != total:
            raise RuntimeError(f"verify hashed {report['bytes_hashed']} bytes, the files hold {total}")

    return check


def commands(root: Path, files: list[Path]) -> dict[str, tuple[list[list[str]], bool | None]]:
    """Name -> (commands run one after the other, None or whether it is a full verify)."""
    verify = [archiver_bin(), "-w", str(root), "verify", "--json"]
    return {
        "sha256sum file after file": ([["sha256sum", str(f)] for f in files], None),
        "sha256sum all files at once": ([["sha256sum", *map(str, files)]], None),
        "archiver verify --workers 1": ([[*verify, "--workers", "1"]], True),
        f"archiver verify (default: {os.cpu_count()} workers)": ([verify], True),
        "archiver verify --quick": ([[*verify, "--quick"]], False),
    }


def time_commands(root: Path, files: list[Path], repeats: int) -> list[Timed]:
    """Every command once per round, rounds repeated, so drifts in machine load hit all alike."""
    total = sum(f.stat().st_size for f in files)
    plan = commands(root, files)
    timed = {name: Timed(name) for name in plan}
    for _ in range(repeats):
        for name, (cmds, full) in plan.items():
            wall, cpu = run_all(cmds, None if full is None else verify_checker(total, full))
            timed[name].walls.append(wall)
            timed[name].cpus.append(cpu)
    for t in timed.values():
        t.mb_per_s = total / MB / t.best
    return list(timed.values())


# --------------------------------------------------------------------------- in-process cost split


def hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(HASH_BLOCK):
            h.update(block)
    return h.hexdigest()


def gunzip(path: Path, feed: int = GUNZIP_FEED, sink: Callable[[bytes], object] | None = None) -> int:
    """Decompress every gzip member of ``path``, passing the output to ``sink``; return its length.

    The file is read in 4 MiB blocks and handed to zlib ``feed`` bytes at a time. When a member
    ends, zlib copies the rest of the input it was given into ``unused_data``: with a small feed
    that copy is small, with ``feed=HASH_BLOCK`` (as ``scan_warc`` does) it is up to 4 MiB for
    every member, which costs time in proportion to members x block size."""
    out_bytes = 0
    decomp = codec.decompressobj(31)
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(HASH_BLOCK):
            view, pos = memoryview(block), 0
            while pos < len(view):
                piece = view[pos:pos + feed]
                out = decomp.decompress(piece)
                out_bytes += len(out)
                if sink is not None:
                    sink(out)
                pos += len(piece) - len(decomp.unused_data)
                if decomp.eof:
                    decomp = codec.decompressobj(31)
    return out_bytes


def hash_chunks(chunks: list[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


@dataclass(slots=True)
class Split:
    """Seconds (best of the repeats, wall and CPU) of each way of reading one file."""

    path: str
    bytes: int
    decompressed_bytes: int
    members: int
    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)


def best_time(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    best = min(range(repeats), key=walls.__getitem__)
    return walls[best], cpus[best]


def cost_split(path: Path, repeats: int) -> Split:
    scan = scan_warc(path)
    if scan.error or any(r.problems for r in scan.records):
        raise RuntimeError(f"scan_warc found problems in {path}: {scan.error}")
    inflated: list[bytes] = []
    cuts = plan_ranges(path.stat().st_size, RANGE_BYTES)
    split = Split(path.name, path.stat().st_size, gunzip(path, sink=inflated.append), len(scan.records))
    ways: dict[str, Callable[[], object]] = {
        "scan_warc(path)  [full verify of one file]": lambda: scan_warc(path),
        "scan_warc(path, check_records=False)": lambda: scan_warc(path, check_records=False),
        "hashlib.sha256 of the file, 4 MiB blocks": lambda: hash_file(path),
        "zlib-ng gunzip, 64 KiB input per call": lambda: gunzip(path),
        "zlib-ng gunzip, 4 MiB input per call": lambda: gunzip(path, feed=HASH_BLOCK),
        "sha256 of the decompressed bytes (memory)": lambda: hash_chunks(inflated),
        f"file_digest + scan_range x {len(cuts)} (verify's tasks)": lambda: ranged(path, cuts),
    }
    for name, fn in ways.items():
        split.wall[name], split.cpu[name] = best_time(fn, repeats)
    return split


def ranged(path: Path, cuts: list[tuple[int, int]]) -> None:
    """verify's tasks for one file, one after the other: its hash, then its ranges."""
    file_digest(path)
    for n, (begin, until) in enumerate(cuts):
        scan_range(path, begin, until, n == len(cuts) - 1)


def split_summary(s: Split) -> dict[str, float]:
    """Seconds of each part of a full scan, as far as the baselines separate them."""
    full, _, file_hash, inflate, _, record_hash, _ = s.wall.values()
    floor = file_hash + inflate + 2 * record_hash   # records: block and payload digests, two passes
    return {"file hash": file_hash, "decompression (zlib-ng)": inflate,
            "record hashes (block + payload: 2 passes)": 2 * record_hash,
            "sum of the above (a floor for one thread)": floor,
            "the rest: record parsing, copies, per-member work": full - floor}


def lean_scan(path: Path) -> None:
    """The stdlib floor of a full scan: file hash, gunzip in 64 KiB feeds, two hashes of the output."""
    block, payload = hashlib.sha256(), hashlib.sha256()

    def sink(out: bytes) -> None:
        block.update(out)
        payload.update(out)

    gunzip(path, sink=sink)
    hash_file(path)


def sequential_threads_processes(paths: list[Path], fn: Callable[[Path], object]) -> tuple[float, float, float]:
    """Wall seconds of ``fn`` over ``paths``: one after the other, one thread each, one process each."""
    start = time.perf_counter()
    for p in paths:
        fn(p)
    sequential = time.perf_counter() - start
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(paths)) as threads:
        list(threads.map(fn, paths))
    threaded = time.perf_counter() - start
    with ProcessPoolExecutor(max_workers=len(paths)) as processes:
        list(processes.map(int, range(len(paths))))          # start the workers before timing
        start = time.perf_counter()
        list(processes.map(fn, paths))
        in_processes = time.perf_counter() - start
    return sequential, threaded, in_processes


def scaling(files: list[Path], repeats: int) -> dict[str, tuple[float, ...]]:
    """The two smallest files (of similar size) scanned one after the other, in two threads and in
    two processes, best of repeats: threads gaining less than processes points at the GIL."""
    pair = sorted(files, key=lambda f: f.stat().st_size)[:2]
    out: dict[str, tuple[float, ...]] = {}
    for name, fn in (("scan_warc", scan_warc), ("stdlib floor (lean_scan)", lean_scan)):
        runs = [sequential_threads_processes(pair, fn) for _ in range(repeats)]
        out[name] = tuple(min(r[i] for r in runs) for i in range(3))
    return out


def two_core_speedup(path: Path, repeats: int) -> float:
    """What a second core buys on this machine: two ``sha256sum`` processes at once against one
    (2.0 when both cores run at full speed together; less under a busy or shared host)."""
    one = two = math.inf
    for _ in range(repeats):
        one = min(one, run_child(["sha256sum", str(path)])[0])
        start = time.perf_counter()
        procs = [subprocess.Popen(["sha256sum", str(path)], stdout=subprocess.DEVNULL) for _ in range(2)]
        if any(p.wait() != 0 for p in procs):
            raise RuntimeError("sha256sum failed")
        two = min(two, time.perf_counter() - start)
    return 2 * one / two


# --------------------------------------------------------------------------- report


def targets(timed: list[Timed], cpus: int) -> dict[str, Any]:
    by = {t.name: t for t in timed}
    sha_seq = by["sha256sum file after file"]
    full = next(t for t in timed if t.name.startswith("archiver verify (default"))
    ratio = full.mb_per_s / sha_seq.mb_per_s
    return {"cpu_count": cpus, "ratio_full_default_to_sha256sum_file_after_file": ratio,
            "target_at_least_sha256sum": ratio >= 1.0,
            "target_higher_with_two_cores": (ratio > 1.0) if cpus >= 2 else None}


def mark(ok: bool | None) -> str:
    return "n/a (fewer than 2 CPUs)" if ok is None else ("MET" if ok else "NOT MET")


def print_report(files: list[Path], timed: list[Timed], split: Split, threads: dict[str, tuple[float, ...]],
                 goals: dict[str, Any]) -> None:
    total = sum(f.stat().st_size for f in files)
    print(f"\nworkspace: {len(files)} WARC files, {total:,} bytes ({total / MB:,.1f} MB) compressed; "
          f"sizes {', '.join(f'{f.stat().st_size / MB:.0f}' for f in files)} MB")
    print(f"os.cpu_count() = {goals['cpu_count']}; load average before timing: {goals['loadavg']}; "
          f"two sha256sum at once do {goals['two_sha256sum_at_once_speedup']:.2f}x the work of one")
    print(f"\n{'command (warm page cache)':<42}{'best wall s':>12}{'MB/s':>9}{'CPU s':>8}{'CPU/wall':>9}   all walls")
    for t in timed:
        walls = ", ".join(f"{w:.2f}" for w in t.walls)
        print(f"{t.name:<42}{t.best:>12.2f}{t.mb_per_s:>9.0f}{t.cpu_of_best:>8.2f}"
              f"{t.cpu_of_best / t.best:>9.2f}   {walls}")
    ratio = goals["ratio_full_default_to_sha256sum_file_after_file"]
    print(f"\nfull verify (default workers) / sha256sum file after file: {ratio:.2f}x")
    print(f"  target: full verify throughput >= sha256sum file after file: {mark(goals['target_at_least_sha256sum'])}")
    print(f"  target: higher when two cores are free: {mark(goals['target_higher_with_two_cores'])}")
    print(f"\none file in-process: {split.path}, {split.bytes / MB:.1f} MB compressed, "
          f"{split.decompressed_bytes / MB:.1f} MB decompressed, {split.members} records (gzip members)")
    print(f"{'':<46}{'wall s':>8}{'CPU s':>8}")
    for name, wall in split.wall.items():
        print(f"  {name:<44}{wall:>8.2f}{split.cpu[name]:>8.2f}")
    print("cost split of scan_warc(path):")
    full = next(iter(split.wall.values()))
    for name, secs in split_summary(split).items():
        print(f"  {name:<56}{secs:>6.2f} s {100 * secs / full:>4.0f}%")
    if threads:
        print("two files, wall s: one after the other | two threads (speed-up) | two processes (speed-up)")
    for name, (seq, thr, proc) in threads.items():
        print(f"  {name:<26}{seq:>7.2f} | {thr:>6.2f} ({seq / thr:.2f}x) | {proc:>6.2f} ({seq / proc:.2f}x)")


def as_json(files: list[Path], timed: list[Timed], split: Split, threads: dict[str, tuple[float, ...]],
            goals: dict[str, Any]) -> dict[str, Any]:
    return {"files": [{"path": f.name, "bytes": f.stat().st_size} for f in files],
            "bytes": sum(f.stat().st_size for f in files),
            "timed": [{**asdict(t), "best": t.best, "cpu_of_best": t.cpu_of_best} for t in timed],
            "one_file": {**asdict(split), "split_seconds": split_summary(split)},
            "two_files_seconds": {k: dict(zip(("sequential", "threads", "processes"), v)) for k, v in threads.items()},
            **goals}


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="archiver verify against sha256sum on a synthetic workspace")
    p.add_argument("--gigabytes", type=float, default=1.0, help="compressed WARC bytes to generate (10^9)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs of each command; the best counts")
    p.add_argument("--workdir", type=Path, help="build (or reuse) the workspace here and keep it")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args(argv)
    if args.gigabytes <= 0 or args.repeats < 1:
        p.error("--gigabytes must be positive and --repeats at least 1")
    return args


def prepare(root: Path, gigabytes: float) -> list[Path]:
    """Reuse a sealed workspace in ``root`` when it has one, else generate it; check it quickly."""
    files = existing_warcs(root)
    if not files:
        start = time.perf_counter()
        files = build_workspace(root, int(gigabytes * GB), os.cpu_count() or 1)
        print(f"generated {len(files)} WARC files in {time.perf_counter() - start:.0f} s (not timed)")
    else:
        print(f"reusing the {len(files)} WARC files in {root}")
    run_child([archiver_bin(), "-w", str(root), "verify", "--quick"])    # exit 0 or RuntimeError
    print("archiver verify --quick: exit 0")
    return files


def warm_cache(files: list[Path]) -> None:
    run_child(["sha256sum", *map(str, files)])


def benchmark(root: Path, args: argparse.Namespace) -> None:
    files = prepare(root, args.gigabytes)
    warm_cache(files)
    loadavg = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    timed = time_commands(root, files, args.repeats)
    split = cost_split(max(files, key=lambda f: f.stat().st_size), args.repeats)
    threads = scaling(files, args.repeats) if len(files) >= 2 else {}
    goals = {**targets(timed, os.cpu_count() or 1), "loadavg": loadavg,
             "two_sha256sum_at_once_speedup": two_core_speedup(files[0], args.repeats)}
    print_report(files, timed, split, threads, goals)
    if args.json:
        print(json.dumps(as_json(files, timed, split, threads, goals), indent=2))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if shutil.which("sha256sum") is None:
        sys.exit("sha256sum not found on PATH (GNU coreutils)")
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        benchmark(args.workdir.resolve(), args)
        return
    root = Path(tempfile.mkdtemp(prefix="archiver-verify-bench-"))
    try:
        benchmark(root, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
