"""Importing captures made by other tools: real wget and py-wacz against the sample site on loopback,
then archiver's own commands on the imported capture; corrupt inputs refused, the workspace untouched."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
import yaml

from archiver import capture
from archiver.core.errors import UsageError
from archiver.core.models import Role
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.transfer.importer import import_archive

WGET = "/usr/bin/wget"
BIN = Path(sys.executable).parent
PHRASE = "eleven votes to four"


def cli(ws: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archiver", "-w", str(ws), *args],
                          check=False, capture_output=True, text=True, timeout=120)


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its sha256: the workspace as it is."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def members(path: Path) -> list[bytes]:
    """The decompressed bytes of each gzip member of ``path``."""
    data, out = path.read_bytes(), []
    while data:
        d = zlib.decompressobj(31)
        out.append(d.decompress(data))
        assert d.eof
        data = d.unused_data
    return out


def gzip_members(records: list[bytes]) -> bytes:
    return b"".join(gzip.compress(r) for r in records)


@pytest.fixture(scope="module")
def wget_warc(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A WARC written by real wget crawling the sample site; and the article's URL."""
    if not Path(WGET).exists():
        pytest.skip("wget not installed")
    out = tmp_path_factory.mktemp("wget")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()} | {"no_proxy": "*"}
    with sample_site() as site:
        article = site.url("news", ARTICLE_PATH)
        subprocess.run([WGET, f"--warc-file={out / 'w'}", "--page-requisites", "--recursive", "--level=1",
                        "--span-hosts", "-e", "robots=off", "--no-verbose", "-P", str(out / "files"), article],
                       env=env, check=False, capture_output=True, timeout=120)
    warc = out / "w.warc.gz"
    assert warc.is_file() and warc.stat().st_size > 10_000
    return warc, article


@pytest.fixture(scope="module")
def archiver_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, str]:
    ws = Workspace(tmp_path_factory.mktemp("orig") / "ws")
    with sample_site() as site:
        article = site.url("news", ARTICLE_PATH)
        result = capture([article], ws, CaptureOptions(timeout=10))
    assert result.ok, result.seed_problems
    return ws, article


def manifest_of(ws: Workspace, capture_id: str) -> dict:
    return yaml.safe_load(ws.manifest_path(capture_id).read_text())


# -- (1) wget's WARC, then lookup, cite, search and verify -------------------------------------------

def test_wget_warc_imports_and_every_command_finds_the_article(tmp_path: Path, wget_warc) -> None:
    source, article = wget_warc
    ws = Workspace(tmp_path / "ws")
    result = import_archive(ws, source)
    assert result.seeds == (article,) and result.ok
    by_url = {r.url: r for r in result.resources}
    assert by_url[article].role is Role.SEED and by_url[article].status == 200
    assert by_url[article].metadata and by_url[article].text and by_url[article].remote_address == "127.0.0.11"
    assert by_url[article].warc_payload_digest.startswith("sha1:")      # wget's own digest, kept as written
    assert any(r.role is Role.REQUISITE for r in result.resources)
    redirects = [r for r in result.resources if r.status == 301]
    assert redirects and all(r.location for r in redirects)

    stored = ws.root / result.warc_files[0].path
    assert stored.read_bytes() == source.read_bytes()                  # gzipped per record already: as it came
    data = manifest_of(ws, result.capture_id)
    assert data["imported_from"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert data["imported_from"]["format"] == "warc.gz"
    assert data["imported_from"]["software"].startswith("Wget/")
    assert [w["path"] for w in data["warc_files"]] == [f"archive/{result.capture_id}-00000.warc.gz",
                                                       f"archive/{result.capture_id}-derived.warc.gz"]

    look = cli(ws.root, "lookup", article, "--json")
    assert look.returncode == 0, look.stderr
    mementos = json.loads(look.stdout)["mementos"]
    assert [(m["url"], m["status"], m["capture_id"]) for m in mementos] == [(article, 200, result.capture_id)]
    cite = cli(ws.root, "cite", article, "--style", "apa")
    assert cite.returncode == 0, cite.stderr
    assert "harbour dredging contract" in cite.stdout and result.capture_id in cite.stdout
    found = cli(ws.root, "search", PHRASE, "--json")
    assert found.returncode == 0, found.stderr
    assert article in found.stdout
    check = cli(ws.root, "verify")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "intact" in check.stdout


def test_stored_text_is_a_conversion_record_of_the_article(tmp_path: Path, wget_warc) -> None:
    source, article = wget_warc
    ws = Workspace(tmp_path / "ws")
    result = import_archive(ws, source)
    res = next(r for r in result.resources if r.url == article)
    derived = ws.archive_dir / f"{result.capture_id}-derived.warc.gz"
    with open(derived, "rb") as fh:
        fh.seek(res.text.offset)
        record = gzip.decompress(fh.read(res.text.length))
    head, _, body = record.partition(b"\r\n\r\n")
    assert b"WARC-Type: conversion" in head and f"WARC-Refers-To: {res.record_id}".encode() in head
    assert PHRASE in body.decode("utf-8")
    entry = next(r for r in manifest_of(ws, result.capture_id)["resources"] if r["url"] == article)
    assert entry["text"]["warc"] == f"archive/{derived.name}"


# -- (2) a WACZ round trip ---------------------------------------------------------------------------

def make_wacz(ws: Workspace, capture_id: str, seed: str, out: Path) -> Path:
    """A WACZ of one capture as archiver wrote them before its packages carried a segment file
    (archiver/chain.yaml): imported as any other tool's WACZ. (With the segment file, archiver's own
    packages are imported losslessly, ids and seals kept: tests/test_package_import.py.)"""
    from archiver.core.settings import Settings
    from archiver.transfer.wacz_export import export_wacz

    full = export_wacz(ws, [capture_id], out.with_suffix(".full.wacz"), Settings())
    with zipfile.ZipFile(full) as zin:
        members = {i.filename: zin.read(i) for i in zin.infolist() if not i.filename.startswith("archiver/chain.yaml")}
    listing = json.loads(members["datapackage.json"])
    listing["resources"] = [r for r in listing["resources"] if r["path"] in members]
    members["datapackage.json"] = json.dumps(listing, indent=2).encode("utf-8")
    digest = hashlib.sha256(members["datapackage.json"]).hexdigest()
    members["datapackage-digest.json"] = json.dumps({"path": "datapackage.json", "hash": f"sha256:{digest}"}).encode()
    with zipfile.ZipFile(out, "w") as zout:
        for name, data in members.items():
            zout.writestr(name, data, zipfile.ZIP_STORED if name.startswith("archive/") else zipfile.ZIP_DEFLATED)
    return out


def _key(res: dict) -> tuple:
    return res["url"], res["status"], res["payload_sha256"], res["record_id"]


def _mementos(lookup_json: str) -> list[tuple]:
    return [(m["url"], m["status"], m["payload_sha256"]) for m in json.loads(lookup_json)["mementos"]]


def test_wacz_round_trip_keeps_every_memento(tmp_path: Path, archiver_capture) -> None:
    orig, article = archiver_capture
    capture_id = orig.manifest_paths()[0].stem
    package = make_wacz(orig, capture_id, article, tmp_path / "orig.wacz")
    ws = Workspace(tmp_path / "ws")
    result = import_archive(ws, package)
    with zipfile.ZipFile(package) as z:
        listed = [json.loads(line).get("url") for line in z.read("pages/pages.jsonl").splitlines()[1:]]
    assert result.seeds[0] == article and list(result.seeds) == listed       # the seeds come from pages.jsonl
    original = manifest_of(orig, capture_id)["resources"]
    imported = manifest_of(ws, result.capture_id)
    assert sorted(map(_key, imported["resources"])) == sorted(map(_key, original))
    assert imported["imported_from"]["format"] == "wacz"
    for url in {article, *(r["url"] for r in original[:8])}:
        before, after = cli(orig.root, "lookup", url, "--json"), cli(ws.root, "lookup", url, "--json")
        assert before.returncode == 0 and after.returncode == 0, after.stderr
        assert _mementos(after.stdout) == _mementos(before.stdout)
    check = cli(ws.root, "verify")
    assert check.returncode == 0, check.stdout + check.stderr


def rewrite_zip(src: Path, out: Path, change: dict[str, bytes | None], extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = change.get(info.filename, zin.read(info)) if info.filename in change else zin.read(info)
            if data is not None:
                zout.writestr(info, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return out


def test_wacz_with_a_tampered_file_or_escaping_path_is_refused(tmp_path: Path, archiver_capture) -> None:
    orig, article = archiver_capture
    package = make_wacz(orig, orig.manifest_paths()[0].stem, article, tmp_path / "orig.wacz")
    ws = Workspace(tmp_path / "ws")
    before = snapshot(ws.root)
    with zipfile.ZipFile(package) as z:
        pages = z.read("pages/pages.jsonl")
        datapackage = z.read("datapackage.json")
    tampered = rewrite_zip(package, tmp_path / "t.wacz", {"pages/pages.jsonl": pages.replace(b"article", b"articl3")})
    with pytest.raises(UsageError, match="pages/pages.jsonl does not match"):
        import_archive(ws, tampered)
    relisted = rewrite_zip(package, tmp_path / "d.wacz", {"datapackage.json": datapackage + b" "})
    with pytest.raises(UsageError, match="datapackage.json does not match datapackage-digest.json"):
        import_archive(ws, relisted)
    escaping = rewrite_zip(package, tmp_path / "e.wacz", {}, {"../../evil.txt": b"x"})
    with pytest.raises(UsageError, match="leaves it"):
        import_archive(ws, escaping)
    assert snapshot(ws.root) == before
    assert not (tmp_path / "evil.txt").exists()


# -- (3) corrupt inputs ------------------------------------------------------------------------------

def record_id_of(record: bytes) -> str:
    for line in record.split(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"warc-record-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no record id")


def test_truncated_and_altered_warcs_are_refused_and_the_workspace_is_unchanged(tmp_path: Path, wget_warc) -> None:
    source, article = wget_warc
    ws = Workspace(tmp_path / "ws")
    import_archive(ws, source)                      # a workspace with a capture in it already
    before = snapshot(ws.root)

    raw = source.read_bytes()
    records = members(source)
    lengths, pos = [], 0
    d = raw
    while d:                                         # compressed member boundaries of the real file
        z = zlib.decompressobj(31)
        z.decompress(d)
        used = len(d) - len(z.unused_data)
        lengths.append((pos, used))
        pos, d = pos + used, z.unused_data
    victim = next(i for i, r in enumerate(records) if b"WARC-Type: response" in r and article.encode() in r)
    cut_at, length = lengths[victim]
    truncated = tmp_path / "truncated.warc.gz"
    truncated.write_bytes(raw[: cut_at + length // 2])
    with pytest.raises(UsageError) as refused:
        import_archive(ws, truncated)
    message = str(refused.value)
    assert f"offset {cut_at}" in message and record_id_of(records[victim]) in message and "truncated" in message

    index = next(i for i, r in enumerate(records) if b"WARC-Type: response" in r and article.encode() in r)
    body_at = records[index].index(b"harbour dredging")
    altered = bytearray(records[index])
    altered[body_at] ^= 0x20                          # 'h' -> 'H': one payload byte
    flipped = tmp_path / "flipped.warc.gz"
    flipped.write_bytes(gzip_members(records[:index] + [bytes(altered)] + records[index + 1:]))
    with pytest.raises(UsageError) as refused:
        import_archive(ws, flipped)
    assert record_id_of(records[index]) in str(refused.value) and "digest" in str(refused.value)

    done = cli(ws.root, "import", str(flipped))
    assert done.returncode == 2 and record_id_of(records[index]) in done.stderr
    assert snapshot(ws.root) == before


def test_archiver_warc_with_a_flipped_byte_is_refused(tmp_path: Path, archiver_capture) -> None:
    orig, _ = archiver_capture
    warc = orig.root / manifest_of(orig, orig.manifest_paths()[0].stem)["warc_files"][0]["path"]
    records = members(warc)
    index = next(i for i, r in enumerate(records) if b"WARC-Type: response" in r and b"harbour dredging" in r)
    altered = bytearray(records[index])
    altered[altered.index(b"harbour dredging")] ^= 0x20
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(gzip_members(records[:index] + [bytes(altered)] + records[index + 1:]))
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(UsageError, match="digest") as refused:
        import_archive(ws, bad)
    assert record_id_of(records[index]) in str(refused.value)
    assert snapshot(ws.root) == {}


# -- (4) uncompressed and whole-file gzip WARCs ------------------------------------------------------

def warcio_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "warcio"), "check", "-v", str(path)], check=False, capture_output=True, text=True)


@pytest.mark.parametrize("framing", ["warc", "whole-gzip"])
def test_uncompressed_or_whole_gzip_warc_is_stored_one_member_per_record(tmp_path: Path, wget_warc,
                                                                          framing: str) -> None:
    source, article = wget_warc
    plain = b"".join(members(source))
    if framing == "warc":
        given = tmp_path / "w.warc"
        given.write_bytes(plain)
    else:
        given = tmp_path / "w-whole.warc.gz"
        given.write_bytes(gzip.compress(plain))
    ws = Workspace(tmp_path / "ws")
    result = import_archive(ws, given)
    stored = ws.root / result.warc_files[0].path
    parts = members(stored)
    assert len(parts) == len(members(source))          # one gzip member per record
    assert b"".join(parts) == plain                     # only the framing changed, never a byte of a record
    check = warcio_check(stored)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "fail" not in check.stdout
    data = manifest_of(ws, result.capture_id)
    assert data["imported_from"]["sha256"] == hashlib.sha256(given.read_bytes()).hexdigest()
    assert data["imported_from"]["files"][0]["reframed"] is True
    assert result.seeds == (article,)
    check = cli(ws.root, "verify")
    assert check.returncode == 0, check.stdout + check.stderr


def test_not_a_warc_is_refused(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    junk = tmp_path / "junk.warc"
    junk.write_bytes(b"hello, this is not a WARC file\r\n\r\n")
    with pytest.raises(UsageError, match="junk.warc"):
        import_archive(ws, junk)
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(UsageError, match="not a .warc"):
        import_archive(ws, other)
    assert snapshot(ws.root) == {}


def test_revisits_resolve_within_the_import_and_are_kept_without_an_original(tmp_path: Path) -> None:
    orig = Workspace(tmp_path / "orig")
    with sample_site() as site:       # twice in one run: unchanged payloads of the second become revisits
        first = capture([site.url("news", ARTICLE_PATH)], orig, CaptureOptions(timeout=10))
        second = capture([site.url("news", ARTICLE_PATH)], orig, CaptureOptions(timeout=10))
    revisits = [r for r in second.resources if r.revisit_of is not None]
    assert revisits
    alone = import_archive(Workspace(tmp_path / "alone"), orig.root / second.warc_files[0].path)
    imported = {r.record_id: r for r in alone.resources}
    for r in revisits:
        assert imported[r.record_id].revisit_of is None and imported[r.record_id].warc_payload_digest is None
    assert any("revisit" in n for n in manifest_of(Workspace(tmp_path / "alone"), alone.capture_id)["notes"])

    both = tmp_path / "both.warc.gz"          # per-record gzip files concatenate into one valid file
    both.write_bytes((orig.root / first.warc_files[0].path).read_bytes()
                     + (orig.root / second.warc_files[0].path).read_bytes())
    ws = Workspace(tmp_path / "both")
    result = import_archive(ws, both)
    imported = {r.record_id: r for r in result.resources}
    for r in revisits:
        got = imported[r.record_id]
        assert got.revisit_of is not None and got.revisit_of.record_id == r.revisit_of.record_id
        assert got.revisit_of.capture_id == result.capture_id and got.payload_sha256 == r.payload_sha256
    check = cli(ws.root, "verify")
    assert check.returncode == 0, check.stdout + check.stderr


# -- importing what is already there -------------------------------------------------------------

def test_importing_the_same_warc_or_wacz_again_writes_nothing_and_names_the_capture(
        tmp_path: Path, wget_warc, archiver_capture) -> None:
    orig, article = archiver_capture
    package = make_wacz(orig, orig.manifest_paths()[0].stem, article, tmp_path / "orig.wacz")
    ws = tmp_path / "ws"
    for source in (wget_warc[0], package):
        first = cli(ws, "import", str(source), "--json")
        assert first.returncode == 0, first.stderr
        capture_id = json.loads(first.stdout)["capture_id"]
        before = snapshot(ws)
        again = cli(ws, "import", str(source))
        assert again.returncode == 0, again.stderr
        assert again.stdout == f"{source.name}: already imported as capture {capture_id}; nothing written\n"
        assert again.stderr == ""
        assert snapshot(ws) == before                       # not one byte written
        as_json = cli(ws, "import", str(source), "--json")
        assert as_json.returncode == 0 and json.loads(as_json.stdout)["already_imported_as"] == capture_id
    assert len(Workspace(ws).manifest_paths()) == 2         # one capture per file, not four
    copy = tmp_path / "renamed-copy.warc.gz"                # the same bytes under another name: the same file
    copy.write_bytes(wget_warc[0].read_bytes())
    assert "already imported as capture" in cli(ws, "import", str(copy)).stdout
    changed = tmp_path / "other.warc.gz"                    # other bytes: a new capture
    changed.write_bytes(wget_warc[0].read_bytes() + gzip.compress(b""))
    other = cli(ws, "import", str(changed), "--json")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["capture_id"] not in {p.stem for p in Workspace(ws).manifest_paths()[:2]}
    assert len(Workspace(ws).manifest_paths()) == 3
