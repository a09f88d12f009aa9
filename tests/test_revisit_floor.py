"""bench/revisit_floor.py (``revisit_bytes.py --floor``): for the exchanges of a real re-capture
(identical-payload revisits and 304s), the floor records keep the request block as sent and the
304's head as received, drop only optional fields, and read back through warcio; a floor missing
what WARC 1.1 or FORMATS.md ask is refused. No figure is asserted beyond floor <= as written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from archiver import CaptureOptions, Workspace, capture
from archiver.demo.server import Host, Response, Site

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench(pytestconfig: pytest.Config) -> tuple[ModuleType, ModuleType]:
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(ROOT / "bench"))
    import revisit_bytes
    import revisit_floor
    yield revisit_bytes, revisit_floor
    mp.undo()


def recaptured(tmp: Path, validators: bool) -> list[tuple[bytes, int]]:
    """The members of the second capture's WARC files of a small site captured twice."""
    site = Site([Host("h", "127.0.0.62")], validators=validators).start()
    try:
        routes = site.hosts["h"].routes
        routes["/"] = Response(200, [("Content-Type", "text/html")],
                               b"<title>i</title>" + b"".join(b"<img src='/p%d.png'>" % i for i in range(4)))
        for i in range(4):
            routes[f"/p{i}.png"] = Response(200, [("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\n" + bytes([i]) * 500)
        ws = Workspace(tmp)
        results = [capture([site.url("h", "/")], ws, CaptureOptions(depth=1)) for _ in range(2)]
    finally:
        site.stop()
    assert all(r.ok for r in results)
    from revisit_bytes import members
    return [m for w in results[1].warc_files for m in members(ws.root / w.path)]


@pytest.mark.parametrize("validators", [False, True], ids=["identical", "304"])
def test_floor_of_a_real_recapture_reads_back(bench, tmp_path: Path, validators: bool) -> None:
    _, floor = bench
    recs = floor.exchanges(recaptured(tmp_path / "ws", validators))
    kinds = {ex.kind for ex in recs.exchanges}
    assert len(recs.exchanges) == 5 and ("304" in kinds) == validators       # the page, 4 images
    floors = [floor.floor_parts(ex) for ex in recs.exchanges]
    assert "checked" in floor.verify_floor(floors, floor.warcio_command())
    for ex, parts in zip(recs.exchanges, floors, strict=True):
        assert parts.keys() == {"request", "revisit"}
        assert parts["request"].block == ex.request.block                      # the request as sent
        assert not {"WARC-Block-Digest", "WARC-IP-Address"} & {n for r in parts.values() for n, _ in r.fields}
        if ex.head_304 is not None:                                            # the 304 as received
            assert parts["revisit"].block.startswith(b"HTTP/1.1 304 Not Modified\r\n")
            assert parts["revisit"].block.endswith(b"\r\n\r\n")
            assert parts["revisit"].block[:-2].replace(b"HTTP/1.1", b"http-status-line: HTTP/1.1", 1) == ex.head_304.block
        else:
            assert parts["revisit"].block == ex.revisit.block and parts["revisit"].get("WARC-Truncated") == "length"
        assert floor.size(parts) <= sum(r.written for r in ex.records())
    figures = floor.figures(recs)
    for k in figures:
        step_sum = sum(k.savings.values())
        assert abs(sum(k.written.values()) - sum(k.floor.values()) - step_sum) < 1e-6


def test_a_floor_missing_what_the_rules_ask_is_refused(bench, tmp_path: Path) -> None:
    _, floor = bench
    recs = floor.exchanges(recaptured(tmp_path / "ws", validators=False))
    good = [floor.floor_parts(ex) for ex in recs.exchanges]
    for field in ("WARC-Truncated", "WARC-Target-URI", "WARC-Refers-To-Date", "WARC-Concurrent-To"):
        bad = [*good[:-1], good[-1] | {"revisit": good[-1]["revisit"].without(field)}]
        with pytest.raises(floor.FloorError, match=field):
            floor.verify_floor(bad, floor.warcio_command())
    not_304 = good[0] | {"revisit": good[0]["revisit"].setting("WARC-Profile", floor.PROFILE_304)}   # a 200's head
    with pytest.raises(floor.FloorError, match="server-not-modified revisit without the 304"):
        floor.verify_floor([not_304], floor.warcio_command())
    no_http = good[0] | {"revisit": replace(good[0]["revisit"], block=b"not an HTTP head")}
    with pytest.raises(floor.FloorError, match="warcio"):
        floor.verify_floor([no_http], floor.warcio_command())
