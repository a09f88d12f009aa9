"""CDXJ lines, as pywb writes and reads them, from the index: ``SURT 14-digit-timestamp {json}``.

The JSON carries ``url, mime, status, digest, length, offset, filename`` in that order, every value a
string (as pywb's own indexer writes them); ``mime`` is the content type without parameters, or
``warc/revisit`` for a revisit record; ``digest`` is the record's WARC-Payload-Digest header as it
stands, so pywb can pair a revisit with its original; ``filename`` is relative to ``archive/``.
Lines sort by byte value, as ``LC_ALL=C sort`` would.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import NotArchivedError
from ..core.interrupts import temporary_name
from ..core.models import Original
from ..core.workspace import ARCHIVE_DIR, Workspace, fsync_dir
from ..index.store import Index, original_of_json
from ..net.surt import surt, timestamp14

_COLUMNS = ("url", "datetime", "capture_id", "record_id", "status", "mime", "payload_sha256",
            "warc_payload_digest", "warc", "offset", "length", "revisit_of")


@dataclass(frozen=True, slots=True)
class Record:
    """One indexed WARC record (a response or a revisit), with what a CDXJ line needs."""

    url: str
    datetime: str
    capture_id: str
    record_id: str
    status: int
    mime: str | None
    payload_sha256: str
    warc_payload_digest: str | None
    warc: str                              # workspace-relative: archive/<file>.warc.gz
    offset: int
    length: int
    revisit_of: Original | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Record:
        values = dict(zip(_COLUMNS, row))
        values["revisit_of"] = original_of_json(values["revisit_of"], values["url"], values["payload_sha256"])
        return cls(**values)


def check_captures(db: sqlite3.Connection, capture_ids: list[str]) -> None:
    """NotArchivedError naming the first capture id the index does not know."""
    for capture_id in capture_ids:
        if not db.execute("SELECT 1 FROM captures WHERE capture_id = ?", (capture_id,)).fetchone():
            raise NotArchivedError(f"no capture {capture_id} in this workspace", target=capture_id)


def records_of(db: sqlite3.Connection, capture_ids: list[str] | None = None) -> list[Record]:
    """The records of these captures (all captures when None), in index order."""
    sql = f"SELECT {', '.join(_COLUMNS)} FROM mementos"
    if capture_ids is None:
        return [Record.from_row(r) for r in db.execute(sql + " ORDER BY id")]
    check_captures(db, capture_ids)
    marks = ", ".join("?" for _ in capture_ids)
    rows = db.execute(sql + f" WHERE capture_id IN ({marks}) ORDER BY id", capture_ids)
    return [Record.from_row(r) for r in rows]


def originals_of(db: sqlite3.Connection, records: list[Record]) -> list[Record]:
    """The stored originals of the revisit records among ``records`` that are not already there."""
    have = {(r.capture_id, r.record_id) for r in records}
    wanted = {(r.revisit_of.capture_id, r.revisit_of.record_id) for r in records if r.revisit_of}
    found = []
    for capture_id, record_id in sorted(wanted - have):
        row = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM mementos WHERE capture_id = ? AND record_id = ?",
                         (capture_id, record_id)).fetchone()
        if row is None:
            raise NotArchivedError(f"the original {record_id} of a revisit (capture {capture_id}) is not in "
                                   "this workspace", target=capture_id)
        found.append(Record.from_row(row))
    return found


def cdxj_line(record: Record) -> str:
    """The pywb CDXJ line of one record."""
    if record.revisit_of:
        mime = "warc/revisit"
    else:
        mime = (record.mime or "").split(";", 1)[0].strip() or "unk"
    # archiver writes a WARC-Payload-Digest on every response; an index built before the column existed
    # lacks it, and then the sha256 of the payload stands in (the same value for a revisit and its original)
    digest = record.warc_payload_digest or f"sha256:{record.payload_sha256}"
    fields = {"url": record.url, "mime": mime, "status": str(record.status), "digest": digest,
              "length": str(record.length), "offset": str(record.offset), "filename": warc_name(record.warc)}
    return f"{surt(record.url)} {timestamp14(record.datetime)} {json.dumps(fields, ensure_ascii=False)}"


def warc_name(workspace_path: str) -> str:
    """'archive/x.warc.gz' -> 'x.warc.gz': WARC names in CDXJ are relative to the archive folder."""
    return workspace_path.removeprefix(f"{ARCHIVE_DIR}/")


def sort_lines(lines: list[str]) -> list[str]:
    """Byte order, as ``LC_ALL=C sort`` puts them."""
    return sorted(lines, key=lambda line: line.encode("utf-8"))


def cdxj_lines(workspace: Workspace, capture_ids: list[str] | None = None, *,
               with_originals: bool = False) -> list[str]:
    """The index's records (all, or of those captures) as sorted CDXJ lines; ``with_originals`` adds
    the originals of revisit records that live in other captures."""
    with Index.open(workspace) as index:
        records = records_of(index.db, capture_ids)
        if with_originals:
            records += originals_of(index.db, records)
    return sort_lines([cdxj_line(r) for r in records])


def write_cdxj(workspace: Workspace, out: Path, capture_ids: list[str] | None = None) -> int:
    """Write the CDXJ of those captures (all when None) to ``out`` atomically; return the line count."""
    lines = cdxj_lines(workspace, capture_ids)
    tmp = temporary_name(out)
    try:
        with open(tmp, "xb") as fh:
            os.fchmod(fh.fileno(), 0o644)
            fh.write("".join(line + "\n" for line in lines).encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)         # an interrupt, too: nothing half-written stays beside ``out``
        raise
    fsync_dir(out.parent)
    return len(lines)
