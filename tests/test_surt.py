"""Our SURT equals the ``surt`` package's (what pywb uses) on URLs of every shape."""

from __future__ import annotations

import pytest
import surt as reference

from archiver.net.surt import surt, timestamp14

URLS = [
    "http://www.Example.org:80/a/?b=2&a=1#x", "http://example.org/a?a=1&b=2", "https://example.org/",
    "http://127.0.0.11:8080/articles/x.html", "http://EXAMPLE.org/A/B.HTML", "http://www2.example.org/p?",
    "http://example.org:8080/x/y/", "https://sub.example.co.uk/a%20b?Z=1&y=2", "http://example.org/path;params?q",
    "http://[::1]:8000/x", "https://münchen.example/straße", "http://example.org/?", "http://example.org",
    "https://example.org:443/secure", "http://example.org/a%2Fb", "http://example.org/~user/",
    "http://example.org/%7Euser/", "http://example.org/%2541", "http://example.org/caf%C3%A9?q=%C3%A9",
    "http://example.org/a b", "http://example.org/x?b=%26&a=1",
]


@pytest.mark.parametrize("url", URLS)
def test_same_as_the_surt_package(url: str) -> None:
    assert surt(url) == reference.surt(url)


def test_equivalent_spellings_share_a_key() -> None:
    assert surt("HTTP://Example.org:80/a#x") == surt("http://example.org/a") == "org,example)/a"


def test_timestamp14() -> None:
    assert timestamp14("2026-11-29T15:04:47.123456Z") == "20261129150447"
