"""What each server of a capture proved about itself, written down: one WARC ``metadata`` record per
origin (docs/warc.md: the addresses, and for HTTPS the protocol, cipher and every certificate
presented, as PEM) and its summary for the manifest's ``servers`` (docs/manifest.md)."""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Callable, Iterable
from datetime import datetime
from io import BytesIO

from ..core.errors import ArchiverError
from ..core.models import ArchivedResource, ServerSeen, ServerTls
from ..core.urls import parse_http_url
from ..fixity.signing import describe_certificate
from ..net.servers import ServerFacts
from ..warc.writer import WarcFileWriter, write_metadata

PEM_TYPE = "application/x-pem-file"        # a TLS origin: the facts as text, then its certificates
FIELDS_TYPE = "application/warc-fields"     # a plain-HTTP origin (or one never connected to): the facts alone


def server_block(facts: ServerFacts) -> tuple[bytes, str]:
    """The metadata record's block and its content type. Lines of ``name: value`` (as
    application/warc-fields), then, for TLS, each certificate as presented, PEM, leaf first: text
    outside the PEM boundaries is explanatory text (RFC 7468), so ``openssl x509``, ``openssl
    storeutl -certs`` and other PEM readers read the record's block as it is."""
    lines = [f"origin: {facts.origin}", f"host: {facts.host}", f"port: {facts.port}",
             f"addresses: {' '.join(facts.addresses)}", f"connected: {' '.join(facts.connected)}"]
    if facts.tls is None:
        return ("\r\n".join(lines) + "\r\n").encode("ascii", "replace"), FIELDS_TYPE
    tls = facts.tls
    lines += [f"tls-version: {tls.version}", f"tls-cipher: {tls.cipher}",
              f"certificates: {len(tls.chain)} as presented, leaf first"
              + ("" if tls.complete else " (only the leaf could be read)")]
    text = "\r\n".join(lines) + "\r\n\r\n" + "".join(_pem(der) for der in tls.chain)
    return text.encode("ascii", "replace"), PEM_TYPE


def _pem(der: bytes) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def record_servers(servers: Iterable[ServerFacts], resources: list[ArchivedResource], writer: WarcFileWriter,
                   relative: str, level: int, clock: Callable[[], datetime]) -> tuple[ServerSeen, ...]:
    """Append one metadata record per server to ``writer`` (``relative``: its workspace path), each
    ``WARC-Concurrent-To`` the first response archived from that origin; the manifest's entries."""
    first: dict[str, str] = {}
    for res in resources:
        first.setdefault(_origin(res.url), res.record_id)
    out = []
    for facts in servers:
        if not facts.addresses and not facts.connected:
            continue
        block, content_type = server_block(facts)
        fragment = BytesIO()
        record_id, length = write_metadata(fragment, uri=facts.origin, date=facts.when or clock(),
                                           concurrent_to=first.get(facts.origin), warcinfo_id=writer.warcinfo_id,
                                           content_type=content_type, block=block, level=level)
        offset = writer.append(fragment)
        tls = None
        if facts.tls is not None:
            tls = ServerTls(facts.tls.version, facts.tls.cipher,
                            tuple(describe_certificate(der) for der in facts.tls.chain), facts.tls.complete)
        out.append(ServerSeen(facts.host, facts.port, facts.scheme, facts.addresses, tuple(facts.connected), tls,
                              record_id, relative, offset, length))
    return tuple(out)


def _origin(url: str) -> str:
    try:
        return parse_http_url(url).origin
    except ArchiverError:
        return ""
