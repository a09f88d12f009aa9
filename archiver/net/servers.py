"""What each server of a capture proved about itself: the addresses its name resolved to, the ones
connected to, and for HTTPS the negotiated protocol, cipher and the certificate chain it presented.

The fetcher tells a :class:`ServerLog` what it learns as it connects; the capture writes it down
(a WARC ``metadata`` record per server and the manifest's ``servers``). Only the first TLS handshake
with an origin is kept: later connections to it reuse what was learnt and cost nothing more.

The presented chain: Python 3.11's ``ssl`` gives only the leaf certificate through its documented
API (``getpeercert(binary_form=True)``). Its C socket object has had ``get_unverified_chain()``
since 3.10, made public on ``SSLSocket`` in 3.13: the certificates exactly as the server sent them
in its handshake, leaf first, verified or not. That is read here (public method first, the private
object's otherwise); where neither exists, the leaf alone is kept and ``complete`` says so. pyOpenSSL's
``get_peer_cert_chain`` would give the same list only over its own connection type, in place of the
standard ``ssl`` socket the fetcher uses for deadlines, keep-alive and abort.
"""

from __future__ import annotations

import _ssl
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime

MAX_CHAIN = 16                      # certificates kept of one handshake (a real chain has 2-4)


@dataclass(frozen=True, slots=True)
class TlsFacts:
    version: str                    # e.g. "TLSv1.3"
    cipher: str                     # e.g. "TLS_AES_256_GCM_SHA384"
    chain: tuple[bytes, ...]        # DER certificates as presented, leaf first
    complete: bool                  # False: only the leaf could be read


@dataclass(slots=True)
class ServerFacts:
    """One origin (scheme, host, port) as the capture met it."""

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...] = ()         # what the name resolved to, in the resolver's order
    connected: list[str] = field(default_factory=list)   # addresses connected to, first first
    tls: TlsFacts | None = None
    when: datetime | None = None            # the first connection

    @property
    def origin(self) -> str:
        default = {"http": 80, "https": 443}.get(self.scheme)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")


class ServerLog:
    """What the fetcher learnt per origin; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[tuple[str, str, int], ServerFacts] = {}

    def resolved(self, scheme: str, host: str, port: int, addresses: list[str]) -> None:
        with self._lock:
            facts = self._servers.setdefault((scheme, host, port), ServerFacts(scheme, host, port))
            if not facts.addresses:
                facts.addresses = tuple(dict.fromkeys(addresses))

    def wants_tls(self, scheme: str, host: str, port: int) -> bool:
        """Whether no handshake with this origin has been kept yet."""
        with self._lock:
            known = self._servers.get((scheme, host, port))
            return known is None or known.tls is None

    def connected(self, scheme: str, host: str, port: int, peer: str, when: datetime,
                  tls: TlsFacts | None) -> None:
        with self._lock:
            facts = self._servers.setdefault((scheme, host, port), ServerFacts(scheme, host, port))
            facts.when = facts.when or when
            if peer not in facts.connected:
                facts.connected.append(peer)
            if facts.tls is None and tls is not None:
                facts.tls = tls

    def servers(self) -> list[ServerFacts]:
        """Every origin resolved or connected to, in the order first met (a name resolved but never
        connected to is kept too: its addresses still tell)."""
        with self._lock:
            return list(self._servers.values())


def tls_facts(sock: ssl.SSLSocket) -> TlsFacts:
    """The negotiated version and cipher and the chain presented, of a socket after its handshake."""
    cipher = sock.cipher()
    chain = _presented_chain(sock)
    complete = chain is not None
    if chain is None:
        leaf = sock.getpeercert(binary_form=True)
        chain = [leaf] if leaf else []
    return TlsFacts(sock.version() or "", cipher[0] if cipher else "", tuple(chain[:MAX_CHAIN]), complete)


def _presented_chain(sock: ssl.SSLSocket) -> list[bytes] | None:
    getter = getattr(sock, "get_unverified_chain", None)                       # Python >= 3.13
    if getter is None:
        getter = getattr(getattr(sock, "_sslobj", None), "get_unverified_chain", None)   # 3.10 - 3.12
    if getter is None:
        return None
    try:
        certs = getter() or []
        return [c if isinstance(c, bytes) else c.public_bytes(_ssl.ENCODING_DER)
                for c in certs]
    except (ssl.SSLError, ValueError, AttributeError, TypeError):
        return None
