"""Deflate for archiver's gzip members: zlib-ng's implementation, and when to store rather than compress.

zlib-ng writes and reads the same deflate format as zlib, about twice as fast at the same level
and compression ratio; every WARC it writes is ordinary gzip that any reader accepts.

Payloads that are compressed already (JPEG, PNG, WOFF2, video, a gzip-encoded body …) do not shrink
under deflate, yet deflate spends most of archiving's CPU searching them for matches. Such
payloads are written as stored deflate blocks; the record's headers before them are still
compressed (see ``warc.write_record``).
"""

from __future__ import annotations

from typing import cast

from zlib_ng import zlib_ng as _impl

compressobj = _impl.compressobj
decompressobj = _impl.decompressobj
crc32 = _impl.crc32
DEFLATED = _impl.DEFLATED
MAX_WBITS = _impl.MAX_WBITS
Z_SYNC_FLUSH = _impl.Z_SYNC_FLUSH
# zlib-ng's stub declares ``error: Exception`` (an instance); at run time it is the exception class
error = cast(type[Exception], _impl.error)

# leading bytes of formats whose content is already compressed
_MAGIC = (
    b"\xff\xd8\xff",            # JPEG
    b"\x89PNG\r\n\x1a\n",       # PNG
    b"GIF87a", b"GIF89a",      # GIF (LZW)
    b"wOFF", b"wOF2",           # WOFF, WOFF2 fonts
    b"PK\x03\x04",              # ZIP and what is built on it (EPUB, DOCX, JAR …)
    b"\x1f\x8b",                # gzip
    b"\xfd7zXZ\x00",            # xz
    b"\x28\xb5\x2f\xfd",        # zstd
    b"7z\xbc\xaf\x27\x1c",      # 7-Zip
    b"Rar!\x1a\x07",            # RAR
    b"OggS",                    # Ogg audio and video
    b"\x1a\x45\xdf\xa3",        # Matroska, WebM
    b"fLaC",                    # FLAC
)
_RIFF_COMPRESSED = (b"WEBP", b"AVI ")
_BMFF_BRANDS = (b"avif", b"avis", b"heic", b"heix", b"mif1", b"isom", b"iso2", b"mp41", b"mp42", b"M4A ",
                b"M4V ", b"qt  ", b"dash", b"3gp4", b"3gp5")
_CODINGS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress", "bzip2", "xz"})


def already_compressed(start: bytes, content_encoding: str | None = None) -> bool:
    """Whether a body beginning with ``start`` (its first 16 bytes or more, chunked framing removed)
    is compressed already, by its Content-Encoding or by the signature of its format."""
    if content_encoding and any(c.strip() in _CODINGS for c in content_encoding.lower().split(",")):
        return True
    if start.startswith(_MAGIC):
        return True
    if start[:3] == b"BZh" and start[3:4].isdigit() and start[4:10] == b"1AY&SY":     # bzip2
        return True
    if start[:3] == b"ID3" and start[3:4] in (b"\x02", b"\x03", b"\x04") and start[4:5] == b"\x00":
        return True                                                                    # MP3, ID3v2 tag
    if start[:4] == b"RIFF" and start[8:12] in _RIFF_COMPRESSED:
        return True
    if start[4:8] == b"ftyp" and start[8:12] in _BMFF_BRANDS:
        return True
    return start[:2] == b"\xff\xfb" or start[:2] == b"\xff\xf3"   # MP3 frames without a tag
