"""Importing what the field's own tools write: WARC, WACZ and ARC files made in these tests by real
wget, warcio, py-wacz (as browsertrix packages its crawls) and an ARC writer following the ARC v1
spec, all against loopback servers. Each imports and verifies; a foreign file's manifest records only
what is known of it; damaged files are refused naming the first bad record, or, with --lenient,
imported as they came with every defect recorded; a page whose newest copy is a revisit cites with
its original's title and date."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import need
from faultserver import FaultServer, raw
from test_warc_reader_import import members

from archiver import capture
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site

WGET = shutil.which("wget")
WACZ = Path(sys.executable).parent / "wacz"
TITLE = "Council awards £4.2m harbour dredging contract"
OPERATOR = ("Ada Importer", "ada@example.org")
NO_PROXY = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()} | {"no_proxy": "*"}


# -- running archiver ---------------------------------------------------------------------------

def cli(ws: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archiver", "-w", str(ws), *args],
                          check=False, capture_output=True, text=True, timeout=180)


def new_workspace(path: Path) -> Path:
    """A workspace whose archiver.yaml names the operator: the importer."""
    made = subprocess.run([sys.executable, "-m", "archiver", "init", str(path), "--name", OPERATOR[0],
                           "--contact", OPERATOR[1], "--no-input"], check=False, capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    return path


def import_ok(ws: Path, source: Path, *flags: str) -> tuple[str, dict]:
    """Import ``source`` with the CLI, then verify the workspace: (capture id, its manifest)."""
    done = cli(ws, "import", str(source), "--json", *flags)
    assert done.returncode == 0, done.stderr
    capture_id = json.loads(done.stdout)["capture_id"]
    check = cli(ws, "verify")
    assert check.returncode == 0, check.stdout + check.stderr
    return capture_id, yaml.safe_load((ws / "manifests" / f"{capture_id}.yaml").read_text())


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".archiver" not in p.parts}


def no_none(value: object) -> bool:
    """Nothing in a mapping (at any depth) is null: no field was filled in with 'unknown'."""
    if isinstance(value, dict):
        return all(v is not None and no_none(v) for v in value.values())
    if isinstance(value, list):
        return all(no_none(v) for v in value)
    return True


# -- what the tools write -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The sample news site on loopback; yields the article's URL."""
    with sample_site(first=231) as running:
        yield running.url("news", ARTICLE_PATH)


def wget(out: Path, *urls: str, level: int = 1) -> Path:
    need("wget", WGET, "apt-get install -y wget")
    assert WGET is not None
    subprocess.run([WGET, f"--warc-file={out}", "--page-requisites", "--recursive", f"--level={level}",
                    "-e", "robots=off", "--no-verbose", "-P", str(out.parent / "files"), *urls],
                   env=NO_PROXY, check=False, capture_output=True, timeout=120)
    warc = out.with_name(out.name + ".warc.gz")
    assert warc.is_file()
    return warc


def warcio_capture(out: Path, *urls: str) -> Path:
    """A WARC written by warcio's capture_http while urllib fetches ``urls``."""
    from warcio.capture_http import capture_http

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with capture_http(str(out)):
        for url in urls:
            with opener.open(url, timeout=15) as reply:
                reply.read()
    return out


@pytest.fixture(scope="module")
def wget_warc(tmp_path_factory: pytest.TempPathFactory, site: str) -> Path:
    return wget(tmp_path_factory.mktemp("wget") / "crawl", site)


@pytest.fixture(scope="module")
def warcio_warc(tmp_path_factory: pytest.TempPathFactory, site: str) -> Path:
    base = site.rsplit("/articles/", 1)[0]
    return warcio_capture(tmp_path_factory.mktemp("warcio") / "crawl.warc.gz", site, base + "/media/harbour-800.png",
                          base + "/static/css/site.css")


def pywb_record(cwd: Path, *urls: str) -> Path:
    """The WARC pywb's recorder writes while its live handler fetches ``urls``."""
    from pywbkit import OPENER, wayback

    with wayback([], cwd, record=True) as base:
        for url in urls:
            with OPENER.open(f"{base}/coll/record/mp_/{url}", timeout=30) as reply:
                assert reply.status == 200
                reply.read()
    warcs = sorted((cwd / "collections" / "coll" / "archive").glob("*.warc.gz"))
    assert len(warcs) == 1
    return warcs[0]


# -- foreign WARCs: only what is known ----------------------------------------------------------

def test_a_wget_warc_imports_with_no_invented_fields(tmp_path: Path, wget_warc: Path, site: str) -> None:
    ws = new_workspace(tmp_path / "ws")
    capture_id, manifest = import_ok(ws, wget_warc)
    assert manifest["settings"] == {}                                  # no capture settings were used here
    assert manifest["operator"] == {"name": OPERATOR[0], "contact": OPERATOR[1]}    # the importer
    source = manifest["imported_from"]
    assert set(source) <= {"file", "sha256", "bytes", "format", "software", "files"}, source
    assert source["sha256"] == hashlib.sha256(wget_warc.read_bytes()).hexdigest()
    assert source["bytes"] == wget_warc.stat().st_size and source["file"] == wget_warc.name
    assert source["format"] == "warc.gz" and source["software"].startswith("Wget/")
    assert source["files"][0]["stored"] == manifest["warc_files"][0]["path"]
    assert no_none(source)
    assert any("settings is empty" in note and "operator is who imported it" in note for note in manifest["notes"])
    shown = cli(ws, "show", capture_id)
    assert shown.returncode == 0 and "Wget/" in shown.stdout, shown.stderr
    cited = cli(ws, "cite", site, "--style", "apa")
    assert cited.returncode == 0 and TITLE in cited.stdout and "(n.d.)" not in cited.stdout, cited.stdout


def test_a_warcio_warc_imports_and_verifies(tmp_path: Path, warcio_warc: Path, site: str) -> None:
    ws = new_workspace(tmp_path / "ws")
    capture_id, manifest = import_ok(ws, warcio_warc)
    assert manifest["settings"] == {} and "software" not in manifest["imported_from"]    # warcio wrote no warcinfo
    by_url = {r["url"]: r for r in manifest["resources"]}
    assert by_url[site]["role"] == "seed" and by_url[site]["status"] == 200
    assert len(by_url) == 3
    cited = cli(ws, "cite", site, "--style", "apa")
    assert cited.returncode == 0 and TITLE in cited.stdout, cited.stdout


def test_a_warc_pywbs_recorder_wrote_imports_and_verifies(tmp_path: Path, site: str) -> None:
    warc = pywb_record(tmp_path / "pywb", site)
    ws = new_workspace(tmp_path / "ws")
    _, manifest = import_ok(ws, warc)
    assert manifest["settings"] == {} and manifest["seeds"] == [site]
    assert manifest["imported_from"]["sha256"] == hashlib.sha256(warc.read_bytes()).hexdigest()
    cited = cli(ws, "cite", site, "--style", "apa")
    assert cited.returncode == 0 and TITLE in cited.stdout, cited.stdout


# -- WACZ as browsertrix packages it (py-wacz) ---------------------------------------------------

def wacz_create(out: Path, warc: Path) -> Path:
    need("py-wacz", WACZ.exists(), "pip install '.[test]'")
    done = subprocess.run([str(WACZ), "create", "-o", str(out), "-t", "--detect-pages", str(warc)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


def without_hash(package: Path, out: Path, suffix: str) -> tuple[Path, str]:
    """``package`` with the hash of the resource whose path ends in ``suffix`` taken out of
    datapackage.json (optional there), datapackage-digest.json updated to match."""
    with zipfile.ZipFile(package) as z:
        items = {i.filename: z.read(i) for i in z.infolist()}
    data = json.loads(items["datapackage.json"])
    entry = next(r for r in data["resources"] if r["path"].endswith(suffix))
    del entry["hash"]
    items["datapackage.json"] = json.dumps(data).encode()
    digest = json.loads(items["datapackage-digest.json"])
    digest["hash"] = "sha256:" + hashlib.sha256(items["datapackage.json"]).hexdigest()
    digest.pop("signedData", None)
    items["datapackage-digest.json"] = json.dumps(digest).encode()
    with zipfile.ZipFile(out, "w") as z:
        for name, blob in items.items():
            z.writestr(name, blob, zipfile.ZIP_STORED)
    return out, entry["path"]


def test_a_py_wacz_package_imports_also_when_a_file_has_no_hash(tmp_path: Path, warcio_warc: Path,
                                                                  site: str) -> None:
    package = wacz_create(tmp_path / "crawl.wacz", warcio_warc)
    ws = new_workspace(tmp_path / "ws")
    _, manifest = import_ok(ws, package)
    assert manifest["imported_from"]["format"] == "wacz" and "unhashed" not in manifest["imported_from"]
    assert manifest["seeds"] == [site]

    for suffix in (".cdx.gz", ".warc.gz"):       # the index file, as the sample; then the WARC itself
        unhashed, path = without_hash(package, tmp_path / f"unhashed{suffix}.wacz", suffix)
        other = new_workspace(tmp_path / f"ws{suffix}")
        _, manifest = import_ok(other, unhashed)
        assert manifest["imported_from"]["unhashed"] == [path]
        assert any("no hash for 1 file(s)" in note for note in manifest["notes"])


# -- status lines without a reason phrase ---------------------------------------------------------

PAGE = b"<!doctype html><title>No reason given</title><p>The status line had no reason phrase.</p>"


@pytest.fixture(scope="module")
def bare_status() -> Iterator[FaultServer]:
    """A server whose status lines have no reason phrase: ``HTTP/1.0 302 `` and ``HTTP/1.1 200``."""
    server = FaultServer("127.0.0.236", {
        "/moved": raw(b"HTTP/1.0 302 \r\nLocation: /page\r\nContent-Length: 0\r\n\r\n"),
        "/page": raw(b"HTTP/1.1 200\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                     % len(PAGE) + PAGE)})
    yield server
    server.stop()


@pytest.mark.parametrize("tool", ["wget", "warcio"])
def test_status_lines_without_a_reason_phrase_are_valid(tmp_path: Path, bare_status: FaultServer, tool: str) -> None:
    moved, page = bare_status.url("/moved"), bare_status.url("/page")
    if tool == "wget":
        warc = wget(tmp_path / "bare", moved, level=0)
    else:
        warc = warcio_capture(tmp_path / "bare.warc.gz", moved)
    statuses = [m.split(b"\r\n", 1)[0] for m in members(warc.read_bytes()) if b"WARC-Type: response" in m]
    assert any(s.endswith(b"HTTP/1.0 302 ") or b"HTTP/1.0 302 \r\n" in s for s in statuses) or statuses
    ws = new_workspace(tmp_path / "ws")
    _, manifest = import_ok(ws, warc)
    assert {(r["url"], r["status"]) for r in manifest["resources"]} == {(moved, 302), (page, 200)}
    looked = cli(ws, "lookup", moved, "--json")
    assert looked.returncode == 0 and json.loads(looked.stdout)["mementos"][0]["status"] == 302
    cited = cli(ws, "cite", moved, "--style", "apa")              # the redirect is followed to the page
    assert cited.returncode == 0 and "No reason given" in cited.stdout, cited.stdout + cited.stderr
    out = tmp_path / "page.html"
    extracted = cli(ws, "extract", page, "-o", str(out))
    assert extracted.returncode == 0 and out.read_bytes() == PAGE, extracted.stderr


# -- ARC files ---------------------------------------------------------------------------------------

def http_get(url: str) -> bytes:
    """The whole response to an HTTP/1.0 GET, as it came over the socket."""
    rest = url.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(f"GET /{path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n".encode())
        data = b""
        while piece := sock.recv(65536):
            data += piece
    return data


def arc_file(records: list[tuple[str, str, str, str, bytes]], *, framing: str = "members", version: int = 1,
             name: str = "IA-000001.arc", date: str = "20261120093000") -> bytes:
    """An ARC file as the ARC v1 spec lays it out: a filedesc:// record whose content is the version
    line and the field names, then each record's header line and content, each followed by a newline.
    ``framing``: plain, members (one gzip member per record, as the Internet Archive stores them) or
    whole (one gzip member)."""
    names = ("URL IP-address Archive-date Content-type Archive-length" if version == 1 else
             "URL IP-address Archive-date Content-type Result-code Checksum Location Offset Filename Archive-length")
    spec = f"{version} 0 Saltmarsh Test Crawl\n{names}\n".encode()
    parts = [f"filedesc://{name} 0.0.0.0 {date} text/plain {len(spec)}\n".encode() + spec + b"\n"]
    for url, address, when, mime, content in records:
        extra = "" if version == 1 else " 200 - - 0 " + name
        parts.append(f"{url} {address} {when} {mime}{extra} {len(content)}\n".encode() + content + b"\n")
    if framing == "plain":
        return b"".join(parts)
    if framing == "whole":
        return gzip.compress(b"".join(parts))
    return b"".join(gzip.compress(p) for p in parts)


@pytest.fixture(scope="module")
def arc_records(site: str) -> list[tuple[str, str, str, str, bytes]]:
    base = site.rsplit("/articles/", 1)[0]
    host = base.split("://", 1)[1].split(":", 1)[0]
    image = base + "/media/harbour-800.png"
    return [(f"dns:{host}", "127.0.0.53", "20261120093000", "text/dns", f"20261120093000\n{host}. 60 IN A {host}\n".encode()),
            (site, host, "20261120093001", "text/html", http_get(site)),
            (image, host, "20261120093002", "image/png", http_get(image))]


@pytest.mark.parametrize("framing,version", [("members", 1), ("plain", 1), ("whole", 1), ("members", 2)])
def test_arc_files_are_converted_record_for_record_and_verify(tmp_path: Path, arc_records: list, site: str,
                                                              framing: str, version: int) -> None:
    source = tmp_path / ("IA-000001.arc" + ("" if framing == "plain" else ".gz"))
    source.write_bytes(arc_file(arc_records, framing=framing, version=version))
    ws = new_workspace(tmp_path / "ws")
    capture_id, manifest = import_ok(ws, source)
    origin = manifest["imported_from"]
    assert origin["format"] == ("arc" if framing == "plain" else "arc.gz") and "software" not in origin
    assert origin["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert origin["conversion"]["from"] == f"ARC version {version}" and origin["conversion"]["records"] == 3
    assert origin["conversion"]["origin"] == "Saltmarsh Test Crawl" and manifest["settings"] == {}
    assert {r["url"]: r["status"] for r in manifest["resources"]} == {site: 200, arc_records[2][0]: 200}

    stored = members((ws / manifest["warc_files"][0]["path"]).read_bytes())
    kinds = [m.split(b"WARC-Type: ", 1)[1].split(b"\r\n", 1)[0] for m in stored]
    assert kinds == [b"warcinfo", b"resource", b"response", b"response", b"metadata"]
    for (_, _, _, _, content), record in zip(arc_records, stored[1:4]):
        head, _, rest = record.partition(b"\r\n\r\n")
        assert rest == content + b"\r\n\r\n"                  # the ARC record's bytes, exactly
    headers_block = stored[4].partition(b"\r\n\r\n")[2][:-4]
    assert headers_block.startswith(b"filedesc://IA-000001.arc ") and headers_block.count(b"\n") == 3 + 3
    cited = cli(ws, "cite", site, "--style", "apa")
    assert cited.returncode == 0 and TITLE in cited.stdout and "2026" in cited.stdout, cited.stdout


def test_arc_conversion_agrees_with_warcio_reading_the_same_arc(tmp_path: Path, arc_records: list) -> None:
    """warcio reads ARC files too: its records (URL, date, content) equal archiver's conversion's."""
    from warcio.archiveiterator import ArchiveIterator

    source = tmp_path / "IA-000001.arc.gz"
    source.write_bytes(arc_file(arc_records))
    ws = new_workspace(tmp_path / "ws")
    _, manifest = import_ok(ws, source)

    def records(path: Path, **kw: bool) -> list[tuple[str, str, bytes]]:
        with open(path, "rb") as fh:
            return [(r.rec_headers.get_header("WARC-Target-URI"), r.rec_headers.get_header("WARC-Date")[:19],
                     r.raw_stream.read()) for r in ArchiveIterator(fh, **kw)
                    if r.rec_type in ("response", "resource")]

    theirs = records(source, arc2warc=True)
    ours = records(ws / manifest["warc_files"][0]["path"])
    assert len(ours) == 3 and ours == theirs


@pytest.mark.parametrize("damage,reason", [
    ("truncated", "the file ends inside"),
    ("date", "is not 14 digits"),
    ("length", "is not a decimal number of bytes"),
    ("fields", "has not the 5 fields"),
    ("start", "not an ARC file"),
])
def test_a_damaged_arc_file_is_refused_naming_the_record(tmp_path: Path, arc_records: list, damage: str,
                                                        reason: str) -> None:
    good = arc_file(arc_records, framing="plain")
    second = good.index(arc_records[1][0].encode() + b" ")       # the article's header line
    bad = {"truncated": good[:-40],
           "date": good.replace(b" 20261120093001 ", b" 2026-11-20 "),
           "length": good[:second] + good[second:].replace(b"text/html ", b"text/html -", 1),
           "fields": good.replace(b" text/html ", b" ", 1),
           "start": good[good.index(b"\n\n") + 2:]}[damage]
    source = tmp_path / "damaged.arc"
    source.write_bytes(bad)
    ws = new_workspace(tmp_path / "ws")
    before = files_of(ws)
    done = cli(ws, "import", str(source))
    assert done.returncode == 2 and done.stdout == "", done.stderr
    line = done.stderr.strip()
    assert line.count("\n") == 0 and "damaged.arc at offset" in line and reason in line, line
    if damage not in ("truncated", "start"):
        assert f"at offset {second}:" in line                # the record's own offset
    assert files_of(ws) == before
    assert cli(ws, "import", str(source), "--lenient").returncode == 2     # converted, so never as-is


# -- damaged WARC files: refused, or with --lenient imported as they came -----------------------

def flip_in_member(data: bytes, n: int, old: bytes, new: bytes) -> tuple[bytes, int, str]:
    """``data`` (gzip per record) with ``old`` replaced by ``new`` in the body of member ``n``; the
    member's offset and record id."""
    parts = members(data)
    offsets = [0]
    for p in parts:
        offsets.append(offsets[-1] + len(gzip.compress(p)))
    assert old in parts[n].partition(b"\r\n\r\n")[2]
    record_id = parts[n].split(b"WARC-Record-ID: ", 1)[1].split(b"\r\n", 1)[0].decode()
    parts[n] = parts[n][:parts[n].index(b"\r\n\r\n")] + parts[n][parts[n].index(b"\r\n\r\n"):].replace(old, new, 1)
    rebuilt = [gzip.compress(p) for p in parts]
    return b"".join(rebuilt), sum(len(r) for r in rebuilt[:n]), record_id


def response_members(data: bytes, needle: bytes) -> int:
    return next(i for i, m in enumerate(members(data)) if b"WARC-Type: response" in m and needle in m)


def test_a_damaged_warc_is_refused_or_imported_as_it_came_with_every_defect(tmp_path: Path,
                                                                          warcio_warc: Path, site: str) -> None:
    data = warcio_warc.read_bytes()
    n = response_members(data, b"harbour dredging contract")
    damaged, offset, record_id = flip_in_member(data, n, b"harbour dredging contract", b"harbour dredging CONTRACT")
    source = tmp_path / "damaged.warc.gz"
    source.write_bytes(damaged)
    ws = new_workspace(tmp_path / "ws")
    before = files_of(ws)
    refused = cli(ws, "import", str(source))
    assert refused.returncode == 2 and files_of(ws) == before
    assert f"damaged.warc.gz at offset {offset} (record {record_id}): payload digest mismatch" in refused.stderr \
        or f"damaged.warc.gz at offset {offset} (record {record_id}): block digest mismatch" in refused.stderr, \
        refused.stderr

    capture_id, manifest = import_ok(ws, source, "--lenient")
    stored = ws / manifest["warc_files"][0]["path"]
    assert stored.read_bytes() == damaged                                  # as it came, never repaired
    defects = manifest["imported_from"]["files"][0]["defects"]
    assert [(d["offset"], d["record_id"]) for d in defects] == [(offset, record_id)]
    assert "digest mismatch" in defects[0]["reason"]
    assert site not in {r["url"] for r in manifest["resources"]}          # the damaged record is not listed
    assert any("--lenient" in note for note in manifest["notes"])
    check = cli(ws, "verify")
    assert check.returncode == 0 and "imported with --lenient: 1 defect(s)" in check.stdout + check.stderr

    stored.chmod(0o644)
    with open(stored, "r+b") as fh:                                        # changed after the import: an error
        fh.seek(5)
        byte = fh.read(1)
        fh.seek(5)
        fh.write(bytes([byte[0] ^ 1]))
    assert cli(ws, "verify").returncode == 1


def test_a_truncated_warc_is_refused_or_imported_with_its_end_recorded(tmp_path: Path, wget_warc: Path) -> None:
    data = wget_warc.read_bytes()
    cut = data[:len(data) - 300]
    source = tmp_path / "cut.warc.gz"
    source.write_bytes(cut)
    ws = new_workspace(tmp_path / "ws")
    refused = cli(ws, "import", str(source))
    assert refused.returncode == 2 and "cut.warc.gz at offset" in refused.stderr and "truncated" in refused.stderr
    _, manifest = import_ok(ws, source, "--lenient")
    assert (ws / manifest["warc_files"][0]["path"]).read_bytes() == cut
    defects = manifest["imported_from"]["files"][0]["defects"]
    assert len(defects) == 1 and "truncated" in defects[0]["reason"] and defects[0]["offset"] > 0


def test_an_uncompressed_warc_with_a_wrong_length_keeps_every_byte_with_lenient(tmp_path: Path,
                                                                                warcio_warc: Path) -> None:
    records = members(warcio_warc.read_bytes())
    n = next(i for i, m in enumerate(records) if b"WARC-Type: response" in m and b"image/png" in m)
    length = int(records[n].split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0])
    records[n] = records[n].replace(f"Content-Length: {length}\r\n".encode(), f"Content-Length: {length - 7}\r\n".encode(), 1)
    plain = b"".join(records)
    source = tmp_path / "plain.warc"
    source.write_bytes(plain)
    ws = new_workspace(tmp_path / "ws")
    refused = cli(ws, "import", str(source))
    assert refused.returncode == 2 and "Content-Length" in refused.stderr, refused.stderr
    _, manifest = import_ok(ws, source, "--lenient")
    stored = (ws / manifest["warc_files"][0]["path"]).read_bytes()
    assert b"".join(members(stored)) == plain                          # re-framed, not one byte changed
    assert manifest["imported_from"]["files"][0]["reframed"] is True
    assert manifest["imported_from"]["files"][0]["defects"]


# -- a revisit cites through the record it refers to --------------------------------------------

def test_a_page_whose_newest_copy_is_a_revisit_cites_with_its_title_and_date(tmp_path: Path) -> None:
    orig = Workspace(tmp_path / "orig")
    with sample_site(first=241) as running:          # twice: the unchanged article is a revisit the second time
        article = running.url("news", ARTICLE_PATH)
        first = capture([article], orig, CaptureOptions(timeout=10, depth=0))
        second = capture([article], orig, CaptureOptions(timeout=10, depth=0))
    assert next(r for r in second.resources if r.url == article).revisit_of is not None
    both = tmp_path / "both.warc.gz"
    both.write_bytes((orig.root / first.warc_files[0].path).read_bytes()
                     + (orig.root / second.warc_files[0].path).read_bytes())
    ws = new_workspace(tmp_path / "ws")
    capture_id, manifest = import_ok(ws, both)
    newest = [r for r in manifest["resources"] if r["url"] == article][-1]
    assert newest["revisit_of"] and "metadata" not in newest       # the revisit's record holds no page
    cited = cli(ws, "cite", article, "--style", "apa")
    assert cited.returncode == 0, cited.stderr
    assert TITLE in cited.stdout and "(2026, November 20)" in cited.stdout and "(n.d.)" not in cited.stdout, cited.stdout
    found = cli(ws, "search", "dredging", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["results"]
    assert hits and all(TITLE in json.dumps(hit, ensure_ascii=False) for hit in hits)


def test_an_imported_pdf_cites_with_the_documents_own_title_and_author(serve, tmp_path: Path) -> None:
    """A PDF in an imported WARC file is described from its own info dictionary, as a captured one is."""
    from pdf_files import one_page_pdf

    from archiver.demo.server import Host, Response

    pdf = one_page_pdf([(18, "Harbour committee minutes")],
                       {"Title": "Minutes of the harbour committee", "Author": "Saltmarsh Town Council",
                        "CreationDate": "D:20261104090000Z"})
    site = serve([Host("docs", "127.0.0.195", routes={"/minutes.pdf": Response(200, [
        ("Content-Type", "application/pdf")], pdf)})])
    url = site.url("docs", "/minutes.pdf")
    first = Workspace(tmp_path / "first")
    result = capture([url], first, CaptureOptions(depth=0, timeout=10))
    warc = next(first.root.glob("archive/*.warc.gz"))
    assert result.resources[0].metadata and result.resources[0].metadata["title"]["value"] == \
        "Minutes of the harbour committee"
    ws = new_workspace(tmp_path / "second")
    capture_id, manifest = import_ok(ws, warc)
    (resource,) = [r for r in manifest["resources"] if r["url"] == url]
    assert resource["metadata"]["title"]["value"] == "Minutes of the harbour committee"
    cited = cli(ws, "cite", url, "--style", "csl-json")
    assert cited.returncode == 0, cited.stderr
    (item,) = json.loads(cited.stdout)
    assert item["title"] == "Minutes of the harbour committee"
    assert item["author"] == [{"literal": "Saltmarsh Town Council"}] or \
        any("Saltmarsh" in json.dumps(a) for a in item["author"])
