"""Import reads WARC files with archiver's one reader (warc.framing over warc.records): digests of
every common algorithm checked, every framing (per record, whole-file gzip, uncompressed) read, and
re-framed one gzip member per record with the record bytes unchanged. warcio stays the independent
check in the tests only."""

from __future__ import annotations

import ast
import base64
import gzip
import hashlib
import uuid
import zlib
from pathlib import Path

import pytest

from archiver.core.errors import UsageError
from archiver.core.workspace import Workspace
from archiver.fixity.verify import verify
from archiver.transfer.importer import import_archive
from archiver.warc.framing import FramedRead, RecordStream, read_framed
from archiver.warc.reader import scan_warc
from archiver.warc.records import Keep, Kept, RecordParser, ScannedRecord

PACKAGE = Path(__file__).resolve().parent.parent / "archiver"
PAGE = "http://reader.example/page"
BODY = b"<html><head><title>Harbour minutes</title></head><body><p>The council voted on dredging.</p></body></html>"
DATE = "2024-05-06T07:08:09Z"


def labelled(algo: str, data: bytes, encoding: str = "base32") -> str:
    raw = hashlib.new(algo.replace("-", ""), data).digest()
    value = {"base32": base64.b32encode(raw).decode(), "hex": raw.hex(),
             "base64": base64.b64encode(raw).decode()}[encoding]
    return f"{algo}:{value}"


def record(headers: dict[str, str], block: bytes, algo: str = "sha1", encoding: str = "base32") -> bytes:
    fields = {"WARC-Block-Digest": labelled(algo, block, encoding), "Content-Length": str(len(block)), **headers}
    head = "WARC/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    return head.encode() + block + b"\r\n\r\n"


def response(url: str = PAGE, body: bytes = BODY, *, algo: str = "sha1", encoding: str = "base32",
             http: bytes = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n",
             payload: bytes | None = None, warc: dict[str, str] | None = None) -> bytes:
    block = http + body
    headers = {"WARC-Type": "response", "WARC-Record-ID": f"<urn:uuid:{uuid.uuid4()}>", "WARC-Date": DATE,
               "WARC-Target-URI": url, "Content-Type": "application/http; msgtype=response",
               "WARC-Payload-Digest": labelled(algo, body if payload is None else payload, encoding), **(warc or {})}
    return record(headers, block, algo, encoding)


def warcinfo() -> bytes:
    block = b"software: Heritrix/3.4.0\r\nformat: WARC File Format 1.0\r\n"
    return record({"WARC-Type": "warcinfo", "WARC-Record-ID": f"<urn:uuid:{uuid.uuid4()}>", "WARC-Date": DATE,
                   "Content-Type": "application/warc-fields"}, block)


def record_id(rec: bytes) -> str:
    return rec.split(b"WARC-Record-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()


def per_record(path: Path, records: list[bytes]) -> Path:
    path.write_bytes(b"".join(gzip.compress(r) for r in records))
    return path


def members(data: bytes) -> list[bytes]:
    out = []
    while data:
        d = zlib.decompressobj(31)
        out.append(d.decompress(data))
        assert d.eof
        data = d.unused_data
    return out


def image() -> bytes:
    return response("http://reader.example/i.png", b"\x89PNG\r\n\x1a\n" + bytes(range(64)),
                    http=b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n")


# -- digests of every common algorithm ------------------------------------------------------------

@pytest.mark.parametrize(("algo", "encoding"), [("sha1", "base32"), ("sha256", "hex"), ("sha512", "base64"),
                                                ("md5", "hex"), ("sha-256", "base32")])
def test_a_warc_with_digests_of_a_common_algorithm_imports_and_verifies(tmp_path: Path, algo: str,
                                                                       encoding: str) -> None:
    records = [warcinfo(), response(algo=algo, encoding=encoding), image()]
    ws = Workspace(tmp_path / "ws")
    result = import_archive(ws, per_record(tmp_path / "crawl.warc.gz", records))
    page = next(r for r in result.resources if r.url == PAGE)
    assert page.status == 200 and page.payload_sha256 == hashlib.sha256(BODY).hexdigest()
    assert page.payload_bytes == len(BODY) and page.warc_payload_digest.startswith(algo + ":")
    assert page.metadata and page.text                       # the page's prefix was kept and described
    assert (ws.root / result.warc_files[0].path).read_bytes() == (tmp_path / "crawl.warc.gz").read_bytes()
    assert verify(ws).ok


@pytest.mark.parametrize("algo", ["sha1", "md5", "sha512"])
def test_a_wrong_block_digest_of_any_algorithm_is_refused(tmp_path: Path, algo: str) -> None:
    good = response(algo=algo)
    bad = good.replace(b"dredging", b"Dredging")              # the block changed, the digests did not
    ws = Workspace(tmp_path / "ws")
    given = per_record(tmp_path / "bad.warc.gz", [warcinfo(), bad])
    with pytest.raises(UsageError) as refused:
        import_archive(ws, given)
    message = str(refused.value)
    assert "block digest mismatch" in message and record_id(bad) in message and f"{algo}:" in message
    second = len(given.read_bytes()) - len(gzip.compress(bad))      # the offset of the bad record's member
    assert f"at offset {second} " in message
    assert not list(tmp_path.glob("ws/**/*.warc.gz"))


def test_a_wrong_sha1_payload_digest_is_refused(tmp_path: Path) -> None:
    bad = response(payload=b"another body")
    with pytest.raises(UsageError, match="payload digest mismatch") as refused:
        import_archive(Workspace(tmp_path / "ws"), per_record(tmp_path / "bad.warc.gz", [bad]))
    assert record_id(bad) in str(refused.value)


def test_a_digest_of_an_unknown_algorithm_is_refused_naming_it(tmp_path: Path) -> None:
    bad = response().replace(b"WARC-Block-Digest: sha1:", b"WARC-Block-Digest: blake3:")
    with pytest.raises(UsageError, match="of an algorithm archiver cannot check .'blake3'") as refused:
        import_archive(Workspace(tmp_path / "ws"), per_record(tmp_path / "odd.warc.gz", [bad]))
    assert record_id(bad) in str(refused.value) and "sha1" in str(refused.value)


def test_verify_checks_sha256_digests_only(tmp_path: Path) -> None:
    """Verify's hot path hashes with sha256 only: a sha1 digest is not verify's to check (the file's
    sha256 in the manifest covers an imported file); a sha256 one is."""
    sha1 = response().replace(b"dredging", b"Dredging")
    sha256 = response(algo="sha256", encoding="hex").replace(b"dredging", b"Dredging")
    scan = scan_warc(per_record(tmp_path / "w.warc.gz", [sha1, sha256]))
    assert [bool(r.problems) for r in scan.records] == [False, True]


# -- every framing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("framing", ["uncompressed", "whole-file gzip", "two records a member"])
def test_a_warc_not_gzipped_per_record_is_reframed_with_identical_record_bytes(tmp_path: Path,
                                                                              framing: str) -> None:
    records = [warcinfo(), response(), image(), response("http://reader.example/other")]
    plain = b"".join(records)
    given = tmp_path / ("w.warc" if framing == "uncompressed" else "w.warc.gz")
    given.write_bytes({"uncompressed": plain, "whole-file gzip": gzip.compress(plain),
                       "two records a member": gzip.compress(plain[:len(records[0]) + len(records[1])])
                       + gzip.compress(b"".join(records[2:]))}[framing])
    ws = Workspace(tmp_path / "ws")
    result = import_archive(ws, given)
    stored = (ws.root / result.warc_files[0].path).read_bytes()
    assert members(stored) == records                        # one member per record, each record's bytes as given
    for res in result.resources:                              # offsets and lengths are of the new members
        member = stored[res.offset:res.offset + res.length]
        assert record_id(gzip.decompress(member)) == res.record_id
    assert verify(ws).ok


def test_blank_lines_between_records_stay_with_the_record_before(tmp_path: Path) -> None:
    records = [warcinfo(), response()]
    given = tmp_path / "w.warc"
    given.write_bytes(records[0] + b"\r\n" + records[1])
    result = import_archive(Workspace(tmp_path / "ws"), given)
    assert members((tmp_path / "ws" / result.warc_files[0].path).read_bytes()) == [records[0] + b"\r\n", records[1]]


def test_a_record_not_followed_by_its_blank_lines_is_refused(tmp_path: Path) -> None:
    first = response()
    size = len(first.split(b"\r\n\r\n", 1)[1]) - 4
    longer = first.replace(f"Content-Length: {size}\r\n".encode(), f"Content-Length: {size - 2}\r\n".encode())
    assert longer != first
    given = tmp_path / "w.warc"
    given.write_bytes(longer + image())
    with pytest.raises(UsageError, match="not followed by its blank lines: is its Content-Length wrong") as refused:
        import_archive(Workspace(tmp_path / "ws"), given)
    assert record_id(first) in str(refused.value) and "at offset 0" in str(refused.value)


def test_an_uncompressed_warc_cut_short_is_refused(tmp_path: Path) -> None:
    data = warcinfo() + response()
    given = tmp_path / "w.warc"
    given.write_bytes(data[:-50])
    with pytest.raises(UsageError, match="ends before its declared Content-Length"):
        import_archive(Workspace(tmp_path / "ws"), given)


def test_an_arc_file_named_warc_is_read_as_arc(tmp_path: Path) -> None:
    """By its content, not its name: converted as ARC (tests/test_import_foreign.py), and this damaged
    one refused as a damaged ARC file, naming where."""
    given = tmp_path / "old.warc.gz"
    given.write_bytes(gzip.compress(b"filedesc://old.arc 0.0.0.0 20240101000000 text/plain 76\n1 0 x\nURL IP\n\n"))
    with pytest.raises(UsageError, match="old.warc.gz at offset 0: the file ends inside a record .*a damaged ARC file"):
        import_archive(Workspace(tmp_path / "ws"), given)


# -- the reader's pieces ------------------------------------------------------------------------------

def _keep_all(rec: ScannedRecord, http: object) -> int:
    return 1 << 20


def test_a_record_fed_a_byte_at_a_time_reads_as_when_fed_whole() -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\nHello\r\n7\r\n, world\r\n0\r\n\r\n")
    data = record({"WARC-Type": "response", "WARC-Record-ID": "<urn:uuid:1>", "WARC-Date": DATE,
                   "WARC-Target-URI": PAGE, "Content-Type": "application/http; msgtype=response",
                   "WARC-Concurrent-To": "<urn:uuid:2>"}, chunked)

    def parse(pieces: list[bytes]) -> tuple[ScannedRecord, Kept]:
        parser = RecordParser(ScannedRecord(0), Keep(_keep_all))
        for piece in pieces:
            assert parser.feed(piece) <= len(piece)
        parser.finish()
        assert parser.kept is not None
        return parser.rec, parser.kept

    whole, kept = parse([data])
    single, kept_single = parse([data[i:i + 1] for i in range(len(data))])
    assert whole == single and not whole.problems and whole.status == 200
    assert whole.entity_sha256 == hashlib.sha256(b"Hello, world").hexdigest()
    assert kept.entity_bytes == kept_single.entity_bytes == 12 and bytes(kept.prefix) == b"Hello, world"
    assert kept.http is not None and kept.http.get("transfer-encoding") == "chunked"
    assert ("WARC-Concurrent-To", "<urn:uuid:2>") in kept.headers and kept.headers == kept_single.headers


def test_the_record_stream_cuts_records_wherever_the_pieces_end() -> None:
    records = [warcinfo(), response(), image()]
    plain = b"\r\n".join(records)
    seen: list[str | None] = []
    for size in (1, 7, 4096, len(plain)):
        read = FramedRead()
        got: list[tuple[ScannedRecord, Kept]] = []
        stream = RecordStream(Keep(_keep_all), lambda rec, kept: got.append((rec, kept)), read)
        for at in range(0, len(plain), size):
            stream.feed(plain[at:at + size])
        stream.close()
        assert [rec.problems for rec, _ in got] == [[], [], []]
        assert read.record_starts == [0, len(records[0]) + 2, len(records[0]) + len(records[1]) + 4]
        seen = [rec.record_id for rec, _ in got] if not seen else seen
        assert [rec.record_id for rec, _ in got] == seen == [record_id(r) for r in records]


def test_read_framed_tells_per_record_gzip_from_other_framings(tmp_path: Path) -> None:
    records = [warcinfo(), response()]
    keep = Keep(_keep_all)
    each = read_framed(per_record(tmp_path / "a.warc.gz", records), keep, lambda rec, kept: None)
    whole = tmp_path / "b.warc.gz"
    whole.write_bytes(gzip.compress(b"".join(records)))
    assert each.per_record and len(each.members) == 2
    assert not read_framed(whole, keep, lambda rec, kept: None).per_record


def test_no_module_of_archiver_imports_warcio() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] == "warcio"], path


def test_a_folded_warc_header_line_is_refused_clearly(tmp_path: Path) -> None:
    """Verify reads each header line as a field of its own; import must not read one differently."""
    folded = response().replace(b"WARC-Target-URI: http://reader.example/page\r\n",
                                b"WARC-Target-URI: http://reader.example/\r\n page\r\n")
    with pytest.raises(UsageError, match="continues a field on the next line") as refused:
        import_archive(Workspace(tmp_path / "ws"), per_record(tmp_path / "f.warc.gz", [folded]))
    assert record_id(folded) in str(refused.value)
