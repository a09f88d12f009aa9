"""The JSON API of `archiver serve`, on a real server over real sockets, checked against the OpenAPI
document it serves: every route under /api/ is documented, every answer matches its schema."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from archiver.capturing.run import capture
from archiver.core.settings import CaptureOptions, Settings
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.demo.server import Host, Response
from archiver.serve.api import FALLBACK
from archiver.serve.app import Server, create_app, make_context, start_in_thread

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
TOKEN = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(base: str, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(request, timeout=30) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, str, str]:
    """A workspace holding one capture of the sample site (stopped afterwards): (ws, article URL, capture id)."""
    ws = Workspace(tmp_path_factory.mktemp("api") / "ws")
    site = sample_site(first=161).start()
    try:
        article = site.url("news", ARTICLE_PATH)
        result = capture([article], ws, CaptureOptions(depth=1, timeout=10))
    finally:
        site.stop()
    return ws, article, result.capture_id


def running(ws: Workspace, token: str | None) -> Server:
    port, replay = free_port(), free_port()
    ctx = make_context(ws, Settings(), host="127.0.0.1", port=port, replay_port=replay, public_url=None, token=token)
    return start_in_thread(ctx, host="127.0.0.1", port=port, replay_port=replay)


@pytest.fixture
def readonly(captured: tuple[Workspace, str, str]) -> Iterator[str]:
    server = running(captured[0], None)
    yield server.ctx.ui_base
    server.stop()


@pytest.fixture
def writable(captured: tuple[Workspace, str, str]) -> Iterator[str]:
    server = running(captured[0], TOKEN)
    yield server.ctx.ui_base
    server.stop()


def document(base: str) -> dict[str, Any]:
    status, headers, body = call(base, "GET", "/api/openapi.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    doc = json.loads(body)
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": base}]
    return doc


def check(doc: dict[str, Any], template: str, method: str, status: int, body: bytes) -> Any:
    """``body`` parsed, after checking it against the schema the document gives this answer."""
    answers = doc["paths"][template][method.lower()]["responses"]
    assert str(status) in answers, f"{method} {template} answered {status}, which the document does not list"
    answer = answers[str(status)]
    if "$ref" in answer:
        answer = doc["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    data = json.loads(body)
    schema = answer["content"]["application/json"]["schema"]
    jsonschema.validate(data, {"components": doc["components"], "allOf": [schema]})
    return data


def test_every_api_route_is_documented_and_every_documented_path_is_served(captured, readonly) -> None:
    doc = document(readonly)
    ctx = make_context(captured[0], Settings(), host="127.0.0.1", port=1, replay_port=2, public_url=None, token=None)
    served: set[tuple[str, str]] = set()
    for route in create_app(ctx).routes:
        path = getattr(route, "path", "")
        if path.startswith("/api/") and path != FALLBACK:
            served |= {(path, m.lower()) for m in getattr(route, "methods", set()) if m != "HEAD"}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert served == documented


def test_reading_answers_match_the_document(captured, readonly) -> None:
    ws, article, capture_id = captured
    doc = document(readonly)
    status, _, body = call(readonly, "GET", "/api/captures")
    listed = check(doc, "/api/captures", "GET", status, body)
    assert listed["total"] == 1 and listed["captures"][0]["capture_id"] == capture_id
    assert listed["captures"][0]["verify"] is None                    # never verified from the server
    status, _, body = call(readonly, "GET", f"/api/captures/{capture_id}")
    detail = check(doc, "/api/captures/{capture_id}", "GET", status, body)
    assert detail["capture_id"] == capture_id
    status, _, body = call(readonly, "GET", "/api/search?q=harbour")
    found = check(doc, "/api/search", "GET", status, body)
    assert found["hits"] and found["hits"][0]["capture_id"] == capture_id and "[" in found["hits"][0]["snippet"]
    assert found["hits"][0]["archived_url"].startswith("http://localhost:8080/archive/")
    status, _, body = call(readonly, "GET", "/api/cite?" + urllib.parse.urlencode({"url": article, "style": "bibtex"}))
    cited = check(doc, "/api/cite", "GET", status, body)
    assert "@article{" in cited["citation"] and cited["sources"][0]["url"] == article


@pytest.mark.parametrize("method,path,template,status", [
    ("GET", "/api/captures?limit=0", "/api/captures", 400),
    ("GET", "/api/captures?limit=x", "/api/captures", 400),
    ("GET", "/api/captures/20990101T000000Z-000000", "/api/captures/{capture_id}", 404),
    ("GET", "/api/captures/..%2F..%2Fetc", "/api/captures/{capture_id}", 404),
    ("GET", "/api/search", "/api/search", 400),
    ("GET", "/api/search?q=" + "x" * 1001, "/api/search", 400),
    ("GET", "/api/search?q=%22unclosed", "/api/search", 200),
    ("GET", "/api/cite?url=http://never.example/&style=apa", "/api/cite", 404),
    ("GET", "/api/cite?url=x&style=nope", "/api/cite", 400),
    ("GET", "/api/cite?url=http://never.example/&at=yesterday-ish", "/api/cite", 400),
    ("GET", "/api/jobs/nope", "/api/jobs/{job_id}", 404),
    ("POST", "/api/captures", "/api/captures", 403),
    ("POST", "/api/captures/20990101T000000Z-000000/verify", "/api/captures/{capture_id}/verify", 403),
    ("POST", "/api/session", "/api/session", 403),
])
def test_bad_requests_get_one_line_errors_and_a_read_only_server_refuses_writing(
        readonly, method: str, path: str, template: str, status: int) -> None:
    doc = document(readonly)
    got, _, body = call(readonly, method, path, b"urls=http://127.0.0.1:9/" if method == "POST" else None)
    assert got == status, body
    data = check(doc, template, method, got, body)
    if status >= 400:
        assert "\n" not in data["error"] and data["error"]
    if method == "POST":
        assert "--token" in data["error"] or "token" in data["error"]


def test_an_unknown_api_route_is_a_json_404(readonly) -> None:
    status, headers, body = call(readonly, "GET", "/api/nothing/here")
    assert status == 404 and headers["Content-Type"] == "application/json" and "openapi" in json.loads(body)["error"]


def test_unknown_host_names_are_refused(readonly) -> None:
    status, _, body = call(readonly, "GET", "/api/captures", headers={"Host": "rebound.example:8080"})
    assert status == 421 and b"own address" in body


def test_with_the_token_a_capture_and_a_verify_run_to_the_end(captured, writable, serve) -> None:
    ws, _, first_id = captured
    doc = document(writable)
    page = Response(200, [("Content-Type", "text/html")], b"<!doctype html><title>Fresh</title><p>new page</p>")
    site = serve([Host("fresh", "127.0.0.171", routes={"/": page})])
    url = site.url("fresh", "/")
    body = json.dumps({"urls": [url], "depth": 0}).encode()
    headers = {"Content-Type": "application/json"}
    status, _, answer = call(writable, "POST", "/api/captures", body, headers)
    assert status == 403                                        # no token, no capture
    headers["Authorization"] = f"Bearer {TOKEN}"
    status, _, answer = call(writable, "POST", "/api/captures", body, headers)
    started = check(doc, "/api/captures", "POST", status, answer)
    job = wait(writable, doc, started["status_url"])
    assert job["state"] == "done" and job["result"]["ok"], job
    new_id = job["result"]["capture_id"]
    status, _, answer = call(writable, "GET", "/api/captures")
    assert [c["capture_id"] for c in check(doc, "/api/captures", "GET", status, answer)["captures"]] == [new_id, first_id]

    status, _, answer = call(writable, "POST", f"/api/captures/{first_id}/verify", b"", headers)
    job = wait(writable, doc, check(doc, "/api/captures/{capture_id}/verify", "POST", status, answer)["status_url"])
    assert job["state"] == "done" and job["result"]["ok"] and job["result"]["records_checked"] > 0, job
    status, _, answer = call(writable, "GET", f"/api/captures/{first_id}")
    verified = check(doc, "/api/captures/{capture_id}", "GET", status, answer)["verify"]
    assert verified["ok"] is True and verified["problems"] == [] and verified["quick"] is False


def test_the_session_cookie_writes_only_from_the_ui_origin(captured, writable) -> None:
    _, _, capture_id = captured
    doc = document(writable)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    request = urllib.request.Request(writable + "/api/session", data=b"token=wrong", method="POST")
    try:
        opener.open(request, timeout=10)
        raise AssertionError("a wrong token was accepted")
    except urllib.error.HTTPError as err:
        assert err.code == 403
        check(doc, "/api/session", "POST", 403, err.read())
    request = urllib.request.Request(writable + "/api/session", data=b"token=wrong", method="POST",
                                     headers={"Accept": "text/html"})
    try:
        opener.open(request, timeout=10)
        raise AssertionError("a browser's wrong token was not sent back to the form")
    except urllib.error.HTTPError as err:
        assert err.code == 303 and err.headers["Location"] == "/session?refused=1"
    status, _, page = call(writable, "GET", "/session?refused=1")
    assert status == 200 and (b"not the server&#39;s token" in page or b"not the server's token" in page)
    request = urllib.request.Request(writable + "/api/session", data=urllib.parse.urlencode({"token": TOKEN}).encode(),
                                     method="POST")
    try:
        opener.open(request, timeout=10)
        raise AssertionError("signing in did not redirect")
    except urllib.error.HTTPError as err:
        assert err.code == 303
        cookie = err.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    jar = cookie.split(";", 1)[0]
    path = f"/api/captures/{capture_id}/verify"
    status, _, body = call(writable, "POST", path, b"", {"Cookie": jar, "Origin": "http://127.0.0.1:1"})
    assert status == 403, body                                   # another origin borrowing the cookie
    status, _, body = call(writable, "POST", path, b"", {"Cookie": jar, "Origin": writable})
    assert status == 202, body
    wait(writable, doc, json.loads(body)["status_url"])


def wait(base: str, doc: dict[str, Any], status_url: str, deadline: float = 120.0) -> dict[str, Any]:
    end = time.monotonic() + deadline
    while True:
        status, _, body = call(base, "GET", status_url)
        job = check(doc, "/api/jobs/{job_id}", "GET", status, body)["job"]
        if job["state"] != "running" or time.monotonic() > end:
            return job
        time.sleep(0.1)


def test_the_document_is_valid_openapi_shape() -> None:
    doc = json.loads((Path(__file__).resolve().parent.parent / "archiver" / "serve" / "openapi.json").read_text())
    for path, item in doc["paths"].items():
        assert path.startswith("/api/"), path
        for method, operation in item.items():
            assert method in ("get", "post") and operation["summary"] and operation["responses"], (path, method)
