"""What one HTTP exchange is, as the fetcher hands it on: the request sent and the response
received, ready to be written as WARC records; and what a request is to carry. Types only, so that
the WARC writer needs no HTTP client to know them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from .wire import ResponseHead


@dataclass(slots=True)
class Exchange:
    """A request sent and the response received, ready to be written as WARC records."""

    url: str
    date: datetime
    request: bytes                 # as archived (secrets possibly redacted)
    head: ResponseHead
    body: IO[bytes]                # raw body bytes as received, positioned at 0
    body_bytes: int
    block_digest: str              # hex sha256 of head.raw + body
    payload_digest: str            # hex sha256 of body as stored (chunk framing included)
    entity_digest: str             # hex sha256 of body with chunked framing removed
    entity_bytes: int
    prefix: bytes                  # first PARSE_PREFIX_BYTES of the entity, for parsing
    remote_address: str | None
    truncated: str | None = None   # WARC-Truncated value: length | time | disconnect
    truncated_reason: str | None = None
    redacted: tuple[str, ...] = field(default=())

    def close(self) -> None:
        self.body.close()


@dataclass(frozen=True, slots=True)
class RequestPlan:
    """What to send: the headers (in order) and which of them must be redacted when archived."""

    headers: tuple[tuple[str, str], ...]
    secret_names: frozenset[str] = frozenset()
