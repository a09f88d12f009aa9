"""The things that flow through archiver: plain frozen dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Why a URL is in a capture."""

    SEED = "seed"            # named by the user
    REQUISITE = "requisite"  # needed to render a page: image, CSS, script, font, media
    SOURCE = "source"        # a page the article links to (a "linked source")
    ROBOTS = "robots"        # a robots.txt consulted before fetching from a host


@dataclass(frozen=True, slots=True)
class Link:
    """A URL found in a page or stylesheet, with what it is to that page."""

    url: str
    role: Role


@dataclass(frozen=True, slots=True)
class Target:
    """A URL queued for fetching, with how the capture came to it."""

    url: str
    role: Role
    depth: int                  # link hops from a seed (requisites keep their page's depth)
    via: str | None = None      # the page (or redirect) that led here; None for seeds
    hops: int = 0               # redirects followed to get here


@dataclass(frozen=True, slots=True)
class ArchivedResource:
    """One response written to a WARC file, as the manifest lists it."""

    url: str
    role: Role
    via: str | None
    depth: int
    status: int
    content_type: str | None
    payload_sha256: str          # hex sha256 of the entity body (transfer coding removed)
    payload_bytes: int
    warc: str                    # path relative to the workspace
    offset: int                  # of the response record's gzip member
    length: int                  # of that gzip member
    record_id: str
    request_record_id: str | None   # None only in manifests of hand-made results
    date: str                    # WARC-Date of the exchange
    remote_address: str | None
    location: str | None = None  # redirect target, when status is 3xx
    truncated: str | None = None  # WARC-Truncated reason, when the body was cut
    metadata: dict[str, dict[str, Any]] | None = None   # citation metadata: field -> {value, source}
    text: TextRecord | None = None                       # the extracted main text's conversion record
    warc_payload_digest: str | None = None               # the record's WARC-Payload-Digest header
    revisit_of: Original | None = None                   # a revisit record: the payload is stored there
    limits: list[str] | None = None                      # parsing bounds that cut (net/content_coding.py), one note each


@dataclass(frozen=True, slots=True)
class Original:
    """An earlier response whose payload a revisit record refers to."""

    capture_id: str
    record_id: str
    url: str
    date: str                      # its WARC-Date
    payload_digest: str            # its WARC-Payload-Digest header, copied byte for byte
    warc: str
    offset: int


@dataclass(frozen=True, slots=True)
class TextRecord:
    """Where a page's extracted main text is stored: a WARC conversion record."""

    record_id: str
    offset: int
    length: int
    sha256: str
    chars: int
    warc: str | None = None    # the WARC file holding it, when not the resource's own (an import's derived file)


@dataclass(frozen=True, slots=True)
class Failure:
    """A URL that could not be archived, and why."""

    url: str
    role: Role
    via: str | None
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A URL deliberately not fetched (robots.txt, --exclude, a limit)."""

    url: str
    role: Role
    via: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class WarcFile:
    """A finished WARC file of a capture."""

    path: str       # relative to the workspace, '/' separated
    bytes: int
    sha256: str


@dataclass(frozen=True, slots=True)
class PageFlag:
    """A warning about how faithful a page's capture is."""

    url: str
    flag: str       # e.g. "javascript-shell", "requisites-failed"
    detail: str


@dataclass(frozen=True, slots=True)
class ServerCert:
    """One certificate a server presented in its TLS handshake, summarised (the WARC metadata record
    holds it whole)."""

    subject: str                # RFC 4514, e.g. "CN=example.org,O=Example"
    issuer: str
    not_before: str             # UTC, YYYY-MM-DDTHH:MM:SSZ
    not_after: str
    sha256: str                 # hex sha256 of its DER form: the certificate's usual fingerprint


@dataclass(frozen=True, slots=True)
class ServerTls:
    version: str                # the protocol negotiated, e.g. "TLSv1.3"
    cipher: str                 # e.g. "TLS_AES_256_GCM_SHA384"
    chain: tuple[ServerCert, ...]   # as presented, leaf first
    complete: bool = True       # False: only the leaf could be read (docs/warc.md)


@dataclass(frozen=True, slots=True)
class ServerSeen:
    """A server of a capture (one origin): what its name resolved to, what was connected to and,
    for HTTPS, what it presented; where its WARC metadata record is."""

    host: str
    port: int
    scheme: str
    addresses: tuple[str, ...]          # the resolver's answer, in its order
    connected: tuple[str, ...]          # the addresses connected to (the first one first)
    tls: ServerTls | None = None
    record_id: str | None = None        # the metadata record (docs/warc.md)
    warc: str | None = None
    offset: int | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class BrowserRecord:
    """A record made from a page as the browser showed it: a screenshot, a PDF, the DOM after its
    scripts (docs/warc.md); tied to the page's response record."""

    kind: str                   # "screenshot", "screenshot-full-page", "pdf", "dom"
    uri: str                    # its WARC-Target-URI
    record_id: str
    record_type: str            # "resource" or "conversion"
    content_type: str
    warc: str
    offset: int
    length: int
    sha256: str                 # of the block: the PNG, the PDF, the HTML
    bytes: int


@dataclass(frozen=True, slots=True)
class BrowserPage:
    """A page rendered in the browser (``--browser``): how it went and what it showed that the
    static capture would have missed (docs/manifest.md)."""

    url: str
    why: str                            # "--browser", or the flag that sent it to the browser (--browser auto)
    settled: bool                       # the network went idle within the page's time bound
    seconds: float
    requested: int                      # requests the browser made (through the recording proxy)
    archived: int                       # ... of them archived by this capture
    not_found_statically: tuple[str, ...] = ()   # what the browser requested that static extraction did not find
    shell_resolved: bool | None = None  # the static HTML was a shell: did the rendered page have its text?
    title: str | None = None            # the rendered DOM's title
    records: tuple[BrowserRecord, ...] = ()
    error: str | None = None            # the browser crashed or hung on this page


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """What a capture produced."""

    capture_id: str
    manifest_path: str
    seeds: tuple[str, ...]
    warc_files: tuple[WarcFile, ...]
    resources: tuple[ArchivedResource, ...]
    failures: tuple[Failure, ...]
    skipped: tuple[Skipped, ...]
    flags: tuple[PageFlag, ...]
    seed_problems: tuple[str, ...] = field(default=())
    interrupted: bool = False           # stopped by a signal: what was archived, requests in flight abandoned
    warnings: tuple[str, ...] = ()      # after the seal, e.g. no timestamp token yet from an authority
    servers: tuple[ServerSeen, ...] = ()    # what each server proved about itself (docs/manifest.md)
    browser_pages: tuple[BrowserPage, ...] = ()   # pages rendered in the browser (--browser)

    @property
    def bytes_archived(self) -> int:
        return sum(w.bytes for w in self.warc_files)

    @property
    def ok(self) -> bool:
        return not self.seed_problems


@dataclass(frozen=True, slots=True)
class ChainRef:
    """The manifest sealed just before a capture's: its capture id and the sha256 of its file."""

    capture_id: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """A capture's manifest (docs/manifest.md): what ``fixity.manifest.build_manifest`` makes and
    ``seal`` writes, and what ``read_manifest`` gives back, field for field.

    ``sequence`` and ``previous`` are set by the seal (None before; ``sequence`` is None also in
    format version 1). The mappings ``operator``, ``software``, ``settings`` and ``imported_from``
    are provenance, kept as written."""

    capture_id: str
    seeds: tuple[str, ...]
    started: str                        # UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ
    ended: str
    software: dict[str, Any]
    settings: dict[str, Any]
    warc_files: tuple[WarcFile, ...]
    resources: tuple[ArchivedResource, ...]
    failures: tuple[Failure, ...]
    skipped: tuple[Skipped, ...]
    flags: tuple[PageFlag, ...] = ()
    seed_problems: tuple[str, ...] = ()
    format_version: int = 2
    sequence: int | None = None
    previous: ChainRef | None = None
    operator: dict[str, Any] | None = None
    host: str | None = None
    redacted_headers: tuple[str, ...] = ()
    signing_key: str | None = None      # fingerprint of the key that signed the capture's checksum list
    schedule: str | None = None         # the schedule that made the capture
    skipped_unlisted: dict[str, int] | None = None   # skip reason -> skips counted but not listed
    imported_from: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    interrupted: bool = False           # stopped by a signal; abandoned requests are failures of kind 'interrupted'
    timestamp_authorities: tuple[str, ...] = ()   # RFC 3161 authorities asked for a token at seal time
    servers: tuple[ServerSeen, ...] = ()    # each server's addresses and TLS facts (docs/manifest.md)
    browser_pages: tuple[BrowserPage, ...] = ()   # pages rendered in the browser (docs/manifest.md)

    @property
    def payload_bytes(self) -> int:
        return sum(r.payload_bytes for r in self.resources)

    @property
    def warc_bytes(self) -> int:
        return sum(w.bytes for w in self.warc_files)
