"""One WARC record's bytes, parsed as they go by: its WARC headers read, its block and payload digests
checked, its HTTP status and entity digest (chunked framing removed) computed.

``RecordParser`` is fed the decoded bytes of one record, in pieces of any size, and reports into a
``ScannedRecord``. Verify runs it on every record of a file, so its per-byte work is only what
verify needs: the sha256 of the block, of the payload, and of the de-chunked entity.

Import asks for more with a ``Keep``: then the parser also keeps every WARC header as written, the
HTTP head (status line and headers), the entity's byte count and its first bytes when ``Keep`` asks
for them, and checks block and payload digests of every common algorithm (sha1 in base32, as most
crawlers write, sha256, sha512, md5 ...). Without ``Keep`` only sha256 digests are checked (archiver
writes sha256; a file's sha256 in its manifest covers every byte of an imported file anyway).

The payload digest is checked by archiver's rule (docs/warc.md): the bytes after the HTTP header
block as stored; of a record that is not HTTP, its whole block. Revisits have no payload to check.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..net.wire import ChunkedDecoder, ProtocolError, find_head_end, parse_head

MAX_WARC_HEAD = 1 * 2**20
_MAX_HTTP_HEAD = 1 * 2**20
_HEAD_WINDOW = 64 * 1024
_WS = " \t\n\r\x0b\x0c"       # what bytes.strip() strips
# the algorithms a labelled digest may name, by every spelling in use -> hashlib's name
ALGORITHMS = {spelling: name for name in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224",
                                          "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s")
              for spelling in {name, name.replace("_", "-"), name.replace("sha", "sha-", 1)}}


@dataclass(slots=True)
class ScannedRecord:
    offset: int
    length: int = 0                    # compressed member length
    record_id: str | None = None
    type: str | None = None
    target_uri: str | None = None
    date: str | None = None            # the WARC-Date header, as written
    refers_to: str | None = None       # the WARC-Refers-To header
    payload_digest: str | None = None  # the WARC-Payload-Digest header
    entity_sha256: str | None = None   # HTTP entity, chunked framing removed
    block_sha256: str | None = None    # the whole block
    status: int | None = None          # HTTP status of a response or revisit record
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HttpHead:
    """An HTTP head read leniently: ``statusline`` is what follows the protocol (``200 OK``)."""

    statusline: str
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        lname = name.lower()
        return next((value for key, value in self.headers if key.lower() == lname), None)


@dataclass(frozen=True, slots=True)
class Keep:
    """What import asks a parser to keep. ``prefix_of(record, http_head)`` says how many first bytes
    of the record's entity to keep (of its block when it is not HTTP; ``http_head`` is then None)."""

    prefix_of: Callable[[ScannedRecord, HttpHead | None], int]


@dataclass(slots=True)
class Kept:
    """What a parser kept of one record for import."""

    start: int = 0                                   # of the record in the decoded stream
    offset: int | None = None                        # of the record in the file, when known (framing)
    headers: list[tuple[str, str]] = field(default_factory=list)   # every WARC header, in order
    unreadable: str | None = None                    # why the WARC head could not be read
    opening: bytes = b""                             # the first bytes of a head that is not WARC
    http: HttpHead | None = None                     # of a response, request or revisit
    http_too_long: bool = False                      # the HTTP head did not end within 1 MiB
    chunked: bool = False
    entity_bytes: int = 0                            # the HTTP entity (chunked framing removed)
    prefix: bytearray = field(default_factory=bytearray)
    prefix_limit: int = 0


def hasher_for(label: str) -> Any:
    """A new hasher for the algorithm a labelled digest (``sha1:...``) names; None if unsupported."""
    name = ALGORITHMS.get(label.partition(":")[0].strip().lower())
    return hashlib.new(name) if name else None


def digest_matches(expected: str, hasher: Any) -> bool | None:
    """Compare a labelled digest (``algo:<hex|base32|base64>``) with a hasher; None if the label
    names another algorithm than the hasher's."""
    algo, _, value = expected.partition(":")
    if ALGORITHMS.get(algo.strip().lower()) != hasher.name:
        return None
    value, raw = value.strip(), hasher.digest()
    return (value.lower() == raw.hex() or value.upper().rstrip("=") == _b32(raw)
            or value.rstrip("=") in (_b64(raw), base64.urlsafe_b64encode(raw).decode().rstrip("=")))


def shown_digest(expected: str, hasher: Any) -> str:
    """The hasher's digest labelled and encoded as ``expected`` is (base32 or hex)."""
    algo, _, value = expected.partition(":")
    raw = hasher.digest()
    return f"{algo}:{_b32(raw) if len(value.strip().rstrip('=')) == len(_b32(raw)) else raw.hex()}"


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _check_hasher(label: str | None) -> Any:
    """With Keep: a second hasher for a digest of an algorithm other than sha256 (None for sha256)."""
    hasher = hasher_for(label) if label else None
    return None if hasher is None or hasher.name == "sha256" else hasher


class RecordParser:
    """Receives the decoded bytes of one record and checks its digests (see the module docstring)."""

    __slots__ = ("rec", "head", "state", "block_left", "block_hash", "payload_hash", "entity_hash", "chunked",
                 "http_head", "block_digest", "is_http", "status_line", "keep", "kept", "block_check",
                 "payload_check")

    def __init__(self, record: ScannedRecord, keep: Keep | None = None, start: int = 0) -> None:
        self.rec = record
        self.head = b""
        self.state = "warc-head"
        self.block_left = 0
        self.block_hash = hashlib.sha256()
        self.payload_hash: Any = None
        self.entity_hash: Any = None
        self.chunked: ChunkedDecoder | None = None
        self.http_head = b""
        self.block_digest: str | None = None
        self.is_http = False
        self.status_line: bytes | None = None     # collected for the HTTP status of a response or revisit
        self.keep = keep
        self.kept = None if keep is None else Kept(start)
        self.block_check: Any = None              # with Keep: the block digest's own algorithm, if not sha256
        self.payload_check: Any = None            # with Keep: the payload digest's own algorithm, if not sha256

    def feed(self, data: bytes, pos: int = 0) -> int:
        """Take this record's bytes from ``data[pos:]``; return where its head and block end in
        ``data`` (``len(data)`` while they go on): what follows belongs to whoever cut the stream."""
        shift = 0
        if self.state == "warc-head":
            if self.head:               # a head cut by a piece's end: join it (rare, so the copy is cheap)
                shift = pos - len(self.head)
                data, pos = self.head + data[pos:], 0
                self.head = b""
            end = data.find(b"\r\n\r\n", pos, pos + MAX_WARC_HEAD)
            if end < 0:
                if len(data) - pos > MAX_WARC_HEAD:
                    self._fail("WARC header block too long or missing")
                else:
                    self.head = data[pos:]
                return len(data) + shift
            self._parse_warc_head(data[pos:end])
            if self.state == "failed":
                return len(data) + shift
            self.state = "block" if self.block_left else "tail"
            pos = end + 4
        if self.state == "block" and pos < len(data):
            stop = min(len(data), pos + self.block_left)
            take = memoryview(data)[pos:stop] if pos or stop < len(data) else data
            self.block_left -= stop - pos
            self.block_hash.update(take)
            if self.kept is not None:
                self._keep_block(take)
            if self.status_line is not None:
                self._status(take)
            if self.is_http and self.payload_hash is None:
                self._http_head(data, pos, stop)
            elif self.payload_hash is not None:
                self.payload_hash.update(take)
                if self.chunked is not None:
                    self._dechunk(take)
                if self.kept is not None:
                    self._keep_payload(take)
            if self.block_left == 0:
                self.state = "tail"
            return stop + shift
        return pos + shift

    def _fail(self, message: str) -> None:
        self.rec.problems.append(message)
        if self.kept is not None and self.state == "warc-head":
            self.kept.unreadable = message
        self.state = "failed"

    def _parse_warc_head(self, head: bytes) -> None:
        if not head.startswith(b"WARC/"):
            first = head.split(b"\r\n", 1)[0]
            if self.kept is not None:
                self.kept.opening = head[:64]
            self._fail(f"not a WARC record (starts {first[:20]!r})")
            return
        # decoded whole: ':' and CRLF never fall inside a replaced UTF-8 sequence, so this equals
        # decoding each name and value on its own
        lines = head.decode("utf-8", "replace").split("\r\n")[1:]
        fields: dict[str, str] = {}
        for line in lines:
            name, _, value = line.partition(":")
            fields.setdefault(name.strip(_WS).lower(), value.strip(_WS))
        rec = self.rec
        rec.record_id, rec.type = fields.get("warc-record-id"), fields.get("warc-type")
        rec.target_uri, rec.payload_digest = fields.get("warc-target-uri"), fields.get("warc-payload-digest")
        rec.date, rec.refers_to = fields.get("warc-date"), fields.get("warc-refers-to")
        self.block_digest = fields.get("warc-block-digest")
        if self.kept is not None:
            self.kept.headers = [(name.strip(_WS), value.strip(_WS))
                                 for name, _, value in (line.partition(":") for line in lines)]
            if any(line[:1] in (" ", "\t") for line in lines):
                # verify reads every line as a field of its own (looking for folds costs it 1 us a
                # record), so import and verify would read such a field differently
                self._fail("its WARC header continues a field on the next line (folding), which archiver does not read")
                return
        try:
            self.block_left = int(fields.get("content-length", ""))
        except ValueError:
            self.block_left = -1
        if self.block_left < 0:
            self._fail("missing or invalid Content-Length")
            return
        http_typed = (fields.get("content-type") or "").startswith("application/http")
        self.is_http = http_typed and rec.type in ("response", "request", "revisit")
        if self.is_http and rec.type != "request":
            self.status_line = b""
        if rec.type == "revisit":
            self.is_http = False
        elif not self.is_http and rec.payload_digest:
            self.payload_hash = hashlib.sha256()
        if self.kept is not None:
            self._keep_warc_head(http_typed)

    def _http_head(self, data: bytes, pos: int, stop: int) -> None:
        """Block bytes ``data[pos:stop]`` before the end of the HTTP head was found."""
        if self.http_head:
            data, pos, stop = self.http_head + data[pos:stop], 0, len(self.http_head) + stop - pos
            self.http_head = b""
        # the HTTP head is looked for in the first 64 KiB first: most heads are small
        end = find_head_end(data, pos, min(stop, pos + _HEAD_WINDOW))
        if end < 0 and stop - pos > _HEAD_WINDOW:
            end = find_head_end(data, pos, stop)
        if end < 0:
            self.http_head = data[pos:stop]
            if len(self.http_head) > _MAX_HTTP_HEAD:
                self.is_http = False
                if self.kept is not None:
                    self.kept.http_too_long = True
            return
        self.payload_hash = self.entity_hash = hashlib.sha256()
        if self.rec.type == "response":
            head = data[pos:end]
            # is_chunked needs the word in a Transfer-Encoding value: no word, no parse
            if b"chunked" in head.lower():
                try:
                    if parse_head(head).is_chunked:
                        self.chunked = ChunkedDecoder()
                        self.entity_hash = hashlib.sha256()
                except ProtocolError:
                    pass
        if self.kept is not None:
            self._keep_http_head(data[pos:end])
        rest = memoryview(data)[end:stop]
        self.payload_hash.update(rest)
        if self.chunked is not None:
            self._dechunk(rest)
        if self.kept is not None:
            self._keep_payload(rest)

    def _dechunk(self, data: bytes | memoryview) -> None:
        if self.chunked is not None and not self.chunked.done:
            try:
                entity = self.chunked.feed(bytes(data))
            except ProtocolError:
                self.chunked = None
                return
            self.entity_hash.update(entity)
            if self.kept is not None:
                self._keep_entity(entity)

    def finish(self) -> None:
        rec = self.rec
        if self.state == "failed":
            return
        if self.state == "warc-head":
            if b"WARC/".startswith(self.head[:5]):
                self._fail("record ends inside its WARC header")
            else:
                self._parse_warc_head(self.head)      # says what it starts with
            return
        if self.state == "block":
            rec.problems.append("record ends before its declared Content-Length")
            return
        if self.is_http and self.payload_hash is None:     # headers only, no body
            self.payload_hash = hashlib.sha256()
            self.entity_hash = self.payload_hash
            if self.kept is not None:
                self.payload_check = _check_hasher(rec.payload_digest)
                self.kept.http = _parse_http_head(self.http_head) if self.http_head else None
        if self.block_digest and digest_matches(self.block_digest, self.block_check or self.block_hash) is not True:
            self._mismatch("block", self.block_digest, self.block_check or self.block_hash, "its bytes hash")
        if (rec.payload_digest and self.payload_hash is not None and rec.type != "revisit"
                and digest_matches(rec.payload_digest, self.payload_check or self.payload_hash) is not True):
            self._mismatch("payload", rec.payload_digest, self.payload_check or self.payload_hash, "its payload hashes")
        if self.entity_hash is not None:
            rec.entity_sha256 = self.entity_hash.hexdigest()
        rec.block_sha256 = self.block_hash.hexdigest()
        if self.status_line is not None:
            rec.status = _status_of(self.status_line)
        if self.kept is not None and rec.type == "revisit" and self.kept.prefix_limit:
            self.kept.http = _parse_http_head(bytes(self.kept.prefix)) if self.kept.prefix else None
            self.kept.prefix = bytearray()

    def _mismatch(self, what: str, expected: str, hasher: Any, hashes_to: str) -> None:
        """A digest that did not match (False), or of an algorithm the parser did not compute (None)."""
        matches = digest_matches(expected, hasher)
        if matches is False:
            self.rec.problems.append(f"{what} digest mismatch: the record says {expected}, "
                                     f"{hashes_to} to {shown_digest(expected, hasher)}")
        elif matches is None and self.kept is not None:
            algo = expected.partition(":")[0]
            self.rec.problems.append(f"the {what} digest {expected} is of an algorithm archiver cannot check "
                                     f"({algo!r}; it checks {', '.join(sorted(set(ALGORITHMS.values())))})")

    def _status(self, take: bytes | memoryview) -> None:
        """Collect the block's first line until it is whole (or 256 bytes), then read the status once."""
        line = (self.status_line or b"") + bytes(take[:256])
        if len(line) >= 256 or b"\n" in line:
            self.rec.status = _status_of(line)
            self.status_line = None
        else:
            self.status_line = line

    # -- what Keep asks for: none of this runs for verify ------------------------------------------

    def _keep_warc_head(self, http_typed: bool) -> None:
        assert self.kept is not None and self.keep is not None
        self.block_check = _check_hasher(self.block_digest)
        if self.payload_hash is not None:
            self.payload_check = _check_hasher(self.rec.payload_digest)
        if not self.is_http:
            self.kept.prefix_limit = self.keep.prefix_of(self.rec, None)
            if self.rec.type == "revisit" and http_typed:     # its block is an HTTP head
                self.kept.prefix_limit = _MAX_HTTP_HEAD

    def _keep_http_head(self, head: bytes) -> None:
        assert self.kept is not None and self.keep is not None
        self.kept.http = _parse_http_head(head)
        self.kept.chunked = self.chunked is not None
        self.kept.prefix_limit = self.keep.prefix_of(self.rec, self.kept.http)
        self.payload_check = _check_hasher(self.rec.payload_digest)

    def _keep_block(self, take: bytes | memoryview) -> None:
        assert self.kept is not None
        if self.block_check is not None:
            self.block_check.update(take)
        if not self.is_http and len(self.kept.prefix) < self.kept.prefix_limit:
            self.kept.prefix += take[: self.kept.prefix_limit - len(self.kept.prefix)]

    def _keep_payload(self, take: bytes | memoryview) -> None:
        assert self.kept is not None
        if self.payload_check is not None:
            self.payload_check.update(take)
        if self.is_http and not self.kept.chunked:
            if self.entity_hash is not self.payload_hash:
                self.entity_hash.update(take)
            self._keep_entity(take)

    def _keep_entity(self, entity: bytes | memoryview) -> None:
        assert self.kept is not None
        kept = self.kept
        kept.entity_bytes += len(entity)
        if len(kept.prefix) < kept.prefix_limit:
            kept.prefix += entity[: kept.prefix_limit - len(kept.prefix)]


def _status_of(line: bytes) -> int | None:
    """The status code of an HTTP/1.x status line, or None."""
    parts = line.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and len(parts[1]) == 3 and parts[1].isdigit():
        return int(parts[1])
    return None


def _parse_http_head(raw: bytes) -> HttpHead:
    """Status line and headers, read as leniently as warcio and pywb read them: each line UTF-8 (else
    Latin-1), continuation lines joined, lines without a colon skipped. Values keep any control
    character they hold (the caller's bounds refuse them)."""
    end = find_head_end(raw)
    lines = [_text(line.rstrip(b"\r")) for line in (raw[:end] if end >= 0 else raw).split(b"\n")]
    statusline = lines[0].strip(" \t").partition(" ")[2].strip(" \t") if lines else ""
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line.strip(" \t"):
            break
        if line[:1] in (" ", "\t"):
            if headers:
                headers[-1] = (headers[-1][0], headers[-1][1] + line)
            continue
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.rstrip(" \t"), value.strip(" \t")))
    return HttpHead(statusline, tuple(headers))


def _text(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")
