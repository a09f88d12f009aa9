from __future__ import annotations

import pytest

from archiver.core.errors import UsageError
from archiver.core.urls import canonical, host_key, parse_http_url, resolve_link


def test_canonical_form() -> None:
    assert canonical("HTTP://Example.ORG:80/a b?q=é#frag") == "http://example.org/a%20b?q=%C3%A9"
    assert canonical("https://example.org:443") == "https://example.org/"
    assert canonical("http://example.org:8080/%7Ex") == "http://example.org:8080/%7Ex"   # escapes kept
    assert canonical("https://münchen.example/") == "https://xn--mnchen-3ya.example/"
    assert canonical("http://[::1]:8000/x") == "http://[::1]:8000/x"


def test_request_target_and_authority() -> None:
    u = parse_http_url("http://127.0.0.1:8080/p/q?x=1#f")
    assert (u.host, u.port, u.target, u.authority) == ("127.0.0.1", 8080, "/p/q?x=1", "127.0.0.1:8080")
    assert parse_http_url("https://a.example/").authority == "a.example"
    assert host_key("https://a.example/x") == "a.example:443"


@pytest.mark.parametrize("bad,message", [
    ("ftp://example.org/file", "only http and https"),
    ("example.org/news", "only http and https"),
    ("http:///path", "has no host"),
    ("http://exa mple.org/", "not a valid host"),
    ("http://example.org:99999/", "not a valid URL"),
])
def test_invalid_urls_are_named(bad: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_http_url(bad)


def test_resolve_link() -> None:
    base = "http://h.example/a/b.html"
    assert resolve_link(base, "../c.png") == "http://h.example/c.png"
    assert resolve_link(base, "  d.html\n") == "http://h.example/a/d.html"
    assert resolve_link(base, "//other.example/x") == "http://other.example/x"
    assert resolve_link(base, "#top") == "http://h.example/a/b.html"
    assert resolve_link(base, "b.html#top") == "http://h.example/a/b.html"
    for skipped in ("mailto:a@b", "javascript:void(0)", "data:image/png;base64,AAAA", "tel:123", ""):
        assert resolve_link(base, skipped) is None
