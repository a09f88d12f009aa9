"""Queued captures carry what a local capture of the same pages carries (issue #19): page flags
(``repeated-paragraphs``, ``javascript-shell``, ``requisites-failed``) in the sealed manifest, and
revisit records against the workspace's earlier captures, so that ``archiver report`` says
unchanged. The same loopback site is captured locally into one workspace and through the real
Redis by 2 worker processes into another; each is then captured again the same way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_distributed import finish, page, queue, queued, run, start  # noqa: F401 -- fixtures

from archiver.demo.server import Host, Response

SAID = "<p>The harbour contract was signed by the council in a closed session on Tuesday.</p>"
SHELL = '<title>App</title><div id="app"></div>' + "".join(f'<script src="/s{n}.js"></script>' for n in range(3))


def site_hosts() -> list[Host]:
    js = Response(200, [("Content-Type", "text/javascript")], b"void 0;")
    png = Response(200, [("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\n")
    routes = {
        "/": page('<title>Index</title><p>What the council said and when, with its sources listed below.</p>'
                  '<a href="/tripled">t</a><a href="/shell">s</a><a href="/broken">b</a><a href="/plain">p</a>'),
        "/tripled": page(f"<html lang='en'><head><title>Tripled</title></head><body><article><h1>Tripled</h1>{SAID}"
                         "<p>Work on the quayside begins in March and is expected to last about eighteen months.</p>"
                         f"{SAID}{SAID}</article></body></html>"),
        "/shell": page(SHELL),
        "/broken": page('<title>Broken</title><p>A page whose pictures are gone from the server.</p>'
                        '<img src="/gone.png"><img src="/here.png">'),
        "/plain": page('<title>Plain</title><p>Nothing wrong with this page at all, it reads well.</p>'
                       '<img src="/also.png">'),       # not /here.png: a requisite's page is the first to find it
        "/here.png": png, "/also.png": png, **{f"/s{n}.js": js for n in range(3)},
    }
    return [Host("h", "127.0.0.236", routes=routes)]


def flags_of(manifest: dict) -> list[tuple[str, str, str]]:
    return sorted((f["url"], f["flag"], f["detail"]) for f in manifest.get("flags") or ())


def revisits_of(manifest: dict) -> list[str]:
    return sorted(r["url"] for r in manifest["resources"] if r.get("revisit_of"))


def local(ws: Path, url: str, cwd: Path) -> dict:
    done = run("-w", str(ws), "capture", url, "--json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load((ws / json.loads(done.stdout)["manifest"]).read_text())


def queued_capture(ws: Path, url: str, queue: str, start, cwd: Path) -> dict:  # noqa: F811
    capture = start("-w", str(ws), "capture", url, "--queue", queue, "--json", cwd=cwd)
    queued(queue, cwd)
    workers = [start("worker", "--queue", queue, "--once", "--lease", "10", "--json", cwd=cwd) for _ in range(2)]
    code, out, err = finish(capture)
    assert code == 0, err
    assert all(finish(w)[0] == 0 for w in workers)
    return yaml.safe_load((ws / json.loads(out)["manifest"]).read_text())


def test_queued_captures_flag_pages_and_write_revisits_as_local_ones(serve, queue: str, start,  # noqa: F811
                                                                     tmp_path: Path) -> None:
    site = serve(site_hosts())
    url = site.url("h", "/")
    here, there = tmp_path / "local", tmp_path / "queued"
    first_local, first_queued = local(here, url, tmp_path), queued_capture(there, url, queue, start, tmp_path)
    flags = flags_of(first_local)
    assert {f for _, f, _ in flags} == {"repeated-paragraphs", "javascript-shell", "requisites-failed"}, flags
    assert flags_of(first_queued) == flags
    assert revisits_of(first_local) == revisits_of(first_queued) == []

    again_local, again_queued = local(here, url, tmp_path), queued_capture(there, url, queue, start, tmp_path)
    revisits = revisits_of(again_local)
    assert site.url("h", "/tripled") in revisits and site.url("h", "/here.png") in revisits, revisits
    assert revisits_of(again_queued) == revisits            # the same payloads stored once, as locally
    assert flags_of(again_queued) == flags_of(again_local) == flags    # repeated-paragraphs carried to the revisit
    for ws in (here, there):
        verified = run("-w", str(ws), "verify", cwd=tmp_path)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        said = run("-w", str(ws), "report", "--json", cwd=tmp_path)
        assert said.returncode == 0, said.stderr
        verdicts = {line["url"]: line["verdict"] for line in json.loads(said.stdout)}
        assert verdicts[site.url("h", "/tripled")] == verdicts[url] == "unchanged", verdicts
    from archiver.core.workspace import Workspace
    from archiver.distributed.dedup import read_only_dedup

    assert read_only_dedup(Workspace(there)) is not None            # what its workers read
    assert read_only_dedup(Workspace(tmp_path / "elsewhere")) is None    # a worker without it: full records


def test_the_pages_a_report_names_are_checked() -> None:
    from archiver.core.errors import ManifestError
    from archiver.distributed.spec import report_pages

    assert report_pages({"pages": ["http://127.0.0.1/"]}, 1) == ["http://127.0.0.1/"]
    assert report_pages({}, 0) == []
    for bad in ({"pages": "http://127.0.0.1/"}, {"pages": ["a", "b"]}, {"pages": [7]}, {"pages": ["x" * 70_000]}):
        with pytest.raises(ManifestError, match="field 'pages'"):
            report_pages(bad, 1)
