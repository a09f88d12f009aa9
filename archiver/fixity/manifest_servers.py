"""The manifest's ``servers`` (docs/manifest.md): each server's addresses and what it presented over
TLS, to and from the plain data of the YAML file, every value checked on the way in."""

from __future__ import annotations

import re
from typing import Any

from ..core.models import ServerCert, ServerSeen, ServerTls
from .manifest_browser import read_entries

MAX_SERVERS = 100_000
MAX_ADDRESSES = 256
MAX_CHAIN = 16
MAX_TEXT = 4096
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MAX_INT = 2**63 - 1


def servers_document(servers: tuple[ServerSeen, ...]) -> list[dict[str, Any]]:
    """As written to the manifest: every field, None ones left out."""
    out = []
    for s in servers:
        entry: dict[str, Any] = {"host": s.host, "port": s.port, "scheme": s.scheme,
                                 "addresses": list(s.addresses), "connected": list(s.connected)}
        if s.tls is not None:
            entry["tls"] = {"version": s.tls.version, "cipher": s.tls.cipher,
                            "chain": [{"subject": c.subject, "issuer": c.issuer, "not_before": c.not_before,
                                       "not_after": c.not_after, "sha256": c.sha256} for c in s.tls.chain]}
            if not s.tls.complete:
                entry["tls"]["complete"] = False
        for key in ("record_id", "warc", "offset", "length"):
            if getattr(s, key) is not None:
                entry[key] = getattr(s, key)
        out.append(entry)
    return out


def read_servers(value: Any) -> tuple[ServerSeen, ...]:
    """The ``servers`` field's entries; ValueError says which is wrong and how."""
    return read_entries(value, "servers", MAX_SERVERS, _server)


def _server(entry: dict[str, Any], what: str) -> ServerSeen:
    host, scheme = _text(entry, "host", what), _text(entry, "scheme", what)
    port = _int(entry, "port", what, 1, 65535)
    if scheme not in ("http", "https"):
        raise ValueError(f"{what}.scheme is not http or https")
    addresses, connected = _texts(entry, "addresses", what), _texts(entry, "connected", what)
    tls = _tls(entry.get("tls"), f"{what}.tls")
    record_id = _text(entry, "record_id", what) if entry.get("record_id") is not None else None
    warc = _text(entry, "warc", what) if entry.get("warc") is not None else None
    offset = _int(entry, "offset", what, 0, _MAX_INT) if entry.get("offset") is not None else None
    length = _int(entry, "length", what, 1, _MAX_INT) if entry.get("length") is not None else None
    return ServerSeen(host, port, scheme, addresses, connected, tls, record_id, warc, offset, length)


def _tls(value: Any, what: str) -> ServerTls | None:
    if value is None:
        return None
    if type(value) is not dict:
        raise ValueError(f"{what} is not a mapping")
    chain = value.get("chain")
    if type(chain) is not list or len(chain) > MAX_CHAIN:
        raise ValueError(f"{what}.chain is not a list of at most {MAX_CHAIN} certificates")
    complete = value.get("complete", True)
    if type(complete) is not bool:
        raise ValueError(f"{what}.complete is not true or false")
    return ServerTls(_text(value, "version", what), _text(value, "cipher", what),
                     tuple(_cert(c, f"{what}.chain[{i}]") for i, c in enumerate(chain)), complete)


def _cert(value: Any, what: str) -> ServerCert:
    if type(value) is not dict:
        raise ValueError(f"{what} is not a mapping")
    cert = ServerCert(*(_text(value, key, what) for key in ("subject", "issuer", "not_before", "not_after", "sha256")))
    if not _HEX64.match(cert.sha256):
        raise ValueError(f"{what}.sha256 is not 64 hex digits")
    return cert


def _text(entry: dict[str, Any], key: str, what: str) -> str:
    value = entry.get(key)
    if type(value) is not str or len(value) > MAX_TEXT:
        raise ValueError(f"{what}.{key} is missing or not text of at most {MAX_TEXT} characters")
    return value


def _texts(entry: dict[str, Any], key: str, what: str) -> tuple[str, ...]:
    value = entry.get(key)
    if (type(value) is not list or len(value) > MAX_ADDRESSES
            or any(type(v) is not str or len(v) > MAX_TEXT for v in value)):
        raise ValueError(f"{what}.{key} is not a list of at most {MAX_ADDRESSES} texts")
    return tuple(value)


def _int(entry: dict[str, Any], key: str, what: str, low: int, high: int) -> int:
    value = entry.get(key)
    if type(value) is not int or not low <= value <= high:
        raise ValueError(f"{what}.{key} is not a whole number from {low} to {high}")
    return value
