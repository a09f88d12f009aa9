"""The CDX server API (``/{coll}/cdx``) compared with a real pywb's on the same WARC files, for a
table of queries covering each parameter, then bad parameters: a 400 with a one-line message,
never a 500.

Where the answers must differ, the comparison normalises pywb's and says why:

- pywb also indexes the main-text conversion records (derived text, not mementos; no HTTP status).
  Each pywb query gets one more filter that leaves them out, a regular expression over the whole
  line (a filter without ``field:``), so limits and sorting apply to the same set on both sides;
- pywb adds its own fields to every line (``source``: its index file, ``source-coll``, ``access``):
  dropped from pywb's JSON, and from the end of its text lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx
import pytest
from test_memento import pywb_serving, serving
from test_payload import Archive, capture_archive

from archiver.demo.sample import ARTICLE_PATH
from archiver.net.surt import timestamp14
from archiver.serve.cdx import CdxQueryError, parse_query

NOT_CONVERSION = '!~.*"mime". "text/plain", "digest"'    # no ':' in it: pywb matches it against the whole line
PYWB_FIELDS = ("source", "source-coll", "access")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    return capture_archive(tmp_path_factory.mktemp("cdx-ws"))


@pytest.fixture(scope="module")
def servers(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    # answers over 1 KiB are streamed in 1 KiB parts: most of the table goes through the streamed path
    with serving(archive.root, chunk=1024) as ours, pywb_serving(archive.warcs, tmp_path_factory.mktemp("pywb")) as theirs:
        yield ours, theirs


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, follow_redirects=False, timeout=30) as c:
        yield c


def queries(archive: Archive) -> dict[str, list[tuple[str, str]]]:
    """Each parameter of pywb's CDX server, by name of the case."""
    article = archive.url("news", ARTICLE_PATH)
    news = archive.url("news", "/").removesuffix("/").removeprefix("http://")
    enc = archive.url("enc", "/").removesuffix("/").removeprefix("http://")
    first = datetime.fromisoformat(archive.resource(article, 0).date.replace("Z", "+00:00"))
    second = datetime.fromisoformat(archive.resource(article, 1).date.replace("Z", "+00:00"))
    day1, day2 = timestamp14(first.isoformat())[:8], timestamp14(second.isoformat())[:8]
    between = timestamp14((first + (second - first) / 4).isoformat())
    late = timestamp14((second + timedelta(hours=1)).isoformat())
    return {
        "exact, cdxj (the default)": [("url", article)],
        "exact, json": [("url", article), ("output", "json")],
        "exact, text": [("url", article), ("output", "text")],
        "exact, link": [("url", article), ("output", "link")],
        "exact, a query string": [("url", next(r.url for r in archive.results[0].resources if "?" in r.url))],
        "exact, never captured": [("url", archive.url("news", "/never-captured.html"))],
        "prefix by wildcard": [("url", f"{news}/*"), ("output", "text")],
        "prefix by matchType": [("url", f"http://{news}/static/"), ("matchType", "prefix"), ("output", "json")],
        "prefix of a path part": [("url", f"http://{news}/media/harbour"), ("matchType", "prefix")],
        "host": [("url", article), ("matchType", "host"), ("output", "text")],
        "domain by wildcard": [("url", f"*.{enc}"), ("output", "json")],
        "domain by matchType": [("url", f"http://{news}/about.html"), ("matchType", "domain"), ("output", "text")],
        "from a day": [("url", article), ("from", day2), ("output", "json")],
        "to a day": [("url", article), ("to", day1), ("output", "json")],
        "from and to, a year": [("url", f"{news}/*"), ("from", day1[:4]), ("to", day2[:4]), ("output", "text")],
        "from after everything": [("url", article), ("from", str(int(day2[:4]) + 1))],
        "limit": [("url", f"{news}/*"), ("limit", "3"), ("output", "text")],
        "sort=reverse": [("url", f"{news}/*"), ("sort", "reverse"), ("output", "text")],
        "sort=reverse, limit": [("url", f"{news}/*"), ("sort", "reverse"), ("limit", "4"), ("output", "json")],
        "sort=closest": [("url", article), ("sort", "closest"), ("closest", between), ("output", "json")],
        "closest, limit 1": [("url", article), ("closest", late), ("limit", "1"), ("output", "json")],
        "closest, prefix, short timestamp": [("url", f"{enc}/*"), ("closest", day1), ("limit", "5"),
                                             ("output", "text")],
        "filter exact": [("url", f"{news}/*"), ("filter", "=status:404"), ("output", "json")],
        "filter exact, negated": [("url", f"{news}/*"), ("filter", "!=status:200"), ("output", "text")],
        "filter regex": [("url", f"{news}/*"), ("filter", r"~url:.*\.png$"), ("output", "text")],
        "filter substring": [("url", f"{enc}/*"), ("filter", "mime:html"), ("output", "json")],
        "filter substring, negated, alternative name": [("url", f"{news}/*"), ("filter", "!mimetype:image"),
                                                        ("output", "text")],
        "filters combined": [("url", news), ("matchType", "host"), ("filter", "~mime:text/"),
                             ("filter", "!=mime:warc/revisit"), ("output", "json")],
        "filter on the whole line": [("url", f"{news}/*"), ("filter", "~.*harbour-800"), ("output", "json")],
        "fl, cdxj": [("url", article), ("fl", "timestamp,status,mime")],
        "fl, json": [("url", f"{enc}/*"), ("fl", "urlkey,timestamp,mime,digest"), ("output", "json")],
        "fl, text (missing fields as -)": [("url", f"{news}/*"), ("fl", "url,status,length"), ("output", "text")],
    }


def lines(text: str, output: str, fl: bool) -> list[object]:
    """Answer lines without pywb's own fields."""
    out: list[object] = []
    for line in text.splitlines():
        if output == "json":
            out.append({k: v for k, v in json.loads(line).items() if k not in PYWB_FIELDS})
        elif output == "cdxj":
            key, ts, rest = line.split(" ", 2)
            out.append((key, ts, {k: v for k, v in json.loads(rest).items() if k not in PYWB_FIELDS}))
        elif output == "text" and not fl:
            out.append(line.split(" "))
        else:
            out.append(line)
    return out


def test_cdx_answers_equal_pywbs(archive: Archive, servers: tuple[str, str], client: httpx.Client) -> None:
    ours, theirs = servers
    nonempty = 0
    for name, params in queries(archive).items():
        output = dict(params).get("output", "cdxj")
        fl = "fl" in dict(params)
        mine = client.get(f"{ours}cdx?{urlencode(params)}")
        pywb = client.get(f"{theirs}cdx?{urlencode([*params, ('filter', NOT_CONVERSION)])}")
        assert mine.status_code == pywb.status_code == 200, (name, mine.text, pywb.text)
        assert mine.headers["content-type"].split(";")[0] == pywb.headers["content-type"], name
        expected = lines(pywb.text, output, fl)
        if output == "text" and not fl:
            expected = [row[:-len(PYWB_FIELDS)] for row in expected]      # type: ignore[index]
        assert lines(mine.text, output, fl) == expected, name
        assert mine.headers["content-security-policy"].endswith("sandbox")
        nonempty += bool(expected)
    assert nonempty == len(queries(archive)) - 2        # all but "never captured" and "from after everything"


def test_cdx_limit_closest_and_reverse_keep_their_meaning(archive: Archive, servers: tuple[str, str],
                                                          client: httpx.Client) -> None:
    """Not only the same as pywb: what the parameters mean, on our answers alone."""
    ours, _ = servers
    news = archive.url("news", "/").removesuffix("/")
    whole = client.get(f"{ours}cdx", params={"url": f"{news}/*", "output": "json"})
    assert whole.headers.get("transfer-encoding") == "chunked" and len(whole.content) > 4 * 1024    # streamed
    small = client.get(f"{ours}cdx", params={"url": archive.url("news", ARTICLE_PATH), "fl": "timestamp"})
    assert int(small.headers["content-length"]) == len(small.content) < 1024                      # whole
    every = whole.text.splitlines()
    backwards = client.get(f"{ours}cdx", params={"url": f"{news}/*", "output": "json", "sort": "reverse"})
    assert backwards.text.splitlines() == every[::-1] and len(every) > 20
    assert client.get(f"{ours}cdx", params={"url": f"{news}/*", "output": "json", "limit": "5"}).text.splitlines() \
        == every[:5]
    keys = [json.loads(line)["urlkey"] for line in every]
    assert keys == sorted(keys)
    article = archive.url("news", ARTICLE_PATH)
    for which in (0, 1):
        ts = timestamp14(archive.resource(article, which).date)
        near = client.get(f"{ours}cdx", params={"url": article, "closest": ts, "limit": "1", "output": "json"})
        assert json.loads(near.text)["timestamp"] == ts


BAD = {
    "no url": [],
    "empty url": [("url", "")],
    "not http": [("url", "ftp://example.org/")],
    "a host that cannot be": [("url", "http://exa mple.org/")],
    "matchType": [("url", "example.org"), ("matchType", "everything")],
    "limit not a number": [("url", "example.org"), ("limit", "abc")],
    "limit 0": [("url", "example.org"), ("limit", "0")],
    "limit too large": [("url", "example.org"), ("limit", "100001")],
    "limit negative": [("url", "example.org"), ("limit", "-1")],
    "from not digits": [("url", "example.org"), ("from", "2026-11-29")],
    "from 15 digits": [("url", "example.org"), ("from", "202611291504471")],
    "to not digits": [("url", "example.org"), ("to", "x")],
    "output": [("url", "example.org"), ("output", "xml")],
    "sort": [("url", "example.org"), ("sort", "random")],
    "sort=closest without closest": [("url", "example.org"), ("sort", "closest")],
    "closest not digits": [("url", "example.org"), ("closest", "yesterday")],
    "filter regex invalid": [("url", "example.org"), ("filter", "~url:(")],
    "filter regex that backtracks": [("url", "example.org"), ("filter", "~url:(a+)+$")],
    "filter too long": [("url", "example.org"), ("filter", "url:" + "a" * 2000)],
    "too many filters": [("url", "example.org")] + [("filter", f"url:{i}") for i in range(21)],
    "fl with a bad name": [("url", "example.org"), ("fl", "url,<script>")],
    "fl too many": [("url", "example.org"), ("fl", ",".join(["url"] * 21))],
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_parameters_are_400s(servers: tuple[str, str], client: httpx.Client, name: str) -> None:
    ours, _ = servers
    reply = client.get(f"{ours}cdx?{urlencode(BAD[name])}")
    assert reply.status_code == 400, (name, reply.text[:200])
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.text.endswith("\n") and reply.text.count("\n") == 1 and len(reply.text) < 400, reply.text


def test_a_url_longer_than_any_index_holds_is_refused() -> None:
    """Longer than an HTTP client sends in a request line: checked on the parser itself."""
    with pytest.raises(CdxQueryError, match="at most 65536"):
        parse_query([("url", "http://example.org/" + "a" * 70_000)])


def test_pywb_refuses_what_we_refuse(servers: tuple[str, str], client: httpx.Client) -> None:
    """Where pywb answers 400 too; where it answers 500 (a limit that is not a number), we answer 400."""
    ours, theirs = servers
    for params in (BAD["no url"], BAD["output"]):
        assert client.get(f"{ours}cdx?{urlencode(params)}").status_code == 400
        assert client.get(f"{theirs}cdx?{urlencode(params)}").status_code == 400
    assert client.get(f"{theirs}cdx?{urlencode(BAD['limit not a number'])}").status_code == 500


def test_now_is_a_closest_moment(archive: Archive, servers: tuple[str, str], client: httpx.Client) -> None:
    ours, _ = servers
    article = archive.url("news", ARTICLE_PATH)
    latest = client.get(f"{ours}cdx", params={"url": article, "closest": "now", "limit": "1", "output": "json"})
    assert json.loads(latest.text)["timestamp"] == timestamp14(archive.resource(article, 1).date)
    assert datetime.now(UTC) > datetime.strptime(json.loads(latest.text)["timestamp"], "%Y%m%d%H%M%S").replace(
        tzinfo=UTC)
