from __future__ import annotations

import pytest

from archiver.net.wire import ChunkedDecoder, ProtocolError, build_request, find_head_end, parse_head


def test_parse_head_keeps_raw_bytes_and_order() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
    head = parse_head(raw)
    assert (head.version, head.status, head.reason) == ("HTTP/1.1", 200, "OK")
    assert head.raw == raw
    assert head.get_all("set-cookie") == ["a=1", "b=2"]
    assert head.content_type == "text/html"


def test_lenient_on_bare_lf_folding_and_missing_reason() -> None:
    head = parse_head(b"HTTP/1.0 404\nX-Long: one\n  two\nbogus line\n\n")
    assert head.status == 404 and head.reason == ""
    assert head.get("x-long") == "one two"


@pytest.mark.parametrize("line", [b"HTTP/1.1 20 OK", b"ICY 200 OK", b"<html>", b"HTTP/1.1 abc"])
def test_invalid_status_line(line: bytes) -> None:
    with pytest.raises(ProtocolError, match="invalid status line"):
        parse_head(line + b"\r\n\r\n")


def test_content_length_conflicts_are_errors() -> None:
    assert parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n").content_length() == 5
    with pytest.raises(ProtocolError):
        parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").content_length()
    with pytest.raises(ProtocolError):
        parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n").content_length()


def test_find_head_end() -> None:
    assert find_head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody") == 25
    assert find_head_end(b"HTTP/1.1 200 OK\nA: b\n\nbody") == 22
    assert find_head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n") == -1
    # within a window of a larger buffer, without copying; whichever blank line ends first
    data = b"xxHTTP/1.1 200 OK\r\nA: b\r\n\r\nbody\n\n"
    assert find_head_end(data, 2) == 27 and find_head_end(data, 2, 26) == -1
    assert find_head_end(b"A: b\n\n\r\n") == 6 and find_head_end(b"A: b\r\n\r\nB\n\n") == 8


def test_chunked_decoder_byte_by_byte_with_extensions_and_trailers() -> None:
    raw = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nGARBAGE"
    dec = ChunkedDecoder()
    out = b""
    used = 0
    for i in range(len(raw)):
        if dec.done:
            break
        out += dec.feed(raw[i:i + 1])
        used += dec.last_used
    assert out == b"hello, world" and dec.done
    assert used == len(raw) - len(b"GARBAGE")


def test_chunked_decoder_whole_and_errors() -> None:
    dec = ChunkedDecoder()
    data = b"3\r\nabc\r\n0\r\n\r\nextra"
    assert dec.feed(data) == b"abc" and dec.done and dec.last_used == len(data) - 5
    with pytest.raises(ProtocolError, match="invalid chunk size"):
        ChunkedDecoder().feed(b"zz\r\n")
    with pytest.raises(ProtocolError, match="not followed by CRLF"):
        ChunkedDecoder().feed(b"1\r\nab\r\n")


def test_build_request_refuses_header_injection() -> None:
    assert build_request("GET", "/", [("Host", "a")]) == b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    with pytest.raises(ValueError):
        build_request("GET", "/", [("X", "a\r\nInjected: 1")])
