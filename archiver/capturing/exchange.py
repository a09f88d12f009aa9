"""The work done for one URL in a worker thread: robots check, fetch, WARC records, link extraction.

Returns data only; the capture's main thread appends the records to the WARC file and decides
what to fetch next.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

from ..core.errors import FetchError
from ..core.models import Failure, Original, Role, Skipped, Target
from ..core.urls import host_key, parse_http_url
from ..net.content_coding import decode_bounded, decode_for_parsing
from ..net.exchange import Exchange
from ..net.fetch import Fetcher
from ..net.request_plan import RequestPlanner
from ..net.robots import RobotsRules, agent_token, rules_from_response
from ..net.wire import ResponseHead
from ..page.links import PageLinks
from ..page.main_text import MainText
from ..page.metadata import PageMetadata
from ..page.pdf_metadata import pdf_metadata
from ..warc.writer import ExchangeRecords, write_conversion, write_exchange, write_not_modified
from .page_work import PageJob, PagePool, read_page

if TYPE_CHECKING:
    from ..index.validators import Prior

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_PAGE_ROLES = (Role.SEED, Role.SOURCE)   # fetched as documents; requisites and robots.txt accept any type
_HOST_DOWN = frozenset({"dns", "refused", "connect", "tls"})


@dataclass(slots=True)
class Fetched:
    """One exchange written as records into ``fragment`` (compressed, ready to append): request,
    response, and for an HTML page with text, a conversion record of its main text."""

    target: Target
    exchange: Exchange
    records: ExchangeRecords
    fragment: IO[bytes]
    metadata: PageMetadata | None = None
    text: tuple[str, int, str, int] | None = None   # conversion record id, length, sha256, chars
    repeated: tuple[tuple[str, int], ...] = ()
    revisit: Original | None = None                 # the payload was stored before: a revisit record
    limits: tuple[str, ...] = ()                    # notes of the parsing bounds that cut (net/content_coding.py)
    body: IO[bytes] | None = None                   # the body as received, kept open for the browser's proxy
    body_head: ResponseHead | None = None           # ... the head it goes with, when not the exchange's (a 304's stored one)
    not_modified: Prior | None = None               # a 304 to our conditional request: this payload holds


@dataclass(slots=True)
class WorkResult:
    target: Target
    fetched: list[Fetched] = field(default_factory=list)   # robots.txt first, then the target
    failure: Failure | None = None
    skipped: Skipped | None = None
    page: PageLinks | None = None
    css: list = field(default_factory=list)


class RobotsCache:
    """robots.txt rules per host, fetched once; concurrent askers for one host wait for the first."""

    def __init__(self) -> None:
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: str, load: Callable[[], RobotsRules]) -> tuple[RobotsRules, bool]:
        """(rules, True if this call loaded them)."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._rules:
                return self._rules[key], False
            rules = load()
            self._rules[key] = rules
            return rules, True


class FindOriginal(Protocol):
    def original(self, url: str, payload_sha256: str) -> Original | None: ...


class FindPrior(Protocol):
    def prior(self, url: str) -> Prior | None: ...

    def stored(self, prior: Prior) -> tuple[ResponseHead, bytes] | None: ...

    def stored_body(self, prior: Prior) -> tuple[ResponseHead, IO[bytes]] | None: ...


class ExchangeWorker:
    """Everything a worker thread needs; one instance shared by all workers of a capture."""

    def __init__(self, *, fetcher: Fetcher, planner: RequestPlanner, warcinfo_id: str, level: int,
                 scratch: Path, obey_robots: bool, user_agent: str, dedup: FindOriginal | None = None,
                 conditional: FindPrior | None = None, pages: PagePool | None = None) -> None:
        self.dedup = dedup
        self.pages = pages          # pages read in other processes (page_work.py); None: in these threads
        self.conditional = conditional      # re-captures ask with the stored payload's validators
        self.fetcher, self.planner = fetcher, planner
        self.warcinfo_id, self.level, self.scratch = warcinfo_id, level, scratch
        self.obey_robots = obey_robots
        self.agent = agent_token(user_agent)
        self.robots = RobotsCache()
        # one page parsed at a time in this process: the parsing bounds then hold for the capture, not
        # per worker (parsing holds the GIL anyway); a PagePool reads one page per process
        self._parsing = threading.Lock()

    def run(self, target: Target, relay: bool = False) -> WorkResult:
        """``relay``: keep the body as received open in ``Fetched.body`` (for the browser's proxy)."""
        result = WorkResult(target)
        try:
            # robots.txt governs what the capture finds by itself: linked sources and their requisites.
            # The pages the user named (depth 0) and what they need to render are always captured.
            if self.obey_robots and target.depth > 0 and not self._robots_allow(target, result):
                return result
            fetched = self._fetch(target, keep=relay)
        except FetchError as exc:
            result.failure = Failure(target.url, target.role, target.via, exc.kind, exc.reason)
            return result
        result.fetched.append(fetched)
        self._parse(fetched, target, result)
        return result

    def _fetch(self, target: Target, keep: bool = False) -> Fetched:
        url = parse_http_url(target.url)
        # robots.txt is fetched as before; a first capture has no prior and asks unconditionally; for
        # the browser's proxy, only with the stored body at hand, to relay in place of a 304
        ask = self.conditional is not None and target.role is not Role.ROBOTS
        prior = self.conditional.prior(url.url) if ask and self.conditional else None
        stored = self.conditional.stored_body(prior) if keep and prior is not None and self.conditional else None
        if keep and stored is None:
            prior = None
        try:
            plan = self.planner.plan(url.url, page=target.role in _PAGE_ROLES,
                                     validators=prior.headers() if prior else ())
            exchange = self.fetcher.fetch(url, plan, trusted=target.role is Role.SEED and target.hops == 0)
        except BaseException:
            if stored is not None:
                stored[1].close()
            raise
        if prior is not None and exchange.head.status != 304:
            prior = None          # a body came: deduplicated (or recorded as changed) as any other
        if prior is None and stored is not None:
            stored[1].close()
            stored = None
        revisit = prior.original if prior is not None else self._earlier(exchange, target)
        fragment = tempfile.SpooledTemporaryFile(max_size=2**20, dir=str(self.scratch))
        try:
            if prior is not None:
                records = write_not_modified(fragment, exchange, self.warcinfo_id, self.level, prior.original)
            else:
                records = write_exchange(fragment, exchange, self.warcinfo_id, self.level, revisit=revisit)
        except BaseException:
            fragment.close()
            exchange.close()
            if stored is not None:
                stored[1].close()
            raise
        if not keep or stored is not None:
            exchange.close()      # a 304's empty body is not what the browser gets: the stored one is
        body_head, body = stored if stored is not None else (None, exchange.body if keep else None)
        return Fetched(target, exchange, records, fragment, revisit=revisit, body=body, body_head=body_head,
                       not_modified=prior)

    def _earlier(self, ex: Exchange, target: Target) -> Original | None:
        """An earlier response of this URL with the identical payload, if the workspace has one."""
        if self.dedup is None or ex.truncated or not ex.entity_bytes or not 200 <= ex.head.status < 300:
            return None
        return self.dedup.original(ex.url, ex.entity_digest)

    def _robots_allow(self, target: Target, result: WorkResult) -> bool:
        url = parse_http_url(target.url)
        robots_target = Target(f"{url.origin}/robots.txt", Role.ROBOTS, target.depth, via=target.url)

        def load() -> RobotsRules:
            try:
                fetched = self._fetch(robots_target)
            except FetchError as exc:
                if exc.kind in _HOST_DOWN:
                    return RobotsRules(None)   # the host is down: the target's own fetch says why
                return RobotsRules(None, unreachable=exc.reason)
            result.fetched.append(fetched)
            ex = fetched.exchange
            if ex.truncated == "time":
                return RobotsRules(None, unreachable="timed out")
            body = decode_for_parsing(ex.prefix, ex.head.get("Content-Encoding")) or b""
            return rules_from_response(ex.head.status, body)

        rules, _ = self.robots.get(host_key(target.url), load)
        if rules.allows(target.url, self.agent):
            return True
        result.skipped = Skipped(target.url, target.role, target.via, rules.why_not())
        return False

    def _parse(self, fetched: Fetched, target: Target, result: WorkResult) -> None:
        ex = fetched.exchange
        if fetched.not_modified is not None and self.conditional is not None:
            # a 304: the stored payload is the page now; its links, metadata and requisites are read from it
            stored = self.conditional.stored(fetched.not_modified)
            if stored is None:
                return
            ex = replace(ex, head=stored[0], prefix=stored[1], entity_bytes=fetched.not_modified.payload_bytes)
        status = ex.head.status
        if not 200 <= status < 300 or not ex.prefix:
            return
        ctype = (ex.head.content_type or "").split(";")[0].strip().lower()
        is_html = ctype in _HTML_TYPES or (not ctype and ex.prefix.lstrip()[:15].lower().startswith(b"<!doctype html"))
        if ctype == "application/pdf" and target.role in _PAGE_ROLES:
            with self._parsing:
                self._describe_pdf(fetched, ex)
            return
        if not is_html and ctype != "text/css":
            return
        job = PageJob(target.url, ex.prefix, ex.head.get("Content-Encoding"), ex.head.content_type,
                      css=ctype == "text/css", describe=target.role in _PAGE_ROLES, revisit=fetched.revisit is not None,
                      entity_bytes=ex.entity_bytes, language=ex.head.get("Content-Language"))
        # a page to a pool process; a stylesheet costs less to read than to send
        read = self.pages.read(job) if self.pages is not None and not job.css else None
        if read is None:                # no pool, not up yet, busy, or broken: read here
            with self._parsing:
                read = self.pages.read_here(job) if self.pages is not None else read_page(job)
        if not read.decoded:
            return
        result.css, result.page, fetched.metadata = read.css, read.page, read.metadata
        if read.text is not None:
            self._convert(fetched, read.text, ex)
        fetched.limits = read.notes

    def _describe_pdf(self, fetched: Fetched, ex: Exchange) -> None:
        """A PDF's citation metadata (page/pdf_metadata.py), read from the bytes held for parsing."""
        body, note = decode_bounded(ex.prefix, ex.head.get("Content-Encoding"))
        if body is None:
            return
        fetched.metadata = pdf_metadata(body, whole=note is None and ex.entity_bytes <= len(ex.prefix))
        fetched.limits = fetched.metadata.limits

    def _convert(self, fetched: Fetched, extracted: MainText, ex: Exchange) -> None:
        """The page's main text as a conversion record, after its response in the fragment."""
        fetched.repeated = extracted.repeated
        data = extracted.text.encode("utf-8")
        fetched.fragment.seek(0, 2)
        record_id, length = write_conversion(fetched.fragment, url=ex.url, date=ex.date,
                                             refers_to=fetched.records.response_id,
                                             warcinfo_id=self.warcinfo_id, text=data, level=self.level)
        fetched.text = (record_id, length, hashlib.sha256(data).hexdigest(), len(extracted.text))
