"""A revisit row names its original's text (the same payload; not a copy), so that search finds that
capture time too, and, when it has none of its own (an imported revisit, whose record holds no body),
gets its original's metadata, so that it cites with the page's title and date.

The originals are read in one query per capture they belong to (per CHUNK of record ids), not one per
revisit: the index finds a capture's rows, not a record id, so a query per revisit read the whole
original capture each time (a re-capture of 1,000 resources: 2,000 such queries)."""

from __future__ import annotations

import sqlite3

from ..core.models import Original

RevisitRow = tuple[str, int, str, str, Original]    # (capture id, row id, record id, title, original)


def link_revisits(db: sqlite3.Connection, revisits: list[RevisitRow]) -> None:
    """Give each revisit row its original's text row, and, when it has no title, its original's
    metadata (if it has none of its own), exactly as a query per revisit, in their order, would."""
    originals = _Originals(db, [original for *_, original in revisits])
    for cid, rowid, record_id, title, original in revisits:
        if not title and (meta := originals.metadata(original)) is not None:
            if db.execute("UPDATE mementos SET metadata = ? WHERE id = ? AND metadata IS NULL", (meta, rowid)).rowcount:
                originals.gained(cid, record_id, rowid, meta)
    db.executemany("UPDATE mementos SET text_row = ? WHERE id = ?",
                   [(text_row, rowid) for _cid, rowid, _record, _title, original in revisits
                    if (text_row := originals.text_row(original)) is not None])


class _Originals:
    """The rows a sync's revisits point at, read in one query per capture (per CHUNK record ids): for
    each (capture_id, record_id), the first row with text and the first row with metadata, by id."""

    CHUNK = 500           # record ids per query, well under SQLite's limit on parameters

    def __init__(self, db: sqlite3.Connection, originals: list[Original]) -> None:
        wanted: dict[str, set[str]] = {}
        for original in originals:
            wanted.setdefault(original.capture_id, set()).add(original.record_id)
        self.texts: dict[tuple[str, str], int] = {}
        self.metas: dict[tuple[str, str], tuple[int, str]] = {}
        for capture_id, ids in wanted.items():
            ordered = sorted(ids)
            for start in range(0, len(ordered), self.CHUNK):
                chunk = ordered[start:start + self.CHUNK]
                rows = db.execute("SELECT m.record_id, m.id, m.metadata, t.rowid FROM mementos m LEFT JOIN texts t "
                                  f"ON t.rowid = m.id WHERE m.capture_id = ? AND m.record_id IN ({','.join('?' * len(chunk))})"
                                  " ORDER BY m.id", (capture_id, *chunk))
                for record_id, rowid, meta, text in rows:
                    if text is not None:
                        self.texts.setdefault((capture_id, record_id), rowid)
                    if meta is not None:
                        self.metas.setdefault((capture_id, record_id), (rowid, meta))

    def text_row(self, original: Original) -> int | None:
        return self.texts.get((original.capture_id, original.record_id))

    def metadata(self, original: Original) -> str | None:
        found = self.metas.get((original.capture_id, original.record_id))
        return found[1] if found else None

    def gained(self, capture_id: str, record_id: str, rowid: int, meta: str) -> None:
        """Row ``rowid`` was given metadata: a later revisit of it finds that, as a query would."""
        found = self.metas.get((capture_id, record_id))
        if found is None or rowid < found[0]:
            self.metas[(capture_id, record_id)] = (rowid, meta)
