"""Gzip members with a stored payload: valid gzip for the standard readers, whatever the split."""

from __future__ import annotations

import gzip
import io
import os
import random
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.core.deflate import already_compressed
from archiver.warc.writer import write_record

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 70000\r\n\r\n"


def _member(block: bytes, pieces: list[int], store_after: int | None) -> bytes:
    parts, at = [], 0
    for size in pieces:
        parts.append(block[at:at + size])
        at += size
    parts.append(block[at:])
    buf = io.BytesIO()
    written = write_record(buf, [("WARC-Type", "resource"), ("WARC-Record-ID", "<urn:uuid:0>")], parts,
                           len(block), 6, store_after=store_after)
    assert written == len(buf.getvalue())
    return buf.getvalue()


@pytest.mark.parametrize("pieces", [[], [len(HEAD)], [len(HEAD) - 5], [len(HEAD) + 7], [1, 1, 1],
                                    [len(HEAD), 0, 65536], [10, 300, 70000]])
def test_a_stored_payload_decodes_to_the_exact_block(pieces: list[int]) -> None:
    block = HEAD + b"\xff\xd8\xff" + os.urandom(70000)
    data = _member(block, pieces, store_after=len(HEAD))
    expected_tail = block + b"\r\n\r\n"
    assert zlib.decompress(data, 31).endswith(expected_tail)      # CRC-32 and length checked by zlib
    assert gzip.decompress(data).endswith(expected_tail)
    # the payload is stored, not deflated: the member is barely larger than the block
    assert len(block) < len(data) < len(block) + 400


def test_store_after_covers_any_cut_point() -> None:
    rng = random.Random(7)
    for _ in range(200):
        block = rng.randbytes(rng.randrange(0, 3000))
        store_after = rng.randrange(0, len(block) + 1)
        cuts = sorted(rng.sample(range(len(block) + 1), k=min(3, len(block) + 1)))
        pieces = [b - a for a, b in zip([0, *cuts], cuts)]
        data = _member(block, pieces, store_after)
        out = zlib.decompressobj(31)
        assert out.decompress(data).endswith(block + b"\r\n\r\n") and out.eof and not out.unused_data


def test_the_headers_are_compressed_and_warcio_reads_the_records(tmp_path: Path) -> None:
    block = HEAD + b"\x89PNG\r\n\x1a\n" + os.urandom(5000)
    whole = _member(block, [], store_after=None)
    split = _member(block, [], store_after=len(HEAD))
    path = tmp_path / "a.warc.gz"
    path.write_bytes(split + whole + split)
    with open(path, "rb") as fh:
        blocks = [r.content_stream().read() for r in ArchiveIterator(fh)]
    assert blocks == [block] * 3
    headers_only = len(zlib.compress(b"WARC/1.1\r\nWARC-Type: resource\r\n" + HEAD, 6))
    assert len(split) < len(block) + headers_only + 60
    check = subprocess.run([str(Path(sys.executable).with_name("warcio")), "check", str(path)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(("start", "encoding", "expected"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", None, True),
    (b"\x89PNG\r\n\x1a\n\x00\x00", None, True),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", None, True),
    (b"\x00\x00\x00\x1cftypavif\x00\x00", None, True),
    (b"wOF2\x00\x01\x00\x00", None, True),
    (b"<!doctype html><html>", "gzip", True),
    (b"<!doctype html><html>", "identity", False),
    (b"<!doctype html><html>", "none", False),             # misconfigured servers: not a coding
    (b"<!doctype html><html>", "UTF-8", False),
    (b"<!doctype html><html>", "deflate, br", True),
    (b"ID3,name,price\n", None, False),                    # a CSV, not an MP3
    (b"ID3\x04\x00\x00\x00\x00\x00", None, True),
    (b"BZh91AY&SY\x00", None, True),
    (b"BZh is a word", None, False),
    (b"<!doctype html><html>", None, False),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", None, False),        # PCM audio compresses
    (b"%PDF-1.7\n", None, False),
    (b"", None, False),
])
def test_already_compressed(start: bytes, encoding: str | None, expected: bool) -> None:
    assert already_compressed(start, encoding) is expected


def _words(rng: random.Random, size: int) -> bytes:
    vocabulary = [bytes(rng.choice(b"abcdefghij") for _ in range(rng.randrange(2, 9))) for _ in range(300)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(vocabulary) + b" "
    return bytes(out[:size])


def test_a_large_block_of_unknown_incompressible_bytes_is_stored_after_the_probe() -> None:
    from archiver.warc.writer import PROBE_BYTES

    block = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n" + os.urandom(3 * PROBE_BYTES)
    data = _member(block, [1000, PROBE_BYTES, 17], store_after=None)
    assert zlib.decompress(data, 31).endswith(block + b"\r\n\r\n")
    assert len(data) < len(block) * 1.001 + 400          # stored: deflate would have added ~0.03% + headers


def test_a_large_compressible_block_stays_deflated_and_a_late_change_does_not_matter() -> None:
    rng = random.Random(5)
    from archiver.warc.writer import PROBE_BYTES

    text = b"HTTP/1.1 200 OK\r\n\r\n" + _words(rng, 3 * PROBE_BYTES)
    data = _member(text, [PROBE_BYTES - 3, 6], store_after=None)
    assert zlib.decompress(data, 31).endswith(text + b"\r\n\r\n")
    assert len(data) < len(text) / 2
    # judged once, on the first PROBE_BYTES: random bytes after them are deflated too
    mixed = text[:PROBE_BYTES + 100] + os.urandom(2 * PROBE_BYTES)
    data = _member(mixed, [PROBE_BYTES + 50], store_after=None)
    assert zlib.decompress(data, 31).endswith(mixed + b"\r\n\r\n")
    assert gzip.decompress(data).endswith(mixed + b"\r\n\r\n")


def test_large_blocks_decode_exactly_for_any_cut_points() -> None:
    from archiver.warc.writer import PROBE_BYTES

    rng = random.Random(11)
    for kind in ("random", "text", "random", "text"):
        size = rng.randrange(2 * PROBE_BYTES + 1, 3 * PROBE_BYTES)
        block = os.urandom(size) if kind == "random" else _words(rng, size)
        cuts = sorted(rng.sample(range(size), k=5))
        pieces = [b - a for a, b in zip([0, *cuts], cuts)]
        for store_after in (None, rng.randrange(0, size)):
            out = zlib.decompressobj(31)
            assert out.decompress(_member(block, pieces, store_after)).endswith(block + b"\r\n\r\n")
            assert out.eof and not out.unused_data
