"""The index under many writers: archiver's SQLite index against PostgreSQL, on this machine.

The rows are real: the script captures the demo's sample site (an article and its linked sources; or,
with ``--sources N``, capture_vs_wget's site of N source pages) into a temporary workspace, then
seals ``--captures`` - 1 recaptures of it (the same resources, new capture ids, record ids and
times, six hours apart, pointing at the first capture's WARC file), timing each seal: the seal
holds the workspace lock, so it is what orders captures. Every capture's index rows then come
from the index code itself (``Index.add``, which builds them with ``index.rows``; PostgreSQL
gets the same rows from ``memento_row`` and ``failure_row``, and each page's main text read from
its conversion record as ``Index`` reads it).

For each backend and each number of writer processes (``--writers``, default 1 2 4 8), the
captures are shared round-robin among the writers, which start together and write each capture
as the process that seals it does, one transaction per capture:

- ``sqlite``: ``Index.open(workspace, sync=False)`` then ``add`` then ``close``, exactly
  ``index_sealed``'s steps: rollback journal (the index does not use WAL), the ``index`` file
  lock around each capture's transaction, SQLite's busy timeout of 60 s;
- ``sqlite-wal``: the same code on the same file switched to ``journal_mode=WAL`` beforehand;
- ``postgresql``: one connection per capture (psycopg 3) to a database the script creates on
  ``--postgres`` and drops at the end, the same tables (``offset`` quoted; the text table a
  ``tsvector`` with a GIN index, as FTS5 is to SQLite), ``INSERT``s in one transaction.

Meanwhile one reader process asks, every ``--lookup-interval`` seconds on one long-lived
connection, for the capture of a random URL of the site nearest a random moment of the captures'
span (``Index.nearest``, as ``lookup --at``, TimeGate and ``cite`` do; on PostgreSQL the same two
SELECTs): one row whatever the index holds, so the figure while writing and the one after are
alike but for the writers; after the writers end it does ``--idle-lookups`` more. Printed side by
side: captures and rows per second (all writers), each capture's latency p50/p99 (connect, rows,
commit, waits for locks), errors and retries (a capture is tried 3 times), lookup p50/p99 while
writing and idle, and the 1-minute load average as the run ends (the machine may be shared).
Every run is checked: each capture's rows are in the index, and a timemap of the first URL lists every
capture. Last, ``archiver reindex`` of the workspace (a child process) rebuilds the SQLite index
from the files.

    .venv/bin/python -m pip install 'psycopg[binary]'      # for --backends postgresql only
    .venv/bin/python bench/index_writers.py
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

BACKENDS = ("sqlite", "sqlite-wal", "postgresql")
TRIES = 3
PG_TABLES = ("left_out", "texts", "mementos", "failures", "captures")


def pg_schema() -> str:
    """archiver's index schema (index.store.SCHEMA) in PostgreSQL's words."""
    return """
CREATE TABLE captures (capture_id TEXT PRIMARY KEY, sequence BIGINT, started TEXT, ended TEXT,
    schedule TEXT, ok INTEGER NOT NULL);
CREATE INDEX captures_by_schedule ON captures (schedule, started);
CREATE TABLE failures (surt TEXT NOT NULL, url TEXT NOT NULL, capture_id TEXT NOT NULL, datetime TEXT NOT NULL,
    role TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX failures_by_capture ON failures (capture_id);
CREATE TABLE mementos (
    id BIGSERIAL PRIMARY KEY, surt TEXT NOT NULL, url TEXT NOT NULL, datetime TEXT NOT NULL,
    capture_id TEXT NOT NULL, role TEXT NOT NULL, status INTEGER NOT NULL, mime TEXT,
    payload_sha256 TEXT NOT NULL, warc TEXT NOT NULL, "offset" BIGINT NOT NULL, length BIGINT NOT NULL,
    record_id TEXT NOT NULL, location TEXT, metadata TEXT, warc_payload_digest TEXT, revisit_of TEXT);
CREATE INDEX mementos_by_payload ON mementos (surt, payload_sha256) WHERE revisit_of IS NULL;
CREATE INDEX mementos_by_surt ON mementos (surt, datetime, capture_id, record_id);
CREATE INDEX mementos_by_capture ON mementos (capture_id);
CREATE TABLE texts (id BIGINT PRIMARY KEY, title TEXT, body TEXT,
    words tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(title, '') || ' ' || body)) STORED);
CREATE INDEX texts_words ON texts USING GIN (words);
CREATE TABLE left_out (capture_id TEXT NOT NULL, item TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX left_out_by_capture ON left_out (capture_id);
"""


# --------------------------------------------------------------------------- the captures


def capture_template(root: Path, sources: int) -> str:
    """Capture the demo's sample site (or capture_vs_wget's with ``sources`` pages) into ``root``;
    the capture id."""
    from archiver.capturing.run import capture
    from archiver.core.capture_options import CaptureOptions
    from archiver.core.workspace import Workspace

    if sources:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from capture_vs_wget import ARTICLE_PATH, build_site, host_name

        site = build_site(sources, 0.0)
        try:
            result = capture([site.url(host_name(0), ARTICLE_PATH)], Workspace(root),
                             CaptureOptions(timeout=10, allow_private=True))
        finally:
            site.stop()
        return result.capture_id
    from archiver.demo.sample import ARTICLE_PATH as DEMO_ARTICLE
    from archiver.demo.sample import sample_site

    with sample_site() as demo:
        result = capture([demo.url("news", DEMO_ARTICLE)], Workspace(root), CaptureOptions(timeout=10))
    return result.capture_id


def seal_recaptures(root: Path, first: str, count: int) -> list[float]:
    """Seal ``count`` recaptures of capture ``first`` (new ids, record ids and times); each seal's seconds."""
    from archiver.core.moments import iso, parse_moment
    from archiver.core.workspace import Workspace, new_capture_id
    from archiver.fixity.manifest import read_manifest
    from archiver.fixity.seal import seal

    ws = Workspace(root)
    template = read_manifest(ws.manifest_path(first))
    seconds = []
    for i in range(1, count + 1):
        shift = timedelta(hours=6 * i)

        def later(text: str) -> str:
            return iso(parse_moment(text) + shift)

        resources = tuple(dataclasses.replace(r, date=later(r.date), record_id=f"<urn:uuid:{_uuid()}>",
                                              request_record_id=f"<urn:uuid:{_uuid()}>")
                          for r in template.resources)
        manifest = dataclasses.replace(
            template, capture_id=new_capture_id(parse_moment(template.started) + shift), started=later(template.started),
            ended=later(template.ended), resources=resources, sequence=None, previous=None, signing_key=None)
        started = time.perf_counter()
        seal(ws, manifest)
        seconds.append(time.perf_counter() - started)
    return seconds


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


# --------------------------------------------------------------------------- one capture's rows


def sqlite_adder(root: str, dsn: str) -> Callable[[Any], None]:
    """What index_sealed does, without hiding a failure."""
    from archiver.core.workspace import Workspace
    from archiver.index.store import Index

    ws = Workspace(Path(root))

    def add(manifest: Any) -> None:
        index = Index.open(ws, sync=False)
        try:
            index.add(manifest)
        finally:
            index.close()
    return add


def postgres_adder(root: str, dsn: str) -> Callable[[Any], None]:
    import psycopg

    from archiver.core.workspace import Workspace
    from archiver.index.rows import INSERT_MEMENTO, failure_row, memento_row, moment_text, short

    ws = Workspace(Path(root))
    insert_memento = INSERT_MEMENTO.replace("?", "%s").replace(" offset,", ' "offset",') + " RETURNING id"

    def add(manifest: Any) -> None:
        cid, started = manifest.capture_id, moment_text(manifest.started)
        with psycopg.connect(dsn) as conn, conn.cursor() as cur:      # commits as it leaves
            cur.execute("INSERT INTO captures VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                        (cid, manifest.sequence, started, moment_text(manifest.ended), short(manifest.schedule, 1000),
                         0 if manifest.seed_problems else 1))
            if cur.rowcount == 0:
                return
            failures = [row for f in manifest.failures if isinstance(row := failure_row(f, cid, started), tuple)]
            if failures:
                cur.executemany("INSERT INTO failures VALUES (%s, %s, %s, %s, %s, %s, %s)", failures)
            rows, texts = [], []
            for res in manifest.resources:
                row, _notes, title = memento_row(res, cid, started)
                if row is not None:
                    rows.append(row)
                    texts.append((title, text_of(ws, res)))
            cur.executemany(insert_memento, rows, returning=True)
            ids = []
            while True:
                ids.append(cur.fetchone()[0])     # type: ignore[index]
                if not cur.nextset():
                    break
            found = [(i, title, text) for i, (title, text) in zip(ids, texts) if text is not None]
            if found:
                cur.executemany("INSERT INTO texts (id, title, body) VALUES (%s, %s, %s)", found)
    return add


def text_of(ws: Any, res: Any) -> str | None:
    """A page's main text from its conversion record, as Index._text_of reads it."""
    from archiver.index.rows import MAX_TEXT
    from archiver.warc.reader import read_block

    record = res.text
    if record is None:
        return None
    block = read_block(ws.root / (record.warc or res.warc), record.offset, record.length, MAX_TEXT)
    return block.decode("utf-8", errors="replace")


ADDERS = {"sqlite": sqlite_adder, "sqlite-wal": sqlite_adder, "postgresql": postgres_adder}


def write_share(backend: str, root: str, dsn: str, paths: list[str], barrier: Any, out: Any) -> None:
    """One writer process: read its manifests, wait for the others, index each capture in turn."""
    from archiver.fixity.manifest import read_manifest

    manifests = [read_manifest(Path(p)) for p in paths]
    add = ADDERS[backend](root, dsn)
    latencies, retries, errors, first_error = [], 0, 0, ""
    barrier.wait()
    began = time.monotonic()
    for manifest in manifests:
        started = time.monotonic()
        for attempt in range(TRIES):
            try:
                add(manifest)
                break
            except Exception as exc:  # noqa: BLE001 - counted and shown: the figure is how often it happens
                first_error = first_error or f"{type(exc).__name__}: {exc}"
                if attempt == TRIES - 1:
                    errors += 1
                else:
                    retries += 1
        latencies.append(time.monotonic() - started)
    out.put({"kind": "writer", "began": began, "ended": time.monotonic(), "latencies": latencies,
             "retries": retries, "errors": errors, "first_error": first_error})


# --------------------------------------------------------------------------- lookups


def sqlite_lookup(root: str, dsn: str) -> tuple[Callable[[str, datetime], object], Callable[[str], int]]:
    """(the capture of a URL nearest a moment, the number of captures of a URL), as Index answers them."""
    from archiver.core.workspace import Workspace
    from archiver.index.store import Index

    index = Index.open(Workspace(Path(root)), sync=False)
    return index.nearest, lambda url: len(index.timemap(url))


def postgres_lookup(root: str, dsn: str) -> tuple[Callable[[str, datetime], object], Callable[[str], int]]:
    """The same two answers from PostgreSQL, by Index.nearest's and Index.timemap's queries."""
    import psycopg

    from archiver.core.moments import iso
    from archiver.index.store import COLUMNS, Memento
    from archiver.net.surt import surt

    conn = psycopg.connect(dsn, autocommit=True)
    columns = ", ".join('"offset"' if c == "offset" else c for c in COLUMNS)
    before = (f"SELECT {columns} FROM mementos WHERE surt = %s AND datetime <= %s "
              "ORDER BY datetime DESC, capture_id DESC LIMIT 1")
    after = f"SELECT {columns} FROM mementos WHERE surt = %s AND datetime > %s ORDER BY datetime, capture_id LIMIT 1"

    def nearest(url: str, at: datetime) -> object:
        key, moment = surt(url), iso(at)
        return [Memento.from_row(r) for sql in (before, after) if (r := conn.execute(sql, (key, moment)).fetchone())]

    def timemap(url: str) -> int:
        sql = f"SELECT {columns} FROM mementos WHERE surt = %s ORDER BY datetime, capture_id, record_id"
        return len([Memento.from_row(r) for r in conn.execute(sql, (surt(url),))])
    return nearest, timemap


LOOKUPS = {"sqlite": sqlite_lookup, "sqlite-wal": sqlite_lookup, "postgresql": postgres_lookup}


def read_loop(backend: str, root: str, dsn: str, urls: list[str], span: tuple[str, int], interval: float, idle: int,
              barrier: Any, writers_done: Any, out: Any) -> None:
    """The reader: the capture of a random URL nearest a random moment of the captures' span (a result
    of one row, however full the index), while the writers write, then ``idle`` more; then the number
    of captures of the first URL."""
    from archiver.core.moments import parse_moment

    nearest, timemap = LOOKUPS[backend](root, dsn)
    pick, first, hours = random.Random(19), parse_moment(span[0]), span[1]
    during: list[float] = []
    idle_times: list[float] = []
    barrier.wait()
    while len(idle_times) < idle:
        quiet = writers_done.is_set()
        url, at = pick.choice(urls), first + timedelta(seconds=pick.uniform(0, hours * 3600))
        started = time.monotonic()
        nearest(url, at)
        (idle_times if quiet else during).append(time.monotonic() - started)
        time.sleep(interval)
    out.put({"kind": "reader", "during": during, "idle": idle_times, "seed_captures": timemap(urls[0])})


# --------------------------------------------------------------------------- one run


def prepare(backend: str, root: Path, dsn: str) -> None:
    """An empty index for the run."""
    if backend.startswith("sqlite"):
        import sqlite3

        from archiver.core.workspace import Workspace
        from archiver.index.store import Index

        for leftover in (root / ".archiver").glob("index.sqlite*"):
            leftover.unlink()
        Index.open(Workspace(root), sync=False).close()
        if backend == "sqlite-wal":
            db = sqlite3.connect(root / ".archiver" / "index.sqlite")
            assert db.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
            db.close()
        return
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in PG_TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(pg_schema())


def counted(backend: str, root: Path, dsn: str) -> dict[str, int]:
    """Rows in the index after a run, per table."""
    tables = ("captures", "mementos", "failures", "texts")
    if backend.startswith("sqlite"):
        import sqlite3

        db = sqlite3.connect(root / ".archiver" / "index.sqlite")
        try:
            return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        finally:
            db.close()
    import psycopg

    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}  # type: ignore[index]


def one_run(backend: str, writers: int, root: Path, dsn: str, paths: list[str], urls: list[str],
            span: tuple[str, int], args: argparse.Namespace) -> dict[str, Any]:
    import multiprocessing

    prepare(backend, root, dsn)
    ctx = multiprocessing.get_context("spawn")
    barrier, done, out = ctx.Barrier(writers + 1), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=write_share, args=(backend, str(root), dsn, paths[i::writers], barrier, out))
             for i in range(writers)]
    procs.append(ctx.Process(target=read_loop, args=(backend, str(root), dsn, urls, span, args.lookup_interval,
                                                     args.idle_lookups, barrier, done, out)))
    for proc in procs:
        proc.start()
    results = [out.get(timeout=3600) for _ in range(writers)]
    done.set()
    reader = out.get(timeout=3600)
    for proc in procs:
        proc.join()
    wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
    latencies = sorted(t for r in results for t in r["latencies"])
    rows = counted(backend, root, dsn)
    complete = rows["captures"] == len(paths) and reader["seed_captures"] == len(paths)
    return {"backend": backend, "writers": writers, "wall_s": wall, "captures": rows["captures"],
            "rows": sum(rows.values()), "row_counts": rows, "captures_per_s": rows["captures"] / wall,
            "rows_per_s": sum(rows.values()) / wall, "p50_ms": ms(latencies, 50), "p99_ms": ms(latencies, 99),
            "retries": sum(r["retries"] for r in results), "errors": sum(r["errors"] for r in results),
            "first_error": next((r["first_error"] for r in results if r["first_error"]), ""),
            "lookups_while_writing": len(reader["during"]), "lookup_p50_ms": ms(sorted(reader["during"]), 50),
            "lookup_p99_ms": ms(sorted(reader["during"]), 99), "idle_p50_ms": ms(sorted(reader["idle"]), 50),
            "idle_p99_ms": ms(sorted(reader["idle"]), 99), "seed_captures": reader["seed_captures"],
            "complete": complete, "load": os.getloadavg()[0]}


def ms(sorted_seconds: list[float], pct: int) -> float | None:
    if not sorted_seconds:
        return None
    return sorted_seconds[min(len(sorted_seconds) - 1, round(pct / 100 * (len(sorted_seconds) - 1)))] * 1000


def reindex(root: Path) -> float:
    """Seconds of ``archiver reindex`` (a child process) on the workspace."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "archiver", "-w", str(root), "reindex"], check=True, capture_output=True)
    return time.perf_counter() - started


# --------------------------------------------------------------------------- PostgreSQL's database


def create_database(admin: str) -> tuple[str, str]:
    """A new database on the server ``admin`` connects to: (its name, a conninfo for it)."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"archiver_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    params = conninfo_to_dict(admin)
    params["dbname"] = name
    return name, make_conninfo(**params)


def drop_database(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --------------------------------------------------------------------------- output


HEADER = (f"{'backend':<11} {'writers':>7} {'wall s':>7} {'capt/s':>7} {'rows/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'retries':>7} {'errors':>6}   {'lookup p50/p99 ms: writing':>26}   {'idle':>13}  {'load':>5}")


def table(runs: list[dict[str, Any]]) -> str:
    """A line per run (and its first error, if any)."""
    def f(value: float | None, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = []
    for r in runs:
        lines.append(f"{r['backend']:<11} {r['writers']:>7} {r['wall_s']:7.2f} {r['captures_per_s']:7.1f} "
                     f"{r['rows_per_s']:8.0f} {f(r['p50_ms']):>7} {f(r['p99_ms']):>7} {r['retries']:>7} "
                     f"{r['errors']:>6}   {f(r['lookup_p50_ms'], 2):>15} / {f(r['lookup_p99_ms'], 2):>8}   "
                     f"{f(r['idle_p50_ms'], 2):>5} / {f(r['idle_p99_ms'], 2):>5}  {r['load']:5.1f}"
                     + ("" if r["complete"] else "   INCOMPLETE: not every capture is in the index"))
        if r["first_error"]:
            lines.append(f"    first error: {r['first_error'][:200]}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="The index under many writers: SQLite as archiver opens it, and PostgreSQL.")
    p.add_argument("--captures", type=int, default=400, help="captures to index per run (default 400)")
    p.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4, 8], help="writer processes (default 1 2 4 8)")
    p.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS),
                   help="what to measure (default all three; postgresql needs psycopg)")
    p.add_argument("--sources", type=int, default=0,
                   help="capture capture_vs_wget's site with N source pages instead of the demo's sample site")
    p.add_argument("--postgres", default="host=127.0.0.1 port=5432 user=postgres dbname=postgres",
                   help="conninfo of a PostgreSQL database from which to create (and drop) the bench's own")
    p.add_argument("--lookup-interval", type=float, default=0.005, help="seconds between the reader's lookups")
    p.add_argument("--idle-lookups", type=int, default=300, help="lookups timed after the writers end (default 300)")
    p.add_argument("--quick", action="store_true", help="12 captures, 1 and 2 writers, 30 idle lookups: a check")
    p.add_argument("--json", action="store_true", help="print the figures as JSON after the table")
    args = p.parse_args(argv)
    if args.quick:
        args.captures, args.writers, args.idle_lookups = 12, [1, 2], 30
    if not 2 <= args.captures <= 100_000 or not all(1 <= w <= 64 for w in args.writers) \
            or not 0 <= args.sources <= 2000 or not 1 <= args.idle_lookups <= 100_000 \
            or not 0 <= args.lookup_interval <= 10:
        p.error("--captures 2-100000, --writers 1-64, --sources 0-2000, --idle-lookups 1-100000, "
                "--lookup-interval 0-10")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if "postgresql" in args.backends:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            print("postgresql needs psycopg 3: .venv/bin/python -m pip install 'psycopg[binary]' "
                  "(or --backends sqlite sqlite-wal)", file=sys.stderr)
            return 2
    from archiver.core.workspace import Workspace
    from archiver.fixity.manifest import read_manifest

    with tempfile.TemporaryDirectory(prefix="archiver-bench-index-") as tmp:
        root = Path(tmp) / "ws"
        first = capture_template(root, args.sources)
        seals = sorted(seal_recaptures(root, first, args.captures - 1))
        ws = Workspace(root)
        template = read_manifest(ws.manifest_path(first))
        paths = [str(p) for p in ws.manifest_paths()]
        urls = [template.resources[0].url, *sorted({r.url for r in template.resources[1:]})]
        span = (template.started, 6 * args.captures)     # recaptures are six hours apart
        shape = (f"{len(template.resources)} resources, {sum(1 for r in template.resources if r.text)} with text, "
                 f"{len(template.failures)} failure(s) per capture")
        print(f"{args.captures} captures of {'the demo sample site' if not args.sources else f'{args.sources} sources'}"
              f" ({shape}); {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
        print(f"seal (workspace lock held): p50 {ms(seals, 50):.1f} ms, p99 {ms(seals, 99):.1f} ms per capture\n")
        runs: list[dict[str, Any]] = []
        database = None
        print(HEADER)
        try:
            dsn = ""
            if "postgresql" in args.backends:
                database, dsn = create_database(args.postgres)
            for backend in args.backends:
                for writers in args.writers:
                    runs.append(one_run(backend, writers, root, dsn, paths, urls, span, args))
                    print(table(runs[-1:]), flush=True)
        finally:
            if database:
                drop_database(args.postgres, database)
        rebuilt = reindex(root)
        print(f"\narchiver reindex of the {args.captures} captures: {rebuilt:.2f} s "
              f"({args.captures / rebuilt:.0f} captures/s, a child process, start included)")
        print(f"load average {os.getloadavg()[0]:.2f} at the end")
        if args.json:
            print(json.dumps({"captures": args.captures, "seal_p50_ms": ms(seals, 50), "seal_p99_ms": ms(seals, 99),
                              "reindex_s": rebuilt, "runs": runs}, indent=2))
    return 0 if all(r["complete"] and not r["errors"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
