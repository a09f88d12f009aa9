"""Writing WARC 1.1 records, one gzip member per record.

The digest rule (see docs/warc.md):
- ``WARC-Block-Digest`` is the sha256 of the whole record block.
- ``WARC-Payload-Digest`` of a response is the sha256 of the bytes that follow the HTTP header
  block in the record, exactly as stored. When a server used chunked transfer coding those bytes
  include the chunk framing: this is the rule ``warcio check`` and pywb apply. The entity body with
  the framing removed has its own sha256 in the manifest (``payload_sha256``), the key for
  deduplication and for comparing with a downloaded file. Without chunked coding the two are equal.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import struct
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..core import deflate as codec
from ..core.models import Original, WarcFile
from ..core.workspace import OPEN_SUFFIX, fsync_dir
from ..net.exchange import Exchange

WARC_VERSION = b"WARC/1.1"
CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
NOT_MODIFIED_PROFILE = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
_BLOCK = 1 << 20

IdFactory = Callable[[], str]


def new_record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def warc_date(when: datetime) -> str:
    """WARC-Date with microseconds, so exchanges within one second keep their order."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


PROBE_BYTES = 256 * 1024   # block bytes deflated before judging whether deflate pays for a large block
PAYS = 0.97                # ... it pays when its output is below this share of its input


def write_record(out: IO[bytes], headers: list[tuple[str, str]], block: Iterable[bytes],
                 block_length: int, level: int, *, store_after: int | None = None) -> int:
    """Write one record as one gzip member; return the member's compressed length.

    With ``store_after`` (a count of leading block bytes, e.g. the HTTP head), the rest of the block
    is written as stored deflate blocks: for payloads that are compressed already, where deflate
    would spend CPU for nothing. The WARC and HTTP headers before it are still compressed.
    Without it, a block longer than twice PROBE_BYTES is judged after its first PROBE_BYTES: when
    deflate saved less than 3% of them, the rest is stored (an unknown format compressed already)."""
    head = [WARC_VERSION]
    head += [f"{name}: {value}".encode() for name, value in headers]
    head.append(f"Content-Length: {block_length}".encode("ascii"))
    warc_head = b"\r\n".join(head) + b"\r\n\r\n"
    member = _Member(out, level)
    member.deflate(warc_head)
    if store_after is not None:
        switch_at = store_after
    else:                       # a short block is deflated whole; a long one is judged after a probe
        switch_at = PROBE_BYTES if block_length > 2 * PROBE_BYTES else block_length + 1
    judged = False
    seen = 0
    for part in block:
        cut = max(0, min(len(part), switch_at - seen))
        if cut:
            member.deflate(part[:cut] if cut < len(part) else part)
        seen += len(part)
        if cut < len(part):
            if not judged:
                judged = True
                if store_after is not None or not member.deflate_pays():
                    member.switch_to_stored()
            member.write(part[cut:])
    if seen != block_length:
        raise ValueError(f"record block was {seen} bytes, declared {block_length}")
    member.write(b"\r\n\r\n")
    return member.finish()


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"   # deflate, no name, no mtime, OS unknown


class _Member:
    """One gzip member written as raw deflate: compressed, and from ``switch_to_stored`` on stored
    blocks; the two streams are joined at a byte boundary (a sync flush), one CRC-32 over all."""

    def __init__(self, out: IO[bytes], level: int) -> None:
        self.out = out
        self.packed = codec.compressobj(level, codec.DEFLATED, -15)
        self.stored: Any = None
        self.crc = 0
        self.size = 0
        self.deflated_in = 0
        self.written = out.write(_GZIP_HEADER)

    def deflate(self, data: bytes | memoryview) -> None:
        self.crc = codec.crc32(data, self.crc)
        self.size += len(data)
        self.deflated_in += len(data)
        self.written += self.out.write(self.packed.compress(data))

    def deflate_pays(self) -> bool:
        """Flush what was deflated so far and say whether it shrank enough to go on deflating."""
        self.written += self.out.write(self.packed.flush(codec.Z_SYNC_FLUSH))
        return self.written - len(_GZIP_HEADER) < PAYS * self.deflated_in

    def switch_to_stored(self) -> None:
        self.written += self.out.write(self.packed.flush(codec.Z_SYNC_FLUSH))
        self.stored = codec.compressobj(0, codec.DEFLATED, -15)

    def write(self, data: bytes | memoryview) -> None:
        """Deflated or stored, whichever the member is doing now."""
        if self.stored is None:
            self.deflate(data)
            return
        self.crc = codec.crc32(data, self.crc)
        self.size += len(data)
        self.written += self.out.write(self.stored.compress(data))

    def finish(self) -> int:
        last = self.stored if self.stored is not None else self.packed
        self.written += self.out.write(last.flush())
        self.written += self.out.write(struct.pack("<II", self.crc & 0xFFFFFFFF, self.size & 0xFFFFFFFF))
        return self.written


def _stream(fh: IO[bytes]) -> Iterable[bytes]:
    while chunk := fh.read(_BLOCK):
        yield chunk


@dataclass(frozen=True, slots=True)
class ExchangeRecords:
    """Where the request and response records of one exchange sit inside a fragment."""

    request_id: str
    response_id: str
    request_length: int
    response_length: int


def write_exchange(out: IO[bytes], ex: Exchange, warcinfo_id: str, level: int,
                   new_id: IdFactory = new_record_id, revisit: Original | None = None) -> ExchangeRecords:
    """Write the request record, then the response record, of one exchange. With ``revisit``
    (an earlier response with the identical payload), the response is written as a ``revisit``
    record (identical-payload-digest profile): its HTTP headers only, pointing at the original."""
    request_id, response_id = new_id(), new_id()
    date = warc_date(ex.date)
    # The request record carries what identifies it; its response (or revisit) names it with
    # WARC-Concurrent-To and carries the peer's address. Neither carries WARC-Warcinfo-ID: the
    # warcinfo record is the first record of every file (docs/warc.md), and an unchanged
    # re-capture's two records stay under 1,000 bytes.
    req_len = _write_request(out, ex, request_id, date, level)
    address = [("WARC-IP-Address", ex.remote_address)] if ex.remote_address else []
    if revisit is not None:
        head = ex.head.raw
        resp_headers = [("WARC-Type", "revisit"), ("WARC-Record-ID", response_id), ("WARC-Date", date),
                        ("WARC-Target-URI", ex.url), *address,
                        ("WARC-Concurrent-To", request_id), ("WARC-Profile", REVISIT_PROFILE),
                        ("WARC-Refers-To", revisit.record_id), ("WARC-Refers-To-Target-URI", revisit.url),
                        ("WARC-Refers-To-Date", revisit.date), ("WARC-Payload-Digest", revisit.payload_digest),
                        ("WARC-Block-Digest", f"sha256:{hashlib.sha256(head).hexdigest()}"),
                        # WARC 1.1 section 6.7.2: the block is the response cut to its head, which
                        # "shall" be said so (11 bytes a revisit)
                        ("WARC-Truncated", "length"),
                        ("Content-Type", "application/http; msgtype=response")]
        resp_len = write_record(out, resp_headers, [head], len(head), level)
        return ExchangeRecords(request_id, response_id, req_len, resp_len)
    resp_headers = [("WARC-Type", "response"), ("WARC-Record-ID", response_id), ("WARC-Date", date),
                    ("WARC-Target-URI", ex.url), *address, ("WARC-Warcinfo-ID", warcinfo_id),
                    ("WARC-Concurrent-To", request_id),
                    ("WARC-Block-Digest", f"sha256:{ex.block_digest}"),
                    ("WARC-Payload-Digest", f"sha256:{ex.payload_digest}")]
    if ex.truncated:
        resp_headers.append(("WARC-Truncated", ex.truncated))
    resp_headers.append(("Content-Type", "application/http; msgtype=response"))
    ex.body.seek(0)
    start = ex.body.read(_SNIFF)
    store = _sniff_compressed(start, ex) and ex.body_bytes > 0
    block = itertools.chain((ex.head.raw, start), _stream(ex.body))   # streamed: never the whole body in memory
    resp_len = write_record(out, resp_headers, block, len(ex.head.raw) + ex.body_bytes, level,
                            store_after=len(ex.head.raw) if store else None)
    return ExchangeRecords(request_id, response_id, req_len, resp_len)


def _write_request(out: IO[bytes], ex: Exchange, record_id: str, date: str, level: int) -> int:
    """The request record of an exchange, exactly as sent; its length in the file."""
    headers = [("WARC-Type", "request"), ("WARC-Record-ID", record_id), ("WARC-Date", date),
               ("WARC-Target-URI", ex.url), ("WARC-Block-Digest", f"sha256:{hashlib.sha256(ex.request).hexdigest()}"),
               ("Content-Type", "application/http; msgtype=request")]
    return write_record(out, headers, [ex.request], len(ex.request), level)


def write_not_modified(out: IO[bytes], ex: Exchange, warcinfo_id: str, level: int, original: Original,
                       new_id: IdFactory = new_record_id) -> ExchangeRecords:
    """A 304 to a conditional request: the request record exactly as sent; a ``revisit`` record
    (server-not-modified profile) saying that the payload stored in ``original`` holds at this time;
    then a ``metadata`` record (application/warc-fields) holding the 304 as received: its status
    line, then its header lines byte for byte.

    The revisit's block is empty, so replay takes the original's head and payload (pywb does so for
    an empty revisit). The 304 is not a ``response`` record, nor the revisit's block: pywb replays
    any record of the URL at that second whose HTTP status is 304 as an empty 304."""
    request_id, revisit_id = new_id(), new_id()
    date = warc_date(ex.date)
    req_len = _write_request(out, ex, request_id, date, level)
    address = [("WARC-IP-Address", ex.remote_address)] if ex.remote_address else []
    headers = [("WARC-Type", "revisit"), ("WARC-Record-ID", revisit_id), ("WARC-Date", date),
               ("WARC-Target-URI", ex.url), *address, ("WARC-Concurrent-To", request_id),
               ("WARC-Profile", NOT_MODIFIED_PROFILE), ("WARC-Refers-To", original.record_id),
               ("WARC-Refers-To-Target-URI", original.url), ("WARC-Refers-To-Date", original.date),
               ("WARC-Payload-Digest", original.payload_digest),
               ("WARC-Block-Digest", f"sha256:{hashlib.sha256(b'').hexdigest()}")]
    length = write_record(out, headers, [], 0, level)
    # the 304's head: no WARC-Target-URI (optional for metadata; the revisit it is concurrent to names
    # the URL) and no WARC-Warcinfo-ID (the file's first record), as the request and revisit records
    fields = not_modified_fields(ex.head.raw)
    meta = [("WARC-Type", "metadata"), ("WARC-Record-ID", new_id()), ("WARC-Date", date),
            ("WARC-Concurrent-To", revisit_id), ("WARC-Block-Digest", f"sha256:{hashlib.sha256(fields).hexdigest()}"),
            ("Content-Type", "application/warc-fields")]
    write_record(out, meta, [fields], len(fields), level)
    return ExchangeRecords(request_id, revisit_id, req_len, length)


def not_modified_fields(head: bytes) -> bytes:
    """A 304's head as warc-fields: ``http-status-line: <its status line>``, then its header lines
    as received (header lines are fields already); the head's closing blank line dropped."""
    status_line, _, rest = head.partition(b"\r\n")
    lines = [b"http-status-line: " + status_line.strip(), *[line for line in rest.split(b"\r\n") if line]]
    return b"\r\n".join(lines) + b"\r\n"


_SNIFF = 64


def _sniff_compressed(start: bytes, ex: Exchange) -> bool:
    """Whether the body (whose first bytes are ``start``) is compressed already."""
    if ex.head.is_chunked:
        size_end = start.find(b"\r\n")
        start = start[size_end + 2:] if size_end >= 0 else b""
    return codec.already_compressed(start, ex.head.get("Content-Encoding"))


def write_conversion(out: IO[bytes], *, url: str, date: datetime, refers_to: str, warcinfo_id: str,
                     text: bytes, level: int, new_id: IdFactory = new_record_id) -> tuple[str, int]:
    """A ``conversion`` record holding text derived from the response ``refers_to``; returns
    (record id, compressed length)."""
    record_id = new_id()
    digest = f"sha256:{hashlib.sha256(text).hexdigest()}"
    headers = [("WARC-Type", "conversion"), ("WARC-Record-ID", record_id), ("WARC-Date", warc_date(date)),
               ("WARC-Target-URI", url), ("WARC-Refers-To", refers_to), ("WARC-Warcinfo-ID", warcinfo_id),
               ("WARC-Block-Digest", digest), ("WARC-Payload-Digest", digest),
               ("Content-Type", "text/plain; charset=utf-8")]
    return record_id, write_record(out, headers, [text], len(text), level)


def write_metadata(out: IO[bytes], *, uri: str, date: datetime, concurrent_to: str | None, warcinfo_id: str,
                   content_type: str, block: bytes, level: int, new_id: IdFactory = new_record_id) -> tuple[str, int]:
    """A ``metadata`` record about ``uri`` (e.g. what a server presented), ``WARC-Concurrent-To`` the
    record it accompanies; returns (record id, compressed length)."""
    record_id = new_id()
    headers = [("WARC-Type", "metadata"), ("WARC-Record-ID", record_id), ("WARC-Date", warc_date(date)),
               ("WARC-Target-URI", uri), *([("WARC-Concurrent-To", concurrent_to)] if concurrent_to else []),
               ("WARC-Warcinfo-ID", warcinfo_id),
               ("WARC-Block-Digest", f"sha256:{hashlib.sha256(block).hexdigest()}"), ("Content-Type", content_type)]
    return record_id, write_record(out, headers, [block], len(block), level)


def warcinfo_fields(fields: dict[str, str]) -> bytes:
    """application/warc-fields: one 'name: value' line per field, values on one line."""
    lines = [f"{k}: {' '.join(str(v).split())}" for k, v in fields.items()]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


class WarcFileWriter:
    """One WARC file of a capture: written under a ``.open`` name, renamed when complete."""

    def __init__(self, path: Path, info: dict[str, str], date: datetime, level: int,
                 new_id: IdFactory = new_record_id) -> None:
        self.path = path
        self.open_path = path.with_name(path.name + OPEN_SUFFIX)
        self.warcinfo_id = new_id()
        self._fh = open(self.open_path, "xb")
        self._sha = hashlib.sha256()
        self._size = 0
        block = warcinfo_fields(info)
        headers = [("WARC-Type", "warcinfo"), ("WARC-Record-ID", self.warcinfo_id),
                   ("WARC-Date", warc_date(date)), ("WARC-Filename", path.name),
                   ("Content-Type", "application/warc-fields"),
                   ("WARC-Block-Digest", f"sha256:{hashlib.sha256(block).hexdigest()}")]
        from io import BytesIO

        buf = BytesIO()
        write_record(buf, headers, [block], len(block), level)
        self._write(buf.getvalue())

    def _write(self, data: bytes) -> None:
        self._fh.write(data)
        self._sha.update(data)
        self._size += len(data)

    @property
    def size(self) -> int:
        return self._size

    def append(self, fragment: IO[bytes]) -> int:
        """Append already-compressed records; return the offset where they start."""
        offset = self._size
        fragment.seek(0)
        for chunk in _stream(fragment):
            self._write(chunk)
        return offset

    def finish(self, relative: str) -> WarcFile:
        """Flush to disk and rename to the final name."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.open_path, self.path)
        fsync_dir(self.path.parent)
        return WarcFile(path=relative, bytes=self._size, sha256=self._sha.hexdigest())

    def abandon(self) -> None:
        """Close without renaming: the ``.open`` file stays as debris that verify reports."""
        if not self._fh.closed:
            try:
                self._fh.close()
            except OSError:
                pass      # a full disk may refuse the last flush; the first error is the one to report


def settings_json(options: dict[str, object]) -> str:
    return json.dumps(options, sort_keys=True, separators=(",", ":"))
