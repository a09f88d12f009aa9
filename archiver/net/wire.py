"""HTTP/1.1 on the wire: building request bytes, reading a response head, removing chunked framing.

Pure byte handling, no sockets: ``fetch`` feeds it what arrives. Parsing is lenient where servers
are sloppy (bare LF line ends, odd reason phrases) and strict where a mistake would corrupt the
record (the status code, Content-Length, chunk sizes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_HEAD_BYTES = 256 * 1024
_STATUS_LINE = re.compile(rb"^(HTTP/\d(?:\.\d)?)[ \t]+(\d{3})(?:[ \t]+([^\r\n]*))?$")


class ProtocolError(Exception):
    """The server's bytes are not HTTP/1.x as far as archiving needs."""


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """A parsed status line and header block; ``raw`` holds the exact bytes received."""

    version: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    raw: bytes

    def get(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]

    @property
    def content_type(self) -> str | None:
        value = self.get("Content-Type")
        return value.strip() if value else None

    @property
    def is_chunked(self) -> bool:
        codings = ",".join(self.get_all("Transfer-Encoding")).lower()
        return bool(codings) and codings.replace(" ", "").split(",")[-1] == "chunked"

    def content_length(self) -> int | None:
        """Content-Length if present and unambiguous; ProtocolError if malformed or conflicting."""
        values = {v.strip() for v in self.get_all("Content-Length")}
        if not values:
            return None
        parts = {p.strip() for v in values for p in v.split(",")}
        if len(parts) != 1 or not next(iter(parts)).isdigit():
            raise ProtocolError(f"invalid Content-Length {sorted(values)}")
        return int(next(iter(parts)))


def find_head_end(buffer: bytes, start: int = 0, stop: int | None = None) -> int:
    """Index just past the blank line ending the header block (CRLF CRLF or LF LF, whichever ends
    first) within ``buffer[start:stop]``, or -1 if not yet received. No copy is made."""
    stop = len(buffer) if stop is None else stop
    crlf = buffer.find(b"\r\n\r\n", start, stop)
    # an LF LF ending before CRLF CRLF does must start at crlf + 1 or before
    lf = buffer.find(b"\n\n", start, stop if crlf < 0 else crlf + 3)
    if lf >= 0:
        return lf + 2
    return crlf + 4 if crlf >= 0 else -1


def parse_head(raw: bytes) -> ResponseHead:
    """Parse a response head (status line, headers, blank line)."""
    lines = raw.split(b"\n")
    status_line = lines[0].rstrip(b"\r")
    m = _STATUS_LINE.match(status_line)
    if not m:
        shown = status_line[:80].decode("latin-1")
        raise ProtocolError(f"invalid status line {shown!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        line = line.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip().decode('latin-1')}")
            continue
        raw_name, sep, raw_value = line.partition(b":")
        if not sep or not raw_name.strip():
            continue  # not a header line; kept in raw bytes, ignored for framing
        headers.append((raw_name.strip().decode("latin-1"), raw_value.strip().decode("latin-1")))
    return ResponseHead(version=m.group(1).decode("ascii"), status=int(m.group(2)),
                        reason=(m.group(3) or b"").decode("latin-1"), headers=tuple(headers), raw=raw)


def has_no_body(status: int, method: str = "GET") -> bool:
    return method == "HEAD" or 100 <= status < 200 or status in (204, 304)


def build_request(method: str, target: str, headers: list[tuple[str, str]]) -> bytes:
    """Request bytes: request line, headers in the given order, blank line."""
    lines = [f"{method} {target} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers]
    for line in lines:
        if "\r" in line or "\n" in line:
            raise ValueError(f"header line contains a line break: {line[:60]!r}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="strict")


class ChunkedDecoder:
    """Incremental removal of chunked transfer coding (RFC 9112 section 7.1).

    ``feed(raw)`` returns the entity bytes contained in ``raw``; ``done`` becomes true after the
    last chunk and its trailer section, and ``last_used`` tells how many bytes of the last ``raw``
    belong to the message: any bytes after its end are not part of it.
    """

    _MAX_LINE = 16 * 1024

    def __init__(self) -> None:
        self._state = "size"      # size | data | data-crlf | trailer
        self._line = bytearray()
        self._left = 0
        self.done = False
        self.last_used = 0

    def feed(self, raw: bytes) -> bytes:
        out = bytearray()
        i, n = 0, len(raw)
        while i < n and not self.done:
            if self._state == "data":
                take = min(self._left, n - i)
                out += raw[i:i + take]
                i += take
                self._left -= take
                if self._left == 0:
                    self._state = "data-crlf"
                continue
            j = raw.find(b"\n", i)
            if j < 0:
                self._line += raw[i:]
                i = n
                if len(self._line) > self._MAX_LINE:
                    raise ProtocolError("chunk-size or trailer line over 16 KiB")
                break
            self._line += raw[i:j]
            i = j + 1
            self._end_line(bytes(self._line).rstrip(b"\r"))
            self._line.clear()
        self.last_used = i
        return bytes(out)

    def _end_line(self, line: bytes) -> None:
        if self._state == "data-crlf":
            if line:
                raise ProtocolError("chunk data not followed by CRLF")
            self._state = "size"
        elif self._state == "size":
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ProtocolError(f"invalid chunk size {size_text[:20]!r}") from None
            if size < 0:
                raise ProtocolError("negative chunk size")
            if size == 0:
                self._state = "trailer"
            else:
                self._left, self._state = size, "data"
        elif self._state == "trailer" and not line:
            self.done = True
