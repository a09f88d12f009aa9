"""Conditional re-captures on workers (issue #20): a queued re-capture whose workers reach the
workspace asks with the stored validators and archives each 304 as a local capture does;
``--no-conditional`` reaches the workers. Real Redis, real worker processes, a loopback server that
honours conditional requests."""

from __future__ import annotations

import json
from pathlib import Path

from test_conditional import PAGE, STYLE, sent
from test_distributed import finish, manifest_of, queue, queued, run, start  # noqa: F401 - fixtures

from archiver.demo.server import Host, Response, Site


def test_queued_recaptures_ask_conditionally_unless_told_not_to(queue: str, start, tmp_path: Path) -> None:  # noqa: F811
    host = Host("h", "127.0.0.232", routes={"/": Response(200, [("Content-Type", "text/html; charset=utf-8")], PAGE),
                                            "/style.css": Response(200, [("Content-Type", "text/css")], STYLE)})
    ws = tmp_path / "ws"
    with Site([host], validators=True) as site:
        seed = site.url("h", "/")
        outs = []
        for flags in ([], [], ["--no-conditional"]):
            capture = start("-w", str(ws), "capture", seed, "--queue", queue, "--json", *flags, cwd=tmp_path)
            queued(queue, tmp_path)
            worker = start("worker", "--queue", queue, "--once", "--json", cwd=tmp_path)
            code, out, err = finish(capture)
            assert code == 0, err
            assert finish(worker)[0] == 0
            outs.append(out)
        asked = sent(site, "/")
        statuses = [s.status for s in site.served if s.url == seed]
    assert len(asked) == 3
    assert "If-None-Match" not in asked[0] and "If-None-Match" in asked[1] and "If-None-Match" not in asked[2]
    assert statuses == [200, 304, 200]
    first, second = (manifest_of(ws, out) for out in outs[:2])
    page = next(r for r in second["resources"] if r["url"] == seed)
    original = next(r for r in first["resources"] if r["url"] == seed)
    assert page["status"] == 200 and page["payload_sha256"] == original["payload_sha256"] and page.get("revisit_of")
    verified = run("-w", str(ws), "verify", "--json", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert json.loads(verified.stdout)["ok"]
