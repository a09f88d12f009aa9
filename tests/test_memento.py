"""Memento (RFC 7089) and the id_ route, compared with a real pywb serving the same WARC files.

The sample site and an encodings host are captured twice, a day apart (tests/test_payload.py's
``capture_archive``); pywb (``wayback``, configured with ``redirect_to_exact`` so that its TimeGate
redirects as ours does) loads the WARC files; our archive routes run under a real uvicorn on a
loopback port. Where the answers must differ, the test says why:

- pywb redirects with 307, we with 302 (RFC 7089's own examples; both are temporary redirects);
- pywb names mementos with its frame modifier (``20261129150447mp_/url``); ours have none: the
  memento page itself frames the replay origin;
- pywb indexes the main-text conversion records too: in a TimeMap each appears as a second entry
  identical to its response's (same URL and second), which the comparison drops;
- pywb's framed replay answers a partial timestamp with its frame (200); ours redirects to the
  memento, so that the address names it exactly. Both choose the same memento.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from pywbkit import free_port, wayback
from test_payload import HOSTILE_TITLE, Archive, capture_archive, encodings_host

from archiver import CaptureOptions, capture
from archiver.core.settings import Settings
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH
from archiver.demo.server import Site
from archiver.net.surt import timestamp14
from archiver.serve import archive_routes
from archiver.serve.context import ServeContext

REPLAY_BASE = "http://127.0.0.1:9"        # the replay origin the memento page frames (not served here)


@contextmanager
def serving(root: Path, chunk: int = archive_routes.CHUNK) -> Iterator[str]:
    """Our archive routes under a real uvicorn on a free loopback port; yields the collection's URL.
    ``chunk``: the size of a CDX answer's parts (a smaller one streams more answers)."""
    import uvicorn
    from starlette.applications import Starlette

    port = free_port()
    ctx = ServeContext(workspace=Workspace(root), settings=Settings(), ui_base=f"http://127.0.0.1:{port}",
                       replay_base=REPLAY_BASE, public_url=None, token=None)
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=archive_routes.routes(ctx, chunk=chunk)), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name="archive-routes", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/archive/"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def pywb_serving(warcs: list[Path], cwd: Path) -> Iterator[str]:
    """pywb on the same WARC files, collection ``archive``, TimeGate redirecting; yields the collection's URL."""
    cwd.mkdir(parents=True, exist_ok=True)
    (cwd / "config.yaml").write_text("redirect_to_exact: true\nenable_memento: true\n")
    with wayback(warcs, cwd, collection="archive") as base:
        yield base + "/archive/"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    return capture_archive(tmp_path_factory.mktemp("memento-ws"))


@pytest.fixture(scope="module")
def servers(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(ours, pywb's) collection URLs."""
    with serving(archive.root) as ours, pywb_serving(archive.warcs, tmp_path_factory.mktemp("pywb")) as theirs:
        yield ours, theirs


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, follow_redirects=False, timeout=30) as c:
        yield c


def links(header: str, base: str) -> dict[str, dict[str, str]]:
    """A Link header by rel: target (with ``base`` cut, pywb's ``mp_`` dropped) and parameters."""
    found = {}
    for part in re.split(r",\s*(?=<)", header):
        target, *params = re.split(r";\s*", part.strip())
        values = dict(re.fullmatch(r'(\w+)="([^"]*)"', p).groups() for p in params)  # type: ignore[union-attr]
        values["target"] = re.sub(r"^(\d{14})mp_/", r"\1/", target.strip("<>").removeprefix(base))
        found[values.pop("rel")] = values
    return found


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def test_timegate_redirects_where_pywb_does(archive: Archive, servers: tuple[str, str], client: httpx.Client) -> None:
    ours, theirs = servers
    url = archive.url("news", ARTICLE_PATH)
    first, second = (parse(archive.resource(url, i).date) for i in (0, 1))
    asked = {"latest": None, "long before": first - timedelta(days=300), "nearer the first": first + timedelta(hours=3),
             "nearer the second": second - timedelta(hours=3), "after": second + timedelta(days=30),
             "at the first, to the second": first.replace(microsecond=0)}
    expected = {"latest": second, "long before": first, "nearer the first": first, "nearer the second": second,
                "after": second, "at the first, to the second": first}
    for name, at in asked.items():
        headers = {"Accept-Datetime": http_date(at)} if at else {}
        mine = client.get(ours + url, headers=headers)
        pywb = client.get(theirs + url, headers=headers)
        assert (mine.status_code, pywb.status_code) == (302, 307), name
        target = f"{timestamp14(expected[name].isoformat())}/{url}"
        assert mine.headers["location"] == ours + target and pywb.headers["location"] == theirs + target, name
        assert mine.headers["vary"] == pywb.headers["vary"] == "accept-datetime"
        assert links(mine.headers["link"], ours) == links(pywb.headers["link"], theirs), name
        assert links(mine.headers["link"], ours)["memento"]["datetime"] == http_date(expected[name])


def test_timegate_takes_the_url_as_pywb_does(archive: Archive, servers: tuple[str, str], client: httpx.Client) -> None:
    """A scheme whose // a proxy folded, no scheme at all, a query string: the same memento as pywb."""
    ours, theirs = servers
    url = archive.url("news", ARTICLE_PATH)
    query_url = next(r.url for r in archive.results[0].resources if "?" in r.url)
    for spelled, archived in [(url.replace("http://", "http:/"), url), (url.removeprefix("http://"), url),
                              (query_url, query_url)]:
        mine, pywb = client.get(ours + spelled), client.get(theirs + spelled)
        assert (mine.status_code, pywb.status_code) == (302, 307), spelled
        assert mine.headers["location"].removeprefix(ours) == pywb.headers["location"].removeprefix(theirs)
        assert mine.headers["location"].endswith("/" + archived)


def test_bad_accept_datetime_is_a_400(archive: Archive, servers: tuple[str, str], client: httpx.Client) -> None:
    ours, theirs = servers
    url = archive.url("news", ARTICLE_PATH)
    for bad in ["yesterday", "2026-11-29T15:04:47Z", "Sun, 31 Feb 2026 10:00:00 GMT", "Sun, 29 Nov 2026 25:00:00 GMT",
                "x" * 5000]:
        mine = client.get(ours + url, headers={"Accept-Datetime": bad})
        assert mine.status_code == 400, bad
        assert mine.text.count("\n") == 1 and "Accept-Datetime" in mine.text
        assert mine.headers["content-type"].startswith("text/plain")
        if len(bad) < 100 and "31 Feb" not in bad and "25:00" not in bad:     # pywb's parser is lenient with those
            assert client.get(theirs + url, headers={"Accept-Datetime": bad}).status_code == 400, bad


def timemap_entries(text: str, base: str) -> list[str]:
    """The lines of a link-format TimeMap with ``base`` and pywb's ``mp_`` cut; consecutive repeats
    (pywb's conversion-record entries) dropped."""
    lines = [re.sub(r"(\d{14})mp_/", r"\1/", line.rstrip(",").replace(base, "BASE")) for line in text.splitlines()]
    return [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]


def test_timemaps_list_what_pywb_lists(archive: Archive, servers: tuple[str, str], client: httpx.Client) -> None:
    ours, theirs = servers
    for url in (archive.url("news", ARTICLE_PATH), archive.url("enc", "/gzip.html"),
                archive.url("news", "/static/css/site.css")):
        mine, pywb = client.get(ours + "timemap/link/" + url), client.get(theirs + "timemap/link/" + url)
        assert mine.status_code == pywb.status_code == 200
        assert mine.headers["content-type"] == pywb.headers["content-type"] == "application/link-format"
        entries = timemap_entries(mine.text, ours.removesuffix("/"))
        assert entries == timemap_entries(pywb.text, theirs.removesuffix("/")), url
        assert sum('rel="memento"' in e for e in entries) == 2      # one memento per capture
        assert entries[0].startswith(f'<BASE/timemap/link/{url}>; rel="self"')
        assert links(mine.headers["link"], ours) == links(pywb.headers["link"], theirs)

        mine, pywb = client.get(ours + "timemap/json/" + url), client.get(theirs + "timemap/json/" + url)
        assert mine.status_code == pywb.status_code == 200
        assert mine.headers["content-type"].startswith("text/x-ndjson")
        assert [json_row(line) for line in mine.text.splitlines()] == [
            row for row in map(json_row, pywb.text.splitlines()) if not is_conversion(row)]


def json_row(line: str) -> dict[str, str]:
    """A CDX JSON line without pywb's own fields (its index file, collection and access rule)."""
    import json

    row = json.loads(line)
    return {k: v for k, v in row.items() if k not in ("source", "source-coll", "access")}


def is_conversion(row: dict[str, str]) -> bool:
    """pywb lists the main-text conversion records (no HTTP status; text/plain); the index does not."""
    return "status" not in row and row.get("mime") != "warc/revisit"


def test_memento_page_frames_the_replay_and_cites(archive: Archive, servers: tuple[str, str],
                                                  client: httpx.Client) -> None:
    ours, theirs = servers
    url = archive.url("news", ARTICLE_PATH)
    res = archive.resource(url)
    ts = timestamp14(res.date)
    mine, pywb = client.get(f"{ours}{ts}/{url}"), client.get(f"{theirs}{ts}/{url}")
    assert mine.status_code == pywb.status_code == 200
    assert mine.headers["memento-datetime"] == pywb.headers["memento-datetime"] == http_date(parse(res.date))
    assert links(mine.headers["link"], ours) == links(pywb.headers["link"], theirs)
    page, capture_id = mine.text, archive.results[0].capture_id
    assert f'src="{REPLAY_BASE}/embed/{capture_id}/{ts}/{url}"' in page
    assert f'href="/captures/{capture_id}"' in page and url in page
    assert "Council awards" in page and "@article{" in page and res.payload_sha256 in page    # APA, BibLaTeX (a news article)
    policy = mine.headers["content-security-policy"]
    assert f"frame-src {REPLAY_BASE}" in policy and "default-src 'none'" in policy and "script-src" not in policy

    # a partial or inexact timestamp: pywb frames the memento it chose, we redirect to it
    for asked in (ts[:8], ts[:4], "19990101"):
        mine, pywb = client.get(f"{ours}{asked}/{url}"), client.get(f"{theirs}{asked}/{url}")
        assert mine.status_code == 302 and pywb.status_code == 200
        chosen = mine.headers["location"].removeprefix(ours).split("/", 1)[0]
        assert http_date(parse_ts(chosen)) == pywb.headers["memento-datetime"], asked


def test_memento_page_escapes_archived_strings(archive: Archive, servers: tuple[str, str],
                                               client: httpx.Client) -> None:
    ours, _ = servers
    url = archive.url("enc", "/hostile.html")
    page = client.get(f"{ours}{timestamp14(archive.resource(url).date)}/{url}").text
    assert "<script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert HOSTILE_TITLE.startswith("<script>")


@pytest.mark.parametrize(("host", "path", "which"), [
    ("news", ARTICLE_PATH, 0), ("news", ARTICLE_PATH, 1),           # a response, then a revisit of it
    ("library", "/docs/council-minutes.pdf", 0), ("news", "/media/harbour-800.png", 1),
    ("enc", "/chunked.html", 0), ("enc", "/gzip.html", 0), ("enc", "/odd.txt", 1),
    ("data", "/missing.html", 0),                                   # an archived 404
    ("library", "/old/report", 0),                                  # a 301
])
def test_id_payload_equals_pywbs_and_the_manifest(archive: Archive, servers: tuple[str, str], client: httpx.Client,
                                                  host: str, path: str, which: int) -> None:
    ours, theirs = servers
    url = archive.url(host, path)
    res = archive.resource(url, which)
    target = f"{timestamp14(res.date)}id_/{url}"
    # pywb sends gzip-coded bytes as stored only to a client that accepts gzip; we always do
    mine, body = raw_get(client, ours + target)
    pywb, pywb_body = raw_get(client, theirs + target)
    assert mine.status_code == pywb.status_code == res.status
    assert body == pywb_body
    assert hashlib.sha256(body).hexdigest() == res.payload_sha256
    assert mine.headers["content-security-policy"] == "sandbox"
    assert mine.headers.get("content-type") == pywb.headers.get("content-type")
    assert mine.headers["memento-datetime"] == pywb.headers["memento-datetime"]
    for name, value in pywb.headers.items():
        if name.startswith("x-archive-orig-") and name not in ("x-archive-orig-content-length",):
            assert mine.headers.get(name) == value, name
    if res.status == 301:           # pywb passes the live Location; ours stays in the archive
        assert mine.headers["x-archive-orig-location"] == pywb.headers["location"]
        assert mine.headers["location"] == f"{ours}{timestamp14(res.date)}id_/{pywb.headers['location']}"


def raw_get(client: httpx.Client, url: str) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (content coding not undone)."""
    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
        return response, b"".join(response.iter_raw())


def test_id_with_an_inexact_timestamp_redirects(archive: Archive, servers: tuple[str, str],
                                                client: httpx.Client) -> None:
    ours, theirs = servers
    url = archive.url("enc", "/gzip.html")
    mine, pywb = client.get(f"{ours}2026id_/{url}"), client.get(f"{theirs}2026id_/{url}")
    assert (mine.status_code, pywb.status_code) == (302, 307)
    assert mine.headers["location"].removeprefix(ours) == pywb.headers["location"].removeprefix(theirs)


def test_unknown_urls_are_plain_404s(archive: Archive, servers: tuple[str, str], client: httpx.Client) -> None:
    ours, theirs = servers
    absent = archive.url("news", "/never-captured.html")
    for path in (absent, f"20261129150447/{absent}", f"20261129150447id_/{absent}", f"timemap/link/{absent}",
                 f"timemap/json/{absent}", ""):
        mine = client.get(ours + path)
        assert mine.status_code == 404, path
        assert mine.headers["content-type"].startswith("text/plain") and mine.text.count("\n") == 1
        assert "<" not in mine.text.replace("<url>", "").replace("<timestamp>", "")
    assert client.get(theirs + absent).status_code == 404


def test_bad_paths_are_400s_never_500s(archive: Archive, servers: tuple[str, str], client: httpx.Client) -> None:
    ours, _ = servers
    url = archive.url("news", ARTICLE_PATH)
    for path in (f"timemap/xml/{url}", "ftp://example.org/file", f"{'9' * 40}/{url}", "http://[::1/",
                 "http://exa mple.org/", "%00", "20261129150447/mailto:someone@example.org"):
        mine = client.get(ours + path)
        assert mine.status_code in (400, 404), path
        assert mine.text.count("\n") == 1, path


def test_a_capture_sealed_while_serving_is_found(tmp_path: Path, serve: Callable[..., Site]) -> None:
    site = serve([encodings_host()[0]])
    url = site.url("enc", "/odd.txt")
    root = tmp_path / "ws"
    day_ago = datetime.now(UTC) - timedelta(days=1)
    first = capture([url], Workspace(root), CaptureOptions(depth=0), clock=lambda: day_ago)
    with serving(root) as ours, httpx.Client(trust_env=False, timeout=30) as client:
        latest = client.get(ours + url).headers["location"]
        assert latest == f"{ours}{timestamp14(first.resources[0].date)}/{url}"
        second = capture([url], Workspace(root), CaptureOptions(depth=0))
        expected = f"{ours}{timestamp14(second.resources[0].date)}/{url}"
        deadline = time.monotonic() + 10
        while (latest := client.get(ours + url).headers["location"]) != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert latest == expected
        assert len(timemap_entries(client.get(ours + "timemap/link/" + url).text, ours)) == 3 + 2


def parse(date: str) -> datetime:
    return datetime.fromisoformat(date.replace("Z", "+00:00"))


def parse_ts(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
