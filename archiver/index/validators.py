"""What a conditional re-capture asks with: the validators (``ETag``, ``Last-Modified``) of the
stored payload of a URL, and what a 304 then stands for.

The index says which response of the URL holds the latest stored payload (and where it is); the
validators are read from that response's HTTP head in the WARC file. They are derived from the
files each time, so a reindexed workspace asks exactly what it asked before.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from dataclasses import dataclass
from typing import IO

from ..core.models import Original
from ..core.workspace import Workspace
from ..net.fetch import PARSE_PREFIX_BYTES
from ..net.surt import surt
from ..net.wire import ResponseHead
from ..warc.payload import RecordAt, open_payload, read_head

MAX_VALIDATOR = 1024      # characters of an ETag or Last-Modified sent back; longer ones are not used


@dataclass(frozen=True, slots=True)
class Prior:
    """The latest stored payload of a URL and what its response said about it."""

    original: Original
    status: int
    mime: str | None
    payload_sha256: str
    payload_bytes: int
    etag: str | None
    last_modified: str | None

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The conditional request headers (RFC 9110 13.1): both when both are known."""
        sent = []
        if self.etag:
            sent.append(("If-None-Match", self.etag))
        if self.last_modified:
            sent.append(("If-Modified-Since", self.last_modified))
        return tuple(sent)


def _usable(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_VALIDATOR or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return None
    return value


def prior_lookup(workspace: Workspace, deduplicating: bool, conditional: bool) -> PriorLookup | None:
    """The validators of stored payloads for a re-capture's conditional requests: only where the capture
    has a dedup lookup (dedup on, and the workspace holds stored payloads: none on a first capture) and
    did not say --no-conditional."""
    return PriorLookup(workspace) if deduplicating and conditional else None


class PriorLookup:
    """Read-only lookups in the workspace's index, one SQLite connection per worker thread."""

    def __init__(self, workspace: Workspace) -> None:
        self.root = workspace.root
        self.path = workspace.state_dir / "index.sqlite"
        self.local = threading.local()

    def prior(self, url: str) -> Prior | None:
        """The latest stored (non-revisit) 2xx response of ``url`` if it had an ETag or a
        Last-Modified, else None (also when the index or the file cannot be read)."""
        db = getattr(self.local, "db", None)
        try:
            if db is None:
                db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60, check_same_thread=False)
                self.local.db = db
            row = db.execute(
                "SELECT capture_id, record_id, url, datetime, warc_payload_digest, warc, offset, length, status, mime, "
                "payload_sha256 FROM mementos WHERE surt = ? AND revisit_of IS NULL AND warc_payload_digest IS NOT NULL "
                "AND status BETWEEN 200 AND 299 ORDER BY datetime DESC, capture_id DESC LIMIT 1", (surt(url),)).fetchone()
        except (sqlite3.Error, ValueError):
            return None
        if row is None:
            return None
        capture_id, record_id, stored_url, when, digest, warc, offset, length, status, mime, sha = row
        if not isinstance(warc, str) or not warc.startswith("archive/") or ".." in warc.split("/"):
            return None
        try:
            record, http = read_head(RecordAt(self.root / warc, int(offset), int(length)))
        except Exception:   # noqa: BLE001 - an unreadable original: ask unconditionally, the fetch decides
            return None
        if record.type != "response" or record.record_id != record_id or record.truncated:
            return None
        etag, modified = _usable(http.get("ETag")), _usable(http.get("Last-Modified"))
        if etag is None and modified is None:
            return None
        stored = max(0, record.block_length - len(http.raw))
        if http.is_chunked:
            return None       # the entity size is not known from the head; such a payload is fetched again
        original = Original(capture_id, record_id, stored_url, when, digest, warc, int(offset))
        return Prior(original, int(status), mime, sha, stored, etag, modified)

    def stored_body(self, prior: Prior) -> tuple[ResponseHead, IO[bytes]] | None:
        """The stored response's head and its whole body as the server sent it (a temporary file at
        its start; memory up to 1 MiB), to relay to the browser in place of a 304; None when
        unreadable."""
        body = tempfile.SpooledTemporaryFile(max_size=2**20)
        try:
            with open_payload(RecordAt(self.root / prior.original.warc, prior.original.offset), as_sent=True) as archived:
                for block in archived.blocks:
                    body.write(block)
                head = archived.http
        except Exception:   # noqa: BLE001 - the request is then made without validators
            body.close()
            return None
        body.seek(0)
        return head, body

    def stored(self, prior: Prior) -> tuple[ResponseHead, bytes] | None:
        """The stored response's head and the first PARSE_PREFIX_BYTES of its payload (for the
        links, metadata and requisites of a page that did not change); None when unreadable."""
        at = RecordAt(self.root / prior.original.warc, prior.original.offset)
        parts: list[bytes] = []
        kept = 0
        try:
            with open_payload(at) as archived:
                for block in archived.blocks:
                    parts.append(block[:PARSE_PREFIX_BYTES - kept])
                    kept += len(parts[-1])
                    if kept >= PARSE_PREFIX_BYTES:
                        break
                return archived.http, b"".join(parts)
        except Exception:   # noqa: BLE001 - the page is archived all the same; only its links are not read
            return None
