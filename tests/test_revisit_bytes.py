"""What an unchanged re-capture adds, on a loopback site whose URLs are 120-200 characters long
(issue #20, "Smaller revisits"): bytes of WARC, manifest and index per resource, each bounded; the
compact form of a revisit's manifest entry reads back as the full form did, and a workspace whose
manifests hold the full (old) form still verifies; warcio and pywb read the revisit records."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pywbkit import fetch, wayback

from archiver import CaptureOptions, Workspace, capture, verify
from archiver.core.models import CaptureResult
from archiver.demo.server import Host, Response, Site
from archiver.fixity.manifest import read_manifest
from archiver.index.store import Index

PAGES = 30
# bytes added per unchanged resource (WARC records, manifest entry, index rows): before issue #20's
# cuts this site's re-capture added about 1,150, 1,400 and 2,150
WARC_BOUND, MANIFEST_BOUND, INDEX_BOUND = 1200, 1100, 1400
WARCIO = Path(sys.executable).parent / "warcio"


def long_path(i: int, origin: str, suffix: str) -> str:
    """A dated, slugged path giving a URL of 125-194 characters."""
    slug = "-".join(f"w{hashlib.sha256(f'{i}/{n}'.encode()).hexdigest()[:8]}" for n in range(40))
    length = 125 + (i * 37) % 70
    return f"/news/2026/11/{1 + i % 28:02d}/sources/{i}/{slug}"[:length - len(origin) - len(suffix)] + suffix


def add_long_url_pages(site: Site) -> None:
    origin, routes = site.url("h", ""), site.hosts["h"].routes
    links = []
    for i in range(PAGES):
        page, css, png = (long_path(i, origin, s) for s in (".html", ".css", ".png"))
        routes[page] = Response(200, [("Content-Type", "text/html; charset=utf-8")], (
            f"<!doctype html><title>Source {i}</title><link rel=stylesheet href='{css}'>"
            f"<h1>Source {i}</h1><p>Quayside note {i} on harbour fees.</p><img src='{png}'>").encode())
        routes[css] = Response(200, [("Content-Type", "text/css")], f"h1 {{ margin: {i}px }}".encode())
        routes[png] = Response(200, [("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\n" + bytes([i]) * 2000)
        links.append(f"<li><a href='{page}'>source {i}</a>")
    routes["/"] = Response(200, [("Content-Type", "text/html; charset=utf-8")],
                           ("<!doctype html><title>Index</title><ol>" + "".join(links) + "</ol>").encode())


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def sizes(ws: Workspace) -> tuple[int, int, int]:
    return (folder_bytes(ws.root / "archive"), folder_bytes(ws.root / "manifests"),
            (ws.state_dir / "index.sqlite").stat().st_size)


@pytest.fixture(scope="module")
def recaptured(tmp_path_factory: pytest.TempPathFactory):
    """The site captured twice into one workspace: (site, workspace, results, bytes after each)."""
    site = Site([Host("h", "127.0.0.61")]).start()
    try:
        add_long_url_pages(site)
        ws = Workspace(tmp_path_factory.mktemp("recapture") / "ws")
        results, after = [], []
        for _ in range(2):
            results.append(capture([site.url("h", "/")], ws, CaptureOptions(depth=1)))
            assert results[-1].ok, results[-1].seed_problems
            after.append(sizes(ws))
        yield site, ws, results, after
    finally:
        site.stop()


def test_unchanged_recapture_adds_bounded_bytes_per_resource(recaptured) -> None:
    site, ws, results, after = recaptured
    second: CaptureResult = results[1]
    assert len(second.resources) == 3 * PAGES + 2                     # index, pages, CSS, images, robots.txt
    assert all(r.revisit_of is not None for r in second.resources if 200 <= r.status < 300)
    assert all(120 <= len(r.url) <= 200 for r in second.resources if "/news/" in r.url)
    added = [(b - a) / len(second.resources) for a, b in zip(after[0], after[1])]
    warc, manifest, index = added
    assert warc <= WARC_BOUND, added
    assert manifest <= MANIFEST_BOUND, added
    assert index <= INDEX_BOUND, added
    assert verify(ws).ok


def test_compact_revisit_entries_read_back_whole(recaptured) -> None:
    site, ws, results, _ = recaptured
    path = ws.root / "manifests" / f"{results[1].capture_id}.yaml"
    raw = yaml.safe_load(path.read_bytes())
    compact = [r for r in raw["resources"] if "revisit_of" in r]
    assert compact and all(not {"url", "payload_digest", "warc"} & r["revisit_of"].keys()
                           and "warc_payload_digest" not in r for r in compact)
    read = {r.url: r for r in read_manifest(path).resources}
    first = {r.url: r for r in read_manifest(ws.root / "manifests" / f"{results[0].capture_id}.yaml").resources}
    for entry in compact:
        res, original = read[entry["url"]], first[entry["url"]]
        assert res.revisit_of is not None and res.revisit_of.url == res.url
        assert res.revisit_of.payload_digest == res.warc_payload_digest == original.warc_payload_digest
        assert (res.revisit_of.record_id, res.revisit_of.warc) == (original.record_id, original.warc)


def full_form(data: dict) -> dict:
    """The manifest as archiver wrote it before the compact form: every key of every revisit."""
    for res in data["resources"]:
        if "revisit_of" in res:
            digest = f"sha256:{res['payload_sha256']}"
            first = f"archive/{res['revisit_of']['capture_id']}-00000.warc.gz"
            res["revisit_of"] = {"url": res["url"], "payload_digest": digest, "warc": first, **res["revisit_of"]}
            res.setdefault("warc_payload_digest", digest)
    return data


def test_old_full_form_manifests_still_verify(recaptured, tmp_path: Path) -> None:
    """A workspace whose manifests hold the full form (as sealed before the compact form existed)
    verifies, reads to the same resources and indexes to the same rows."""
    _, ws, results, _ = recaptured
    old = Workspace(tmp_path / "old")
    shutil.copytree(ws.root, old.root, ignore=shutil.ignore_patterns(".archiver"))
    cid = results[1].capture_id           # the last of the chain: no later manifest names its digest
    path = old.root / "manifests" / f"{cid}.yaml"
    body = yaml.safe_dump(full_form(yaml.safe_load(path.read_bytes())), sort_keys=False).encode()
    path.write_bytes(body)
    listing = old.root / "manifests" / f"{cid}.sha256"
    lines = [ln for ln in listing.read_text().splitlines() if not ln.endswith(f"manifests/{cid}.yaml")]
    listing.write_text("\n".join([*lines, f"{hashlib.sha256(body).hexdigest()}  manifests/{cid}.yaml"]) + "\n")

    report = verify(old)
    assert report.ok, [p.line for p in report.problems]
    assert read_manifest(path).resources == read_manifest(ws.root / "manifests" / f"{cid}.yaml").resources
    with Index.open(old) as a, Index.open(ws) as b:
        assert a.capture_mementos(cid) == b.capture_mementos(cid)


def test_revisits_pass_warcio_check_and_replay_in_pywb(recaptured, tmp_path: Path) -> None:
    site, ws, results, _ = recaptured
    warcs = [ws.root / w.path for r in results for w in r.warc_files]
    for warc in warcs:
        done = subprocess.run([str(WARCIO), "check", str(warc)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
    page = next(r for r in results[1].resources if r.url.endswith(".html") and r.revisit_of is not None)
    image = next(r for r in results[1].resources if r.url.endswith(".png"))
    with wayback(warcs, tmp_path / "pywb") as base:
        for res in (page, image):
            stamp = "".join(ch for ch in res.date if ch.isdigit())[:14]
            body, headers = fetch(f"{base}/coll/{stamp}id_/{res.url}")
            assert hashlib.sha256(body).hexdigest() == res.payload_sha256
            assert headers.get("Memento-Datetime"), headers
