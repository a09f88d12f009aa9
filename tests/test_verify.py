"""verify: every kind of damage is detected and named; intact workspaces pass."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archiver import capture
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response

ARCHIVER = [sys.executable, "-m", "archiver"]
HTML = [("Content-Type", "text/html; charset=utf-8")]


def verify_cli(ws: Workspace, *args: str) -> tuple[int, str, dict]:
    proc = subprocess.run([*ARCHIVER, "-w", str(ws.root), "verify", *args], capture_output=True, text=True)
    out = subprocess.run([*ARCHIVER, "-w", str(ws.root), "verify", "--json", *args], capture_output=True, text=True)
    return proc.returncode, proc.stdout, json.loads(out.stdout)


@pytest.fixture
def site(serve):
    return serve([Host("h", "127.0.0.71", routes={
        "/a": Response(200, HTML, b'<p>first article text</p><img src="/i.png"><a href="/b">b</a>'),
        "/b": Response(200, HTML, b"<p>second page text</p>"),
        "/i.png": Response(200, [("Content-Type", "image/png")], b"\x89PNG" + bytes(range(256)) * 4),
    })])


def three_captures(site, ws: Workspace) -> list:
    return [capture([site.url("h", "/a")], ws, CaptureOptions(timeout=5, dedup=False)) for _ in range(3)]


def test_intact_unsigned_workspace_passes_and_says_unsigned(site, workspace: Workspace) -> None:
    results = three_captures(site, workspace)
    code, text, report = verify_cli(workspace)
    assert code == 0, text
    assert "all sealed captures intact" in text and "unsigned workspace" in text
    assert report["captures"] == sorted(r.capture_id for r in results)
    assert report["chain_head"]["capture_id"] == results[-1].capture_id and report["chain_head"]["sequence"] == 3
    from warc_reading import read_records

    records = sum(len(read_records(workspace.root / w.path)) for r in results for w in r.warc_files)
    assert records >= 3 * (1 + 2 * 4)            # warcinfo, 4 exchanges (a, i.png, robots, b), conversions
    assert report["records_checked"] == records
    quick, _, qreport = verify_cli(workspace, "--quick")
    assert quick == 0 and qreport["bytes_hashed"] == 0


def rewrite_member(path: Path, offset: int, length: int, edit) -> None:
    raw = path.read_bytes()
    record = gzip.decompress(raw[offset:offset + length])
    path.write_bytes(raw[:offset] + gzip.compress(edit(record)) + raw[offset + length:])


def test_one_flipped_payload_byte_names_file_and_record(site, workspace: Workspace) -> None:
    results = three_captures(site, workspace)
    target = results[1]
    res = next(r for r in target.resources if r.url.endswith("/a"))
    warc = workspace.root / res.warc

    def flip(record: bytes) -> bytes:
        i = record.index(b"first article")
        return record[:i] + b"F" + record[i + 1:]

    rewrite_member(warc, res.offset, res.length, flip)
    code, text, report = verify_cli(workspace)
    assert code == 1
    line = next(l for l in text.splitlines() if "payload digest mismatch" in l)
    assert res.warc in line and res.record_id in line and res.url in line
    assert any("block digest mismatch" in p["message"] for p in report["problems"])
    assert all(p["capture_id"] == target.capture_id for p in report["problems"] if p["severity"] == "error")


def test_a_flipped_byte_in_the_compressed_file(site, workspace: Workspace) -> None:
    results = three_captures(site, workspace)
    warc = workspace.root / results[0].warc_files[0].path
    data = bytearray(warc.read_bytes())
    data[len(data) // 2] ^= 0xFF
    warc.write_bytes(bytes(data))
    code, text, _ = verify_cli(workspace)
    assert code == 1 and results[0].warc_files[0].path in text
    assert "sha256 is" in text


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("member", ["response", "request"])
def test_corrupt_gzip_data_names_the_record_it_belongs_to(site, workspace: Workspace, workers: str,
                                                          member: str) -> None:
    """Bit rot inside a member's compressed bytes breaks its CRC: the record is named all the same."""
    result = three_captures(site, workspace)[0]
    image = next(r for r in result.resources if r.url.endswith("/i.png"))
    warc = workspace.root / image.warc
    data = bytearray(warc.read_bytes())
    if member == "response":
        data[image.offset + image.length - 40] ^= 0x01    # inside the PNG's stored bytes
        expected = image.record_id
    else:
        data[image.offset - 30] ^= 0x01                   # inside the request record written before it
        expected = image.request_record_id
    warc.write_bytes(bytes(data))
    code, text, report = verify_cli(workspace, "--workers", workers)
    assert code == 1
    corrupt = [p for p in report["problems"] if "gzip data corrupt" in p["message"]]
    assert len(corrupt) == 1 and corrupt[0]["path"] == image.warc
    assert (corrupt[0]["record_id"], corrupt[0]["url"]) == (expected, image.url)
    assert expected in text and image.url in text


def test_truncated_warc(site, workspace: Workspace) -> None:
    results = three_captures(site, workspace)
    warc = workspace.root / results[2].warc_files[0].path
    with open(warc, "r+b") as fh:
        fh.truncate(warc.stat().st_size - 100)
    code, text, _ = verify_cli(workspace)
    assert code == 1
    assert "size is" in text and "truncated" in text
    quick, qtext, _ = verify_cli(workspace, "--quick")
    assert quick == 1 and "size is" in qtext


def test_deleted_middle_manifest_breaks_the_chain_by_name(site, workspace: Workspace) -> None:
    first, middle, last = three_captures(site, workspace)
    (workspace.root / middle.manifest_path).unlink()
    code, text, _ = verify_cli(workspace, "--quick")
    assert code == 1
    assert f"chain broken: capture {middle.capture_id} is missing (capture {last.capture_id} follows it)" in text
    assert "orphan" in text                       # its WARC file and checksum list are now unowned


def test_edited_resource_digest_in_a_manifest(site, workspace: Workspace) -> None:
    results = three_captures(site, workspace)
    path = workspace.root / results[0].manifest_path
    text = path.read_text()
    digest = results[0].resources[0].payload_sha256
    path.write_text(text.replace(digest, "f" * 64, 1))
    code, out, _ = verify_cli(workspace)
    assert code == 1
    assert f"manifest edited: manifests/{results[0].capture_id}.yaml has sha256" in out     # chain
    assert "the checksum list sealed with it says" in out                                  # own seal
    assert "manifest's payload_sha256 is " + "f" * 64 in out                               # record


def test_a_manifest_edited_into_nonsense_is_reported(site, workspace: Workspace) -> None:
    results = three_captures(site, workspace)
    path = workspace.root / results[0].manifest_path
    path.write_text(path.read_text().replace(results[0].resources[0].payload_sha256, "0" * 64, 1))
    code, out, _ = verify_cli(workspace)      # YAML reads 000...0 as the number 0
    assert code == 1 and "resources[0].payload_sha256 is missing or not a str" in out


def test_edited_signed_manifest_fails_its_signature(site, workspace: Workspace) -> None:
    workspace.ensure()                  # keygen signs for a workspace; it no longer makes one
    subprocess.run([*ARCHIVER, "-w", str(workspace.root), "keygen"], check=True, capture_output=True)
    assert (workspace.private_key_path.stat().st_mode & 0o777) == 0o600
    results = three_captures(site, workspace)
    code, text, report = verify_cli(workspace)
    assert code == 0 and len(report["signed"]) == 3
    # an editor who also fixes the checksum list still cannot forge the signature
    last = results[-1]
    manifest = workspace.root / last.manifest_path
    data = yaml.safe_load(manifest.read_text())
    data["operator"]["name"] = "Someone Else"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    import hashlib

    checksums = workspace.checksum_path(last.capture_id)
    lines = [l for l in checksums.read_text().splitlines() if not l.endswith(".yaml")]
    lines.append(f"{hashlib.sha256(manifest.read_bytes()).hexdigest()}  {last.manifest_path}")
    checksums.write_text("\n".join(lines) + "\n")
    code, text, _ = verify_cli(workspace)
    assert code == 1 and "invalid signature" in text and last.capture_id in text


def test_trusted_key_from_elsewhere(site, workspace: Workspace, tmp_path: Path) -> None:
    other = Workspace(tmp_path / "other")
    other.ensure()
    subprocess.run([*ARCHIVER, "-w", str(other.root), "keygen"], check=True, capture_output=True)
    workspace.ensure()                  # keygen signs for a workspace; it no longer makes one
    subprocess.run([*ARCHIVER, "-w", str(workspace.root), "keygen"], check=True, capture_output=True)
    three_captures(site, workspace)
    code, text, _ = verify_cli(workspace, "--trusted-key", str(other.public_key_path))
    assert code == 1 and text.count("invalid signature") == 3


def test_orphans_are_warnings_not_failures(site, workspace: Workspace) -> None:
    three_captures(site, workspace)
    (workspace.archive_dir / "20261129T000000Z-dead00-00000.warc.gz.open").write_bytes(b"partial")
    (workspace.archive_dir / "stray.warc.gz").write_bytes(gzip.compress(b"x"))
    code, text, report = verify_cli(workspace)
    assert code == 0
    orphans = [p for p in report["problems"] if "orphan" in p["message"]]
    assert {p["path"] for p in orphans} == {"archive/20261129T000000Z-dead00-00000.warc.gz.open",
                                             "archive/stray.warc.gz"}
    assert all(p["severity"] == "warning" for p in orphans)


def test_usage_errors(workspace: Workspace, tmp_path: Path) -> None:
    proc = subprocess.run([*ARCHIVER, "-w", str(tmp_path / "nowhere"), "verify"], capture_output=True, text=True)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    workspace.ensure()
    proc = subprocess.run([*ARCHIVER, "-w", str(workspace.root), "verify", "--trusted-key", "/nope.pem"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    proc = subprocess.run([*ARCHIVER, "-w", str(workspace.root), "verify", "20990101T000000Z-000000"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "no manifest for this capture" in proc.stdout


def test_standard_tools_alone_verify_a_capture(site, workspace: Workspace) -> None:
    """The procedure README.md documents, run exactly: sha256sum -c, then openssl for the signature,
    then the chain link with sha256sum."""
    workspace.ensure()                  # keygen signs for a workspace; it no longer makes one
    subprocess.run([*ARCHIVER, "-w", str(workspace.root), "keygen"], check=True, capture_output=True)
    first, second, _ = three_captures(site, workspace)
    cid = second.capture_id
    check = subprocess.run(["sha256sum", "-c", f"manifests/{cid}.sha256"], cwd=workspace.root,
                           capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 2
    sig = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "keys/archiver-signing-key.pub.pem",
                          "-rawin", "-in", f"manifests/{cid}.sha256", "-sigfile", f"manifests/{cid}.sha256.sig"],
                         cwd=workspace.root, capture_output=True, text=True)
    assert sig.returncode == 0 and "Signature Verified Successfully" in sig.stdout
    previous = yaml.safe_load((workspace.root / second.manifest_path).read_text())["previous"]
    prev_hash = subprocess.run(["sha256sum", f"manifests/{previous['capture_id']}.yaml"], cwd=workspace.root,
                               capture_output=True, text=True).stdout.split()[0]
    assert previous["capture_id"] == first.capture_id and prev_hash == previous["sha256"]
    # and the same tools notice damage
    warc = workspace.root / second.warc_files[0].path
    os.truncate(warc, warc.stat().st_size - 1)
    bad = subprocess.run(["sha256sum", "-c", f"manifests/{cid}.sha256"], cwd=workspace.root,
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "FAILED" in bad.stdout
