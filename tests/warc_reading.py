"""Test helper: read back the records of a WARC file with warcio."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


@dataclass
class Rec:
    type: str
    headers: dict[str, str]
    http_status: int | None
    http_headers: list[tuple[str, str]]
    raw_payload: bytes        # the bytes after the HTTP header block, as stored
    offset: int
    block: bytes = b""        # the whole record block, as stored


def read_records(path: Path) -> list[Rec]:
    out = []
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        for r in it:
            headers = {k: v for k, v in r.rec_headers.headers}
            status = int(r.http_headers.get_statuscode()) if r.http_headers and r.rec_type == "response" else None
            http = list(r.http_headers.headers) if r.http_headers else []
            out.append(Rec(r.rec_type, headers, status, http, r.raw_stream.read(), it.get_record_offset()))
    with open(path, "rb") as fh:
        for rec, r in zip(out, ArchiveIterator(fh, no_record_parse=True)):
            rec.block = r.raw_stream.read()
    return out
