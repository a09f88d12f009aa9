"""Fixity primitives: a file's sha256, streamed in large blocks, and every record digest of a WARC
file checked (block and payload), by warcio's reader."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

_BLOCK = 4 * 2**20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        buf = bytearray(_BLOCK)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class RecordProblem:
    path: str
    offset: int
    record_id: str | None
    url: str | None
    problem: str


def record_problems(path: Path) -> list[RecordProblem]:
    """Every record of ``path`` whose block or payload digest does not match, or a read error."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    problems: list[RecordProblem] = []
    offset = 0
    try:
        with open(path, "rb") as fh:
            it = ArchiveIterator(fh, check_digests=True)
            for record in it:
                offset = it.get_record_offset()
                stream = record.content_stream()
                while stream.read(_BLOCK):
                    pass
                if record.digest_checker.passed is False:
                    for p in record.digest_checker.problems:
                        problems.append(RecordProblem(str(path), offset, record.rec_headers.get_header("WARC-Record-ID"),
                                                      record.rec_headers.get_header("WARC-Target-URI"), p))
    except (ArchiveLoadFailed, OSError, EOFError, ValueError) as exc:
        problems.append(RecordProblem(str(path), offset, None, None, f"unreadable after offset {offset}: {exc}"))
    return problems
