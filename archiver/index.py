"""The index: SQLite, derived from manifests/ and archive/ only, rebuilt by ``archiver reindex``.

Captures of a URL are keyed by SURT, so every spelling of a URL finds them. The main text of each
page (from its WARC conversion record) is searchable with FTS5.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import ArchiverError
from .surt import surt
from .timeparse import iso
from .workspace import Workspace

SCHEMA_VERSION = "3"
SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE captures (capture_id TEXT PRIMARY KEY, sequence INTEGER, started TEXT, ended TEXT,
    schedule TEXT, ok INTEGER NOT NULL);
CREATE INDEX captures_by_schedule ON captures (schedule, started);
CREATE TABLE failures (surt TEXT NOT NULL, url TEXT NOT NULL, capture_id TEXT NOT NULL, datetime TEXT NOT NULL,
    role TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX failures_by_capture ON failures (capture_id);
CREATE TABLE mementos (
    id INTEGER PRIMARY KEY, surt TEXT NOT NULL, url TEXT NOT NULL, datetime TEXT NOT NULL,
    capture_id TEXT NOT NULL, role TEXT NOT NULL, status INTEGER NOT NULL, mime TEXT,
    payload_sha256 TEXT NOT NULL, warc TEXT NOT NULL, offset INTEGER NOT NULL, length INTEGER NOT NULL,
    record_id TEXT NOT NULL, location TEXT, metadata TEXT, warc_payload_digest TEXT, revisit_of TEXT);
CREATE INDEX mementos_by_payload ON mementos (surt, payload_sha256) WHERE revisit_of IS NULL;
CREATE INDEX mementos_by_surt ON mementos (surt, datetime, capture_id, record_id);
CREATE INDEX mementos_by_capture ON mementos (capture_id);
CREATE VIRTUAL TABLE texts USING fts5 (title, body, tokenize = 'unicode61 remove_diacritics 2');
"""
COLUMNS = ("url", "datetime", "capture_id", "role", "status", "mime", "payload_sha256", "warc", "offset",
           "length", "record_id", "location", "metadata", "revisit_of")


@dataclass(frozen=True, slots=True)
class Memento:
    """One archived response of a URL."""

    url: str
    datetime: str
    capture_id: str
    role: str
    status: int
    mime: str | None
    payload_sha256: str
    warc: str
    offset: int
    length: int
    record_id: str
    location: str | None
    metadata: dict[str, Any] | None
    revisit_of: dict[str, Any] | None = None     # for a revisit record: where the payload is stored

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Memento:
        values = dict(zip(COLUMNS, row))
        for key in ("metadata", "revisit_of"):
            values[key] = json.loads(values[key]) if values[key] else None
        return cls(**values)


class Index:
    """Open with ``Index.open(workspace)``; it brings itself up to date with the manifests."""

    def __init__(self, workspace: Workspace, db: sqlite3.Connection) -> None:
        self.workspace = workspace
        self.db = db

    @classmethod
    def open(cls, workspace: Workspace, sync: bool = True) -> Index:
        path = workspace.state_dir / "index.sqlite"
        if not path.exists():
            workspace.state_dir.mkdir(parents=True, exist_ok=True)
            _build_empty(path)
        db = sqlite3.connect(path, timeout=60)
        index = cls(workspace, db)
        if index._version() != SCHEMA_VERSION:
            db.close()
            rebuild(workspace)
            db = sqlite3.connect(path, timeout=60)
            index = cls(workspace, db)
        if sync:
            index.sync()
        return index

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _version(self) -> str | None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError:
            return None
        return row[0] if row else None

    def sync(self) -> None:
        """Add captures whose manifests are new; drop those whose manifests are gone."""
        on_disk = {p.stem: p for p in self.workspace.manifest_paths()}
        known = {row[0] for row in self.db.execute("SELECT capture_id FROM captures")}
        if on_disk.keys() == known:
            return
        from .manifest import read_manifest

        with self.workspace.lock("index"), self.db:
            known = {row[0] for row in self.db.execute("SELECT capture_id FROM captures")}
            for gone in known - on_disk.keys():
                self._remove(gone)
            for capture_id in sorted(on_disk.keys() - known):
                try:
                    manifest = read_manifest(on_disk[capture_id])
                except ArchiverError:
                    continue      # verify reports unreadable manifests; the index leaves them out
                self._add(manifest)

    def add(self, manifest: dict[str, Any]) -> None:
        with self.workspace.lock("index"), self.db:
            if not self.db.execute("SELECT 1 FROM captures WHERE capture_id = ?", (manifest["capture_id"],)).fetchone():
                self._add(manifest)

    def _remove(self, capture_id: str) -> None:
        ids = [r[0] for r in self.db.execute("SELECT id FROM mementos WHERE capture_id = ?", (capture_id,))]
        self.db.executemany("DELETE FROM texts WHERE rowid = ?", [(i,) for i in ids])
        self.db.execute("DELETE FROM mementos WHERE capture_id = ?", (capture_id,))
        self.db.execute("DELETE FROM failures WHERE capture_id = ?", (capture_id,))
        self.db.execute("DELETE FROM captures WHERE capture_id = ?", (capture_id,))

    def _add(self, manifest: dict[str, Any]) -> None:
        cid = manifest["capture_id"]
        self.db.execute("INSERT INTO captures VALUES (?, ?, ?, ?, ?, ?)",
                        (cid, manifest.get("sequence"), manifest["started"], manifest["ended"],
                         manifest.get("schedule"), 0 if manifest.get("seed_problems") else 1))
        for f in manifest.get("failures") or []:
            if f.get("kind") != "truncated":
                self.db.execute("INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (surt(f["url"]), f["url"], cid, manifest["started"], f.get("role", ""),
                                 f.get("kind", ""), f.get("reason", "")))
        for res in manifest["resources"]:
            meta = res.get("metadata")
            cur = self.db.execute(
                "INSERT INTO mementos (surt, url, datetime, capture_id, role, status, mime, payload_sha256, warc,"
                " offset, length, record_id, location, metadata, warc_payload_digest, revisit_of)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (surt(res["url"]), res["url"], res.get("date") or manifest["started"], cid, res["role"],
                 res["status"], res.get("content_type"), res["payload_sha256"], res["warc"], res["offset"],
                 res["length"], res["record_id"], res.get("location"),
                 json.dumps(meta, sort_keys=True, ensure_ascii=False) if meta else None,
                 res.get("warc_payload_digest"),
                 json.dumps(res["revisit_of"], sort_keys=True) if res.get("revisit_of") else None))
            text = self._text_of(res)
            if text is not None:
                title = ((meta or {}).get("title") or {}).get("value") or ""
                self.db.execute("INSERT INTO texts (rowid, title, body) VALUES (?, ?, ?)",
                                (cur.lastrowid, title, text))

    def _text_of(self, res: dict[str, Any]) -> str | None:
        record = res.get("text")
        if not record:
            return None
        try:
            with open(self.workspace.root / (record.get("warc") or res["warc"]), "rb") as fh:
                fh.seek(record["offset"])
                raw = gzip.decompress(fh.read(record["length"]))
        except (OSError, EOFError, gzip.BadGzipFile):
            return None
        head, _, block = raw.partition(b"\r\n\r\n")
        return block[: -4 if block.endswith(b"\r\n\r\n") else None].decode("utf-8", errors="replace")

    # -- queries ---------------------------------------------------------------------------------

    def timemap(self, url: str) -> list[Memento]:
        """Every capture of ``url`` (any spelling), oldest first."""
        rows = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM mementos WHERE surt = ? "
                               "ORDER BY datetime, capture_id, record_id", (surt(url),))
        return [Memento.from_row(r) for r in rows]

    def nearest(self, url: str, at: datetime) -> tuple[Memento, float] | None:
        """The capture nearest ``at`` (absolute distance; a tie goes to the earlier capture), and the
        distance in seconds."""
        key, moment = surt(url), iso(at)
        cols = ", ".join(COLUMNS)
        before = self.db.execute(f"SELECT {cols} FROM mementos WHERE surt = ? AND datetime <= ? "
                                 "ORDER BY datetime DESC, capture_id DESC LIMIT 1", (key, moment)).fetchone()
        after = self.db.execute(f"SELECT {cols} FROM mementos WHERE surt = ? AND datetime > ? "
                                "ORDER BY datetime, capture_id LIMIT 1", (key, moment)).fetchone()
        options = [Memento.from_row(r) for r in (before, after) if r]
        if not options:
            return None
        scored = [(abs((_parse(m.datetime) - at).total_seconds()), i, m) for i, m in enumerate(options)]
        distance, _, best = min(scored)
        return best, distance

    def original(self, url: str, payload_sha256: str) -> dict[str, Any] | None:
        """The earliest stored (non-revisit) response of ``url`` with this payload, for dedup."""
        return original_in(self.db, url, payload_sha256)

    def text_of(self, capture_id: str, record_id: str) -> str | None:
        row = self.db.execute("SELECT t.body FROM mementos m JOIN texts t ON t.rowid = m.id "
                              "WHERE m.capture_id = ? AND m.record_id = ?", (capture_id, record_id)).fetchone()
        return row[0] if row else None

    def captures(self, schedule: str | None = None) -> list[dict[str, Any]]:
        """Captures (oldest first), optionally only those made for one schedule."""
        sql = "SELECT capture_id, sequence, started, ended, schedule, ok FROM captures"
        rows = self.db.execute(sql + (" WHERE schedule = ?" if schedule else "") + " ORDER BY started, capture_id",
                               (schedule,) if schedule else ())
        keys = ("capture_id", "sequence", "started", "ended", "schedule", "ok")
        return [dict(zip(keys, r)) for r in rows]

    def failures_of(self, capture_id: str) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT url, role, kind, reason FROM failures WHERE capture_id = ?", (capture_id,))
        return [dict(zip(("url", "role", "kind", "reason"), r)) for r in rows]

    def capture_mementos(self, capture_id: str) -> list[Memento]:
        rows = self.db.execute(f"SELECT {', '.join(COLUMNS)} FROM mementos WHERE capture_id = ? "
                               "ORDER BY id", (capture_id,))
        return [Memento.from_row(r) for r in rows]

    def search(self, query: str, limit: int = 20) -> list[tuple[Memento, str, float]]:
        """(memento, snippet, rank) for pages whose title or main text match, best first."""
        try:
            rows = self.db.execute(
                f"SELECT {', '.join('m.' + c for c in COLUMNS)}, snippet(texts, 1, '[', ']', ' … ', 16), "
                "bm25(texts, 5.0, 1.0) AS rank FROM texts JOIN mementos m ON m.id = texts.rowid "
                "WHERE texts MATCH ? ORDER BY rank, m.datetime LIMIT ?", (_fts_query(query), limit)).fetchall()
        except sqlite3.OperationalError as exc:
            from .errors import UsageError

            raise UsageError(f"cannot search for {query!r}: {exc}") from None
        return [(Memento.from_row(r[:len(COLUMNS)]), r[-2], r[-1]) for r in rows]


def original_in(db: sqlite3.Connection, url: str, payload_sha256: str) -> dict[str, Any] | None:
    row = db.execute("SELECT capture_id, record_id, url, datetime, warc_payload_digest, warc, offset FROM mementos "
                     "WHERE surt = ? AND payload_sha256 = ? AND revisit_of IS NULL AND warc_payload_digest IS NOT NULL "
                     "AND status BETWEEN 200 AND 299 ORDER BY datetime, capture_id LIMIT 1",
                     (surt(url), payload_sha256)).fetchone()
    if row is None:
        return None
    keys = ("capture_id", "record_id", "url", "date", "payload_digest", "warc", "offset")
    return dict(zip(keys, row))


class DedupLookup:
    """Read-only lookups of earlier payloads, one SQLite connection per worker thread."""

    def __init__(self, workspace: Workspace) -> None:
        import threading

        self.path = workspace.state_dir / "index.sqlite"
        self.local = threading.local()

    def original(self, url: str, payload_sha256: str) -> dict[str, Any] | None:
        db = getattr(self.local, "db", None)
        if db is None:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60, check_same_thread=False)
            self.local.db = db
        try:
            return original_in(db, url, payload_sha256)
        except sqlite3.Error:
            return None


def _fts_query(text: str) -> str:
    """Words are all required; a quoted phrase stays a phrase."""
    text = text.strip()
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        return '"' + text[1:-1].replace('"', '""') + '"'
    words = [w.replace('"', '""') for w in text.split()]
    return " ".join(f'"{w}"' for w in words)


def _parse(value: str) -> datetime:
    from .timeparse import parse_moment

    return parse_moment(value)


def _new_database(path: Path, purpose: str) -> tuple[sqlite3.Connection, Path]:
    """A new, empty index database under a unique temporary name next to ``path`` (so that any
    number of processes can build one at once), and that name. On failure nothing is left."""
    import secrets

    while True:         # as tempfile.mkstemp, but with the mode (0666 less the umask) sqlite gives a new file
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.{purpose}.tmp")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            break
        except FileExistsError:
            continue
    try:
        db = sqlite3.connect(tmp)
        try:
            db.executescript(SCHEMA)
            db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            db.commit()
        except BaseException:
            db.close()
            raise
    except BaseException:
        _remove_database(tmp)
        raise
    return db, tmp


def _remove_database(tmp: Path) -> None:
    for leftover in (tmp, tmp.with_name(tmp.name + "-journal"), tmp.with_name(tmp.name + "-wal")):
        leftover.unlink(missing_ok=True)


def _build_empty(path: Path) -> None:
    db, tmp = _new_database(path, "empty")
    db.close()
    try:
        if not path.exists():
            os.replace(tmp, path)
    finally:
        _remove_database(tmp)       # gone already when it became the index


def rebuild(workspace: Workspace) -> int:
    """Build the index anew from the manifests and WARC files; return the number of captures.
    Rebuilds may run at once (each in its own temporary file); the last one to finish wins, and
    each of them is complete."""
    path = workspace.state_dir / "index.sqlite"
    workspace.state_dir.mkdir(parents=True, exist_ok=True)
    db, fresh = _new_database(path, "rebuild")
    try:
        try:
            Index(workspace, db).sync()
            count = db.execute("SELECT count(*) FROM captures").fetchone()[0]
        finally:
            db.close()
        with workspace.lock("index"):
            os.replace(fresh, path)
    finally:
        _remove_database(fresh)     # after a failure; gone already when it became the index
    return int(count)


def index_sealed(workspace: Workspace, manifest: dict[str, Any]) -> None:
    """Add a just-sealed capture to the index. The index is derived: if this fails, the next
    lookup (or ``archiver reindex``) adds the capture from its manifest."""
    try:
        index = Index.open(workspace, sync=False)
        try:
            index.add(manifest)
        finally:
            index.close()
    except Exception:       # noqa: BLE001 - the capture is sealed; whatever failed here, reindex redoes it
        pass
