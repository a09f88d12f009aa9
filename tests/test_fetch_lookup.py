"""Host names are looked up once per capture; failed lookups are not kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.core.errors import FetchError
from archiver.core.settings import CaptureOptions
from archiver.core.urls import parse_http_url
from archiver.demo.server import Host, Response
from archiver.net.fetch import Fetcher
from archiver.net.request_plan import RequestPlanner


def test_a_host_name_is_looked_up_once_and_every_request_still_succeeds(serve, tmp_path: Path) -> None:
    site = serve([Host("h", "127.0.0.1", routes={"/a": Response(200, [], b"one"), "/b": Response(200, [], b"two")})])
    origin = site.url("h", "/").replace("127.0.0.1", "localhost").rstrip("/")
    fetcher = Fetcher(timeout=5, max_bytes=10**6, scratch=tmp_path)
    planner = RequestPlanner(CaptureOptions())
    bodies = []
    for path in ("/a", "/b", "/a"):
        url = parse_http_url(origin + path)
        exchange = fetcher.fetch(url, planner.plan(url.url))
        bodies.append(exchange.body.read())
        assert exchange.remote_address in ("127.0.0.1", "::1")
        exchange.close()
    assert bodies == [b"one", b"two", b"one"]
    assert list(fetcher._addresses) == [("localhost", url.port)]


def test_a_failed_lookup_is_not_kept(tmp_path: Path) -> None:
    fetcher = Fetcher(timeout=3, max_bytes=10**6, scratch=tmp_path)
    url = parse_http_url("http://no-such-host.invalid/")
    for _ in range(2):
        with pytest.raises(FetchError) as failed:
            fetcher.fetch(url, RequestPlanner(CaptureOptions()).plan(url.url))
        assert failed.value.kind == "dns"
    assert fetcher._addresses == {}
