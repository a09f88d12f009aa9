"""The web UI in a real browser: real captures of loopback sites, ``archiver serve``'s UI app on a
free loopback port, Debian's Chromium driven by Playwright. Each page shows its data; archived
strings are text, never markup; "verify now" and the capture form run their jobs to the end (with
JavaScript, and without it); a phrase found by search is cited from the UI."""

from __future__ import annotations

import hashlib
import http.client
import io
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from screenshots import (
    FERRY_TEXTS,
    HOSTILE_PHRASE,
    HOSTILE_TITLE,
    Built,
    build_workspace,
    local_site,
    sign_in,
    ui_server,
)

from archiver.citing.citations import replay_url
from archiver.core.settings import load_settings
from archiver.fixity.manifest import read_manifest
from archiver.index.store import Index
from archiver.net.surt import timestamp14
from archiver.serve.pages_view import marked

TOKEN = "page-test-token"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_workspace(tmp_path_factory.mktemp("pages") / "ws")


@pytest.fixture(scope="module")
def base(built: Built) -> Iterator[str]:
    with ui_server(built.workspace, TOKEN) as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookie); every dialog it opens is recorded, and refused."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.dialogs = []

    def dialog(d: Any) -> None:
        tab.dialogs.append(d.message)
        d.dismiss()

    tab.on("dialog", dialog)
    tab.console_lines = []
    tab.on("console", lambda m: tab.console_lines.append(m.text))
    yield tab
    context.close()


def texts(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def timeline(url: str) -> str:
    return "/url?u=" + quote(url, safe="")


def test_marked_escapes_then_marks() -> None:
    assert str(marked("a [b] <i>c</i> & [d")) == "a <mark>b</mark> &lt;i&gt;c&lt;/i&gt; &amp; <mark>d</mark>"
    assert str(marked("x] [y")) == "x] <mark>y</mark>"


# -- each page shows its data --------------------------------------------------------------------

def test_captures_newest_first_with_counts_flags_seal_and_verify_state(built: Built, base: str, page: Any) -> None:
    page.goto(base + "/")
    with Index.open(built.workspace) as index:
        newest_first = [row.capture_id for row in index.captures()][::-1]
    assert texts(page, "table.captures small.id") == newest_first
    row = page.locator("tr", has=page.locator(f"a[href='/captures/{built.article_id}']"))
    manifest = read_manifest(built.workspace.manifest_path(built.article_id))
    cells = dict(zip(["captured", "seeds", "resources", "failures", "fidelity", "seal", "verify"],
                     texts(row, "td")))
    assert built.article_url in cells["seeds"]
    assert cells["resources"].split()[0] == str(len(manifest.resources))
    assert cells["failures"] == str(len(manifest.failures)) == "1"
    assert "repeated-paragraphs" in cells["fidelity"]
    assert cells["seal"] == "signed"
    hostile = page.locator("tr", has=page.locator(f"a[href='/captures/{built.hostile_id}']"))
    assert "unsigned" in texts(hostile, "td")[5]
    assert "a seed failed" in texts(page.locator("tr", has=page.locator(
        f"a[href='/captures/{built.ferry_ids[-1]}']")), "td")[1]
    assert page.locator("button", has_text="Verify now").count() == 0     # not signed in: no button


def test_an_empty_workspace_and_an_unreadable_manifest(tmp_path: Path, page: Any) -> None:
    from archiver.core.workspace import Workspace

    ws = Workspace(tmp_path / "fresh").ensure()
    with ui_server(ws) as fresh:
        page.goto(fresh + "/")
        assert "Nothing captured yet" in page.locator("main").inner_text()
        ws.manifest_path("20260101T000000Z-abcdef").write_text("format: [not a manifest\n")
        page.goto(fresh + "/")
        row = page.locator("table.captures tbody tr")
        assert row.count() == 1 and "20260101T000000Z-abcdef" in row.inner_text()
        assert row.locator("td.problem").count() == 1


def test_capture_page_shows_resources_failures_provenance_and_downloads(built: Built, base: str,
                                                                       page: Any) -> None:
    manifest = read_manifest(built.workspace.manifest_path(built.article_id))
    page.goto(f"{base}/captures/{built.article_id}")
    rows = page.locator("table.resources tbody tr")
    assert rows.count() == len(manifest.resources)
    for res in manifest.resources:
        href = f"/archive/{timestamp14(res.date)}/{res.url}"
        assert page.locator(f"table.resources a[href='{href}']").count() == 1, res.url
        row = rows.filter(has=page.locator(f"a[href='{href}']"))
        assert texts(row, "td[data-label=Status]") == [str(res.status)]
        assert texts(row, "td[data-label=Role]") == [str(res.role)]
        assert row.locator(f"a[href='{timeline(res.url)}']").count() == 1
        if res.via:
            assert texts(row, "td[data-label='Found on']") == [res.via]
    seed = manifest.resources[0]
    memento = httpx.get(f"{base}/archive/{timestamp14(seed.date)}/{seed.url}")     # the link resolves
    assert memento.status_code == 200 and memento.headers["memento-datetime"]
    failure = manifest.failures[0]
    assert failure.reason in page.locator("table.failures").inner_text()
    provenance = page.locator("#provenance").inner_text()
    assert manifest.signing_key and manifest.signing_key in provenance
    assert f"capture {manifest.sequence} of this workspace's chain" in provenance
    assert manifest.previous and manifest.previous.capture_id in provenance
    assert "127.0.0.11" in provenance and manifest.software["archiver"] in provenance
    downloads = page.locator("#downloads").inner_text()
    for name in (Path(manifest.warc_files[0].path).name, f"{built.article_id}.yaml", f"{built.article_id}.sha256",
                 f"{built.article_id}.sha256.sig"):
        assert name in downloads


def test_files_are_served_by_the_names_the_manifest_lists_only(built: Built, base: str) -> None:
    cid = built.article_id
    manifest = read_manifest(built.workspace.manifest_path(cid))
    warc = manifest.warc_files[0]
    got = httpx.get(f"{base}/captures/{cid}/files/{Path(warc.path).name}")
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == warc.sha256
    assert got.headers["content-security-policy"] == "sandbox"
    sums = httpx.get(f"{base}/captures/{cid}/files/{cid}.sha256")
    assert sums.text == built.workspace.checksum_path(cid).read_text()
    (built.workspace.root / "archive" / "stray.txt").write_text("not listed")
    for name in ("stray.txt", f"{built.hostile_id}.yaml", "index.sqlite", "..%2F..%2Farchiver.yaml", "%2E%2E"):
        connection = http.client.HTTPConnection(*base.removeprefix("http://").split(":"))
        connection.request("GET", f"/captures/{cid}/files/{name}")       # sent as is, not normalised
        refused = connection.getresponse()
        assert refused.status == 404, name
        assert b"has no file named" in refused.read() or "%2" in name
        connection.close()


def test_wacz_and_bag_exports_are_made_on_request(built: Built, base: str) -> None:
    cid = built.article_id
    warc = read_manifest(built.workspace.manifest_path(cid)).warc_files[0]
    wacz = httpx.get(f"{base}/captures/{cid}/export.wacz", timeout=60)
    assert wacz.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(wacz.content)).namelist()
    assert "datapackage.json" in names and f"archive/{Path(warc.path).name}" in names
    bag = httpx.get(f"{base}/captures/{cid}/export-bag.zip", timeout=60)
    zf = zipfile.ZipFile(io.BytesIO(bag.content))
    assert f"{cid}-bag/bagit.txt" in zf.namelist()
    assert hashlib.sha256(zf.read(f"{cid}-bag/data/archive/{Path(warc.path).name}")).hexdigest() == warc.sha256
    deadline = time.monotonic() + 10           # removed once the answer is sent
    while list(built.workspace.state_dir.glob("export-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(built.workspace.state_dir.glob("export-*")), "the temporary export is removed"


def test_url_timeline_marks_changes_and_cites_each_version(built: Built, base: str, page: Any) -> None:
    page.goto(base + timeline(built.ferry_url))
    versions = page.locator("ol.timeline > li")
    assert texts(page, "ol.timeline .badge.verdict") == ["gone", "moved", "gone", "changed", "new"]
    hrefs = [versions.nth(i).locator("a[href^='/captures/']").get_attribute("href") for i in range(5)]
    assert hrefs == [f"/captures/{cid}" for cid in reversed(built.ferry_ids)]
    assert "refused" in versions.nth(0).inner_text()
    assert "ferry-2027.html" in versions.nth(1).inner_text()
    assert "HTTP 404" in versions.nth(2).inner_text()
    diff = versions.nth(3).locator("pre.diff").inner_text()
    assert f"-{FERRY_TEXTS[0]}" in diff and f"+{FERRY_TEXTS[1]}" in diff
    settings = load_settings(built.workspace.root)
    with Index.open(built.workspace) as index:
        first, second = [m for m in index.timemap(built.ferry_url) if m.status == 200]
    for i, memento in ((3, second), (4, first)):
        assert replay_url(settings, memento) in versions.nth(i).locator("blockquote.citation").inner_text()
    assert versions.nth(0).locator("blockquote.citation").count() == 0      # nothing to cite


def test_bibliography_of_a_capture_in_every_style(built: Built, base: str, page: Any) -> None:
    from archiver.citing.formats import FORMATS

    page.goto(f"{base}/captures/{built.article_id}/bibliography")
    assert page.locator("pre.citation-text").count() == len(FORMATS)
    bibtex = page.locator("#text-bibtex").inner_text()
    assert bibtex.count("@") >= 3                  # the article and its linked sources
    assert built.article_url in page.locator("#text-csl-json").inner_text()


# -- archived strings are text -------------------------------------------------------------------

def test_a_page_titled_with_a_script_tag_shows_as_text(built: Built, base: str, page: Any) -> None:
    pages = ["/", f"/captures/{built.hostile_id}", timeline(built.hostile_url),
             "/search?q=" + quote(HOSTILE_PHRASE), "/cite?url=" + quote(built.hostile_url, safe=""),
             f"/captures/{built.hostile_id}/bibliography"]
    for path in pages:
        response = page.goto(base + path)
        page.wait_for_load_state("load")
        assert response.status == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe" not in policy, path
        html = response.text()
        assert "<script>alert" not in html and "<img" not in html, path
        assert all(src.startswith("/static/ui/") for src in
                   page.locator("script").evaluate_all("els => els.map(e => e.getAttribute('src') || '')")), path
        assert page.locator("img").count() == 0, path
        if path != "/":
            shown = page.locator("main").inner_text()
            assert HOSTILE_TITLE in shown or "<script>alert(3)</script>" in shown, path
    assert page.dialogs == []
    page.goto(base + "/search?q=" + quote(HOSTILE_PHRASE))
    snippet = page.locator(".snippet").first
    assert "<script>alert(3)</script>" in snippet.inner_text()
    assert texts(snippet, "mark") == ["quokka", "lighthouse"]
    assert not any("Content Security Policy" in line for line in page.console_lines)


# -- search, then cite ---------------------------------------------------------------------------

def test_a_phrase_found_by_search_is_cited_from_the_ui(built: Built, base: str, page: Any) -> None:
    page.goto(base + "/search")
    page.fill("#q", '"eleven votes to four"')
    page.click("form.search button[type=submit]")
    page.wait_for_url(re.compile(r".*/search\?q="))
    hit = page.locator("li.hit", has=page.locator(f"p.url:text-is('{built.article_url}')"))
    assert hit.count() == 1
    assert " ".join(texts(hit, ".snippet mark")).lower() == "eleven votes to four"
    hit.locator("a.cite-link").click()
    page.wait_for_url(re.compile(r".*/cite\?url="))
    with Index.open(built.workspace) as index:
        memento = index.timemap(built.article_url)[-1]
    archived = replay_url(load_settings(built.workspace.root), memento)
    for style in ("apa", "mla", "bibtex", "ris", "csl-json", "robust-link", "markdown"):
        assert archived in page.locator(f"#text-{style}").inner_text(), style
    # Chicago (citeproc) capitalises the URL that starts a sentence: "Http://localhost..."
    assert archived.lower() in page.locator("#text-chicago").inner_text().lower()
    assert page.locator("a.archived-url").get_attribute("href") == archived
    assert page.locator("button[data-copy=text-apa]").is_visible()       # the copy script ran


def test_search_filters_by_host_and_date(built: Built, base: str, page: Any) -> None:
    day = read_manifest(built.workspace.manifest_path(built.article_id)).started[:10]
    cases = [("", "", "", True), ("127.0.0.11", "", "", True), ("127.0.0.99", "", "", False),
             ("", day, day, True), ("", "", "2001-01-01", False), ("", "2999-01-01", "", False)]
    for host, start, end, found in cases:
        page.goto(f"{base}/search?q=dredging&host={host}&from={start}&to={end}")
        urls = texts(page, "li.hit p.url")
        assert (built.article_url in urls) is found, (host, start, end)
        assert all("127.0.0.11" in u for u in urls) or host != "127.0.0.11"


def test_bad_input_is_one_line_never_a_traceback(built: Built, base: str) -> None:
    for path, status, words in [("/search?q=x&from=yesterday", 400, "not a date"),
                                ("/captures/bad%20id", 404, "not a capture id"),
                                ("/captures/20000101T000000Z-000000", 404, "no capture"),
                                ("/cite?url=http%3A%2F%2Fnever.example%2F", 404, "has not been captured"),
                                ("/?page=0", 400, "page"), ("/jobs/nope", 404, "no such job")]:
        got = httpx.get(base + path)
        assert got.status_code == status, path
        message = re.search(r'<p class="problem" role="alert">(.*?)</p>', got.text, re.S)
        assert message and words in message.group(1) and "\n" not in message.group(1), path
        assert "Traceback" not in got.text


# -- work started from the pages -----------------------------------------------------------------

def test_verify_now_runs_to_a_result(built: Built, base: str, page: Any) -> None:
    sign_in(page, base, TOKEN)
    row = page.locator("tr", has=page.locator(f"a[href='/captures/{built.article_id}']"))
    row.locator("button", has_text="Verify now").click()
    result = row.locator(".verify-result")
    result.wait_for(timeout=60_000)
    assert "intact" in result.inner_text() and "records checked" in result.inner_text()
    page.reload()
    assert "intact" in texts(row, ".verify .badge")[0]
    assert not any("Content Security Policy" in line for line in page.console_lines)


def test_verify_now_works_without_javascript(built: Built, base: str, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, base, TOKEN)
        page.goto(f"{base}/captures/{built.hostile_id}")
        page.click("form[action$='/verify'] button")
        page.wait_for_url(re.compile(r".*/jobs/[0-9a-f]+$"))
        page.wait_for_selector(".verify-result", timeout=60_000)      # the page refreshes itself
        assert "intact" in page.locator(".verify-result").inner_text()
        assert built.hostile_id in page.locator(".verify-result a").inner_text()
    finally:
        context.close()


def test_capture_form_runs_a_capture_to_the_end(built: Built, base: str, page: Any) -> None:
    site, _ = local_site("127.0.0.32")
    with site:
        url = site.url("ferry", "/new.html")
        sign_in(page, base, TOKEN)
        page.goto(base + "/capture")
        page.fill("#urls", url)
        page.select_option("#depth", "0")
        page.click("form.capture-form button[type=submit]")
        polls: list[str] = []
        page.on("request", lambda r: polls.append(r.url) if r.url.endswith("/fragment") else None)
        link = page.locator("#capture-job a.result-link")
        link.wait_for(timeout=60_000)
        capture_id = link.get_attribute("href").rsplit("/", 1)[1]
        asked = len(polls)
        page.wait_for_timeout(2500)
        assert len(polls) == asked, "the finished job's fragment asks no more"
        link.click()
    page.wait_for_url(f"{base}/captures/{capture_id}")
    assert url in texts(page, "table.resources td[data-label=URL] a")
    page.goto(base + "/")
    assert texts(page, "table.captures small.id")[0] == capture_id
    assert url in page.locator("table.captures tbody tr").first.inner_text()
    assert not any("Content Security Policy" in line for line in page.console_lines)


def test_a_read_only_server_says_how_to_start_it_writable(built: Built, page: Any) -> None:
    with ui_server(built.workspace, token=None) as read_only:
        page.goto(read_only + "/capture")
        assert "--token" in page.locator(".notice").inner_text()
        assert page.locator("#urls").is_disabled()
        refused = httpx.post(read_only + "/capture", data={"urls": "http://127.0.0.1/"})
        assert refused.status_code == 403 and "read-only" in refused.text
        verify = httpx.post(f"{read_only}/captures/{built.article_id}/verify")
        assert verify.status_code == 403
        page.goto(read_only + "/")
        assert page.locator("button", has_text="Verify now").count() == 0


def test_writing_needs_the_token(built: Built, base: str) -> None:
    refused = httpx.post(f"{base}/captures/{built.article_id}/verify")
    assert refused.status_code == 403 and "sign in" in refused.text
    wrong = httpx.post(f"{base}/captures/{built.article_id}/verify", cookies={"archiver_token": "not-it-at-all"})
    assert wrong.status_code == 403


# -- a phone ---------------------------------------------------------------------------------------

def test_pages_fit_a_phone_screen(built: Built, base: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        for path in ["/", f"/captures/{built.article_id}", timeline(built.ferry_url), "/search?q=harbour",
                     "/cite?url=" + quote(built.article_url, safe=""), "/capture"]:
            page.goto(base + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width} px wide"
    finally:
        context.close()
