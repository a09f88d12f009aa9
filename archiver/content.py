"""Undoing Content-Encoding for parsing only, within a bound: the archived bytes are never touched.

A body sent as a compression bomb must not exhaust memory, so decoding stops at ``limit`` bytes.
"""

from __future__ import annotations

from . import codec

DECODE_LIMIT = 32 * 2**20


def decode_for_parsing(data: bytes, content_encoding: str | None, limit: int = DECODE_LIMIT) -> bytes | None:
    """The first ``limit`` bytes of ``data`` with its content codings removed; None if a coding
    is unknown or the bytes do not decode (the page is then archived but not parsed)."""
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    for coding in reversed(codings):
        if coding in ("identity", ""):
            continue
        if coding in ("gzip", "x-gzip"):
            data = _inflate(data, codec.MAX_WBITS | 16, limit)
        elif coding == "deflate":
            try:
                data = _inflate(data, codec.MAX_WBITS, limit)
            except codec.error:
                data = _inflate(data, -codec.MAX_WBITS, limit)   # raw deflate, as some servers send
        elif coding == "br":
            data = _unbrotli(data, limit)
        else:
            return None
        if data is None:
            return None
    return data[:limit]


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    decomp = codec.decompressobj(wbits)
    try:
        out = decomp.decompress(data, limit)
    except codec.error:
        if wbits == codec.MAX_WBITS:
            raise
        return b""
    return out


def _unbrotli(data: bytes, limit: int) -> bytes | None:
    try:
        import brotli  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        dec = brotli.Decompressor()
        out = bytearray()
        step = 64 * 1024
        for i in range(0, len(data), step):
            out += dec.process(data[i:i + step])
            if len(out) >= limit:
                break
        return bytes(out[:limit])
    except brotli.error:
        return None
