"""The tamper suite: what an attacker with write access to a signed workspace can do, and that
verify says so. A workspace of four captures (the first sealed before the key existed, three
signed) is built once; each case works on a copy, with a copy of the witness this user kept."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from archiver import capture
from archiver.cli.app import main
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site
from archiver.fixity.manifest import dump_manifest
from archiver.fixity.seal import find_head
from archiver.fixity.signing import generate_key_pair
from archiver.fixity.verify import VerifyReport, verify
from archiver.fixity.witness import user_witness_path

ARCHIVER = [sys.executable, "-m", "archiver"]
HTML = [("Content-Type", "text/html; charset=utf-8")]


@dataclass(frozen=True)
class Built:
    root: Path
    witness: bytes                 # the witness file's content, as this user kept it
    ids: list[str]                 # capture ids, oldest first


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    site = Site([Host("h", "127.0.0.73", routes={
        "/a": Response(200, HTML, b'<title>A</title><p>the article text</p><img src="/i.png"><a href="/b">b</a>'),
        "/b": Response(200, HTML, b"<title>B</title><p>a linked source</p>"),
        "/i.png": Response(200, [("Content-Type", "image/png")], b"\x89PNG" + bytes(range(256)) * 4),
    })]).start()
    root = tmp_path_factory.mktemp("signed") / "ws"
    state = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARCHIVER_STATE_HOME", str(state))
        ws = Workspace(root)
        options = CaptureOptions(timeout=5, dedup=False)     # every capture holds its own payloads and texts
        ids = [capture([site.url("h", "/a")], ws, options).capture_id]
        assert main(["-w", str(root), "keygen"]) == 0
        ids += [capture([site.url("h", "/a")], ws, options).capture_id for _ in range(3)]
        witness = user_witness_path(root).read_bytes()
    site.stop()
    yield Built(root, witness, ids)


@pytest.fixture
def ws(built: Built, tmp_path: Path) -> Workspace:
    """A copy of the signed workspace, with the witness this user kept of it."""
    root = tmp_path / "ws"
    shutil.copytree(built.root, root)
    user_witness_path(root).parent.mkdir(parents=True, exist_ok=True)
    user_witness_path(root).write_bytes(built.witness)
    return Workspace(root)


@pytest.fixture
def trusted(built: Built, tmp_path: Path) -> Path:
    """The public key as the recipient got it, outside the workspace."""
    path = tmp_path / "trusted.pub.pem"
    shutil.copy(Workspace(built.root).public_key_path, path)
    return path


def check(ws: Workspace, trusted: Path | None = None, **kwargs: object) -> VerifyReport:
    return verify(ws, trusted_key=trusted, workers=1, **kwargs)  # type: ignore[arg-type]


def errors(report: VerifyReport) -> list[str]:
    return [p.line() for p in report.problems if p.severity == "error"]


def head_of(ws: Workspace) -> str:
    head = find_head(ws)
    assert head is not None
    return head.capture_id


def manifest_of(ws: Workspace, capture_id: str) -> dict:
    return yaml.safe_load(ws.manifest_path(capture_id).read_bytes())


def forge(ws: Workspace, capture_id: str, edit: Callable[[dict], None], *, drop_signature: bool) -> None:
    """What an attacker without the private key can do: edit the manifest, recompute its line in the
    checksum list (every checksum an attacker can recompute), and delete or keep the signature."""
    path = ws.manifest_path(capture_id)
    data = yaml.safe_load(path.read_bytes())
    edit(data)
    body = dump_manifest(data)
    path.write_bytes(body)
    rel = ws.relative(path)
    lines = [f"{hashlib.sha256(body).hexdigest()}  {rel}" if line.endswith(f"  {rel}") else line
             for line in ws.checksum_path(capture_id).read_text().splitlines()]
    ws.checksum_path(capture_id).write_text("\n".join(lines) + "\n")
    if drop_signature:
        ws.signature_path(capture_id).unlink()


def test_an_intact_signed_workspace_passes_with_its_pinned_key(ws: Workspace, built: Built, trusted: Path) -> None:
    for key in (None, trusted):
        report = check(ws, key)
        assert report.ok, errors(report)
        assert sorted(report.signed) == sorted(built.ids[1:])
        assert report.key_pinned == report.key_fingerprint is not None
    # the first capture, sealed before the key, is vouched for by the signatures after it: no warning
    assert not report.problems, [p.line() for p in report.problems]


@pytest.mark.parametrize("trust", [False, True])
def test_a_forged_newest_manifest_with_its_signature_deleted_fails(ws: Workspace, built: Built, trusted: Path,
                                                                   trust: bool) -> None:
    newest = built.ids[-1]

    def edit(data: dict) -> None:
        data["resources"][0]["url"] = "http://forged.example/statement.html"
        data["started"] = "2020-01-01T00:00:00.000000Z"

    forge(ws, newest, edit, drop_signature=True)
    report = check(ws, trusted if trust else None)
    found = errors(report)
    assert not report.ok
    assert any(newest in line and "unsigned, but sealed after" in line for line in found), found
    assert any("http://forged.example/statement.html" in line and "WARC-Target-URI" in line for line in found), found
    quick = verify(ws, quick=True, trusted_key=trusted if trust else None)
    assert not quick.ok                 # the signature rule needs no hashing


def test_a_forged_manifest_keeping_its_old_signature_fails(ws: Workspace, built: Built) -> None:
    forge(ws, built.ids[2], lambda d: d["seeds"].append("http://forged.example/"), drop_signature=False)
    found = errors(check(ws))
    assert any(built.ids[2] in line and "invalid signature" in line for line in found), found


def _resource_edits() -> dict[str, Callable[[dict], None]]:
    def res(key: str, value: object) -> Callable[[dict], None]:
        def edit(data: dict) -> None:
            target = next(r for r in data["resources"] if r["url"].endswith("/a"))
            target[key] = value
        return edit

    def text(key: str, value: object) -> Callable[[dict], None]:
        def edit(data: dict) -> None:
            target = next(r for r in data["resources"] if r["url"].endswith("/a"))
            target["text"][key] = value
        return edit

    return {
        "url": res("url", "http://127.0.0.73/forged"),
        "date": res("date", "2019-05-05T10:00:00.000000Z"),
        "record_id": res("record_id", "<urn:uuid:00000000-0000-4000-8000-000000000000>"),
        "offset": res("offset", 0),
        "length": res("length", 7),
        "status": res("status", 404),
        "payload_sha256": res("payload_sha256", "0" * 64),
        "warc_payload_digest": res("warc_payload_digest", "sha256:" + "0" * 64),
        "request_record_id": res("request_record_id", "<urn:uuid:11111111-1111-4111-8111-111111111111>"),
        "warc": res("warc", "archive/elsewhere.warc.gz"),
        "revisit_of": res("revisit_of", {"capture_id": "x", "record_id": "<urn:uuid:x>", "url": "u", "date": "d",
                                         "payload_digest": "p", "warc": "w", "offset": 0}),
        "text.sha256": text("sha256", "1" * 64),
        "text.offset": text("offset", 0),
        "text.record_id": text("record_id", "<urn:uuid:22222222-2222-4222-8222-222222222222>"),
    }


@pytest.mark.parametrize("field", sorted(_resource_edits()))
def test_every_manifest_entry_is_checked_against_its_record(ws: Workspace, built: Built, field: str) -> None:
    """Beyond the signature rule, the records alone catch an edited entry of the newest manifest,
    whose digest no later capture records."""
    newest = built.ids[-1]
    forge(ws, newest, _resource_edits()[field], drop_signature=True)
    report = check(ws)
    found = [line for line in errors(report) if newest in line and "signature" not in line and "unsigned" not in line]
    assert found, f"{field}: {[p.line() for p in report.problems]}"


def flip(path: Path, at: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[at] ^= 0x01
    path.write_bytes(bytes(raw))


def sealed_files(ws: Workspace) -> list[Path]:
    return sorted([*ws.archive_dir.glob("*.warc.gz"), *ws.manifests_dir.glob("*.yaml"),
                   *ws.manifests_dir.glob("*.sha256"), *ws.manifests_dir.glob("*.sig"), ws.public_key_path])


def test_a_single_flipped_byte_anywhere_is_an_error_naming_where(ws: Workspace, built: Built, trusted: Path,
                                                                 tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    shutil.copytree(ws.root, pristine)
    missed = []
    cases = 0
    for path in sealed_files(ws):
        rel = ws.relative(path)
        size = path.stat().st_size
        for at in sorted({0, size // 3, size // 2, size - 1}):
            flip(path, at)
            report = check(ws, trusted)
            cases += 1
            named = any(rel in line or any(cid in line and cid in rel for cid in built.ids) for line in errors(report))
            if report.ok or not named:
                missed.append((rel, at, [p.line() for p in report.problems]))
            shutil.copy(pristine / rel, path)
    assert cases >= 4 * 13
    assert not missed, missed


def test_truncated_files_are_errors(ws: Workspace, trusted: Path, tmp_path: Path) -> None:
    pristine = tmp_path / "pristine"
    shutil.copytree(ws.root, pristine)
    missed = []
    for path in sealed_files(ws):
        rel = ws.relative(path)
        for keep in (0, path.stat().st_size // 2, path.stat().st_size - 1):
            path.write_bytes((pristine / rel).read_bytes()[:keep])
            if check(ws, trusted).ok:
                missed.append((rel, keep))
            shutil.copy(pristine / rel, path)
    assert not missed, missed


KINDS = {"warc": lambda ws, cid: sorted(ws.archive_dir.glob(f"{cid}-*.warc.gz")),
         "manifest": lambda ws, cid: [ws.manifest_path(cid)],
         "checksums": lambda ws, cid: [ws.checksum_path(cid)],
         "signature": lambda ws, cid: [ws.signature_path(cid)]}
COMBINATIONS = [("warc",), ("manifest",), ("checksums",), ("signature",), ("checksums", "signature"),
                ("manifest", "checksums", "signature"), ("manifest", "checksums", "signature", "warc")]


@pytest.mark.parametrize("which", [1, 2, 3])
@pytest.mark.parametrize("kinds", COMBINATIONS, ids=["+".join(c) for c in COMBINATIONS])
def test_deleting_any_file_kind_alone_or_together_is_an_error(ws: Workspace, built: Built, trusted: Path,
                                                              kinds: tuple[str, ...], which: int) -> None:
    cid = built.ids[which]
    for kind in kinds:
        for path in KINDS[kind](ws, cid):
            path.unlink()
    for key in (None, trusted):
        report = check(ws, key)
        assert not report.ok and any(cid in line for line in errors(report)), [p.line() for p in report.problems]


def test_rolling_back_the_newest_captures_is_detected(ws: Workspace, built: Built, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    head_before = check(ws).head
    assert head_before is not None and head_before.capture_id == built.ids[-1]
    for cid in built.ids[-2:]:
        for kind in KINDS.values():
            for path in kind(ws, cid):
                path.unlink()
    found = errors(check(ws))
    for cid in built.ids[-2:]:
        assert any(cid in line and "rollback" in line for line in found), found
    # on a machine without the witness, the head published earlier catches it
    monkeypatch.setenv("ARCHIVER_STATE_HOME", str(tmp_path / "elsewhere"))
    assert check(ws).ok                                   # nothing else can tell
    found = errors(check(ws, expect_head=head_before.sha256))
    assert any("expected head" in line and head_before.sha256 in line for line in found), found
    older = manifest_of(ws, built.ids[1])
    assert older["sequence"] == 2
    assert check(ws, expect_head=hashlib.sha256(ws.manifest_path(built.ids[1]).read_bytes()).hexdigest()).ok


def test_a_second_witness_file_from_the_settings_catches_a_rollback_too(ws: Workspace, built: Built,
                                                                       tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "usb" / "witness.jsonl"
    (ws.root / "archiver.yaml").write_text(f"witness: {elsewhere}\n")
    site = Site([Host("h", "127.0.0.74", routes={"/": Response(200, HTML, b"<p>x</p>")})]).start()
    try:
        assert main(["-w", str(ws.root), "capture", "--depth", "0", site.url("h", "/")]) == 0
    finally:
        site.stop()
    newest = head_of(ws)
    assert newest not in built.ids and newest in elsewhere.read_text()
    for kind in KINDS.values():
        for path in kind(ws, newest):
            path.unlink()
    monkeypatch.setenv("ARCHIVER_STATE_HOME", str(tmp_path / "fresh-user"))
    found = errors(check(ws, witness_file=elsewhere))
    assert any(newest in line and "rollback" in line for line in found), found


def forged_warc(path: Path) -> Path:
    """A well-formed WARC of one response, digests right: nothing but the signature rule refuses it."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record("http://forged.example/", "response",
                                                      payload=io.BytesIO(b"<title>Forged</title><p>never said</p>"),
                                                      http_headers=http))
    return path


def test_a_capture_imported_without_the_key_fails_verify(ws: Workspace, built: Built, trusted: Path,
                                                         tmp_path: Path) -> None:
    ws.private_key_path.unlink()                     # the attacker does not hold it
    assert main(["-w", str(ws.root), "import", str(forged_warc(tmp_path / "forged.warc.gz"))]) == 0
    forged = head_of(ws)
    assert forged not in built.ids
    for key in (None, trusted):
        found = errors(check(ws, key))
        assert any(forged in line and "unsigned, but sealed after" in line for line in found), found


def test_a_forged_record_appended_to_a_warc_is_an_error(ws: Workspace, built: Built, tmp_path: Path) -> None:
    warc = sorted(ws.archive_dir.glob(f"{built.ids[2]}-*.warc.gz"))[0]
    extra = forged_warc(tmp_path / "extra.warc.gz").read_bytes()
    with open(warc, "ab") as fh:
        fh.write(extra)
    found = errors(check(ws))
    assert any(ws.relative(warc) in line and ("size is" in line or "sha256 is" in line) for line in found), found


def test_replacing_the_key_and_resigning_everything_fails(ws: Workspace, built: Built, trusted: Path,
                                                          tmp_path: Path) -> None:
    from archiver.fixity.signing import sign

    for path in (ws.private_key_path, ws.public_key_path):
        path.unlink()
    generate_key_pair(ws.private_key_path, ws.public_key_path)
    for cid in built.ids:
        ws.signature_path(cid).write_bytes(sign(ws.private_key_path, ws.checksum_path(cid).read_bytes()))
    found = errors(check(ws))
    assert any("this user pinned" in line for line in found), found
    found = errors(check(ws, trusted))
    assert sum("invalid signature" in line for line in found) == 4, found
    # and archiver itself refuses to sign with the replaced key, before fetching anything
    proc = subprocess.run([*ARCHIVER, "-w", str(ws.root), "capture", "http://127.0.0.1:9/"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "refusing to sign with a replaced key" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert sorted(p.stem for p in ws.manifest_paths()) == sorted(built.ids)


def test_accept_key_pins_a_replaced_key_on_purpose(ws: Workspace, built: Built) -> None:
    for path in (ws.private_key_path, ws.public_key_path):
        path.unlink()
    generate_key_pair(ws.private_key_path, ws.public_key_path)
    report = check(ws)
    assert any("this user pinned" in line for line in errors(report))
    new = report.key_fingerprint
    assert new is not None
    wrong = "sha256:" + "0" * 64
    proc = subprocess.run([*ARCHIVER, "-w", str(ws.root), "verify", "--accept-key", wrong], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "is not the workspace's public key" in proc.stderr
    subprocess.run([*ARCHIVER, "-w", str(ws.root), "verify", "--quick", "--accept-key", new], capture_output=True)
    after = check(ws)
    assert after.key_pinned == new and not any("this user pinned" in line for line in errors(after))
    # the old captures' signatures are still not the new key's: that stays an error
    assert any("invalid signature" in line for line in errors(after))


def test_a_corrupt_signing_key_stops_a_capture_before_any_fetch(ws: Workspace, built: Built) -> None:
    ws.private_key_path.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    before = {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and ".archiver" not in p.parts}
    proc = subprocess.run([*ARCHIVER, "-w", str(ws.root), "capture", "http://127.0.0.1:9/"],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("archiver: cannot read the signing key") and len(proc.stderr.splitlines()) == 1
    assert {p: p.read_bytes() for p in ws.root.rglob("*") if p.is_file() and ".archiver" not in p.parts} == before


def test_head_prints_the_chain_head_and_verify_accepts_it(ws: Workspace, built: Built) -> None:
    proc = subprocess.run([*ARCHIVER, "-w", str(ws.root), "head"], capture_output=True, text=True)
    digest = hashlib.sha256(ws.manifest_path(built.ids[-1]).read_bytes()).hexdigest()
    assert proc.returncode == 0 and proc.stdout.strip() == f"capture {built.ids[-1]}, sequence 4, sha256 {digest}"
    ok = subprocess.run([*ARCHIVER, "-w", str(ws.root), "verify", "--quick", "--expect-head", f"sha256:{digest}"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout
    bad = subprocess.run([*ARCHIVER, "-w", str(ws.root), "verify", "--expect-head", "xyz"], capture_output=True,
                         text=True)
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1


def test_verify_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = subprocess.run([*ARCHIVER, "-w", str(tmp_path / "empty"), "verify"], capture_output=True, text=True)
    assert proc.returncode == 2 and "is not an archiver workspace" in proc.stderr
    for workers in ("0", "100000"):
        proc = subprocess.run([*ARCHIVER, "-w", str(tmp_path / "empty"), "verify", "--workers", workers],
                              capture_output=True, text=True)
        assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1


def test_witness_lines_that_cannot_be_read_are_warnings_not_crashes(ws: Workspace, built: Built) -> None:
    path = user_witness_path(ws.root)
    with open(path, "ab") as fh:
        fh.write(b"not json\n" + b'{"event": "seal", "sequence": 99999999999999999999999}\n' + b"[1]\n"
                 + os.urandom(64).replace(b"\n", b"").replace(b"\r", b"") + b"\n")
    report = check(ws)
    assert report.ok, errors(report)
    assert sum("witness line" in p.line() for p in report.problems) == 4


def test_rewriting_a_warc_record_and_its_manifest_consistently_still_fails_under_the_key(ws: Workspace,
                                                                                        built: Built,
                                                                                        trusted: Path) -> None:
    """The strongest forgery without the key: change a record, recompute every digest the WARC, the
    manifest and the checksum list hold. Only the signature can tell, and it does."""
    cid = built.ids[2]
    data = manifest_of(ws, cid)
    res = next(r for r in data["resources"] if r["url"].endswith("/b"))
    warc = ws.root / res["warc"]
    raw = warc.read_bytes()
    record = gzip.decompress(raw[res["offset"]:res["offset"] + res["length"]])
    forged = record.replace(b"a linked source", b"a forged source")
    member = gzip.compress(forged)
    new_raw = raw[:res["offset"]] + member + raw[res["offset"] + res["length"]:]
    warc.write_bytes(new_raw)
    # (the record's own digests now disagree; an attacker would fix those too, and the file's hash:)
    for w in data["warc_files"]:
        if w["path"] == res["warc"]:
            w["sha256"], w["bytes"] = hashlib.sha256(new_raw).hexdigest(), len(new_raw)
    forge(ws, cid, lambda d: d.update(warc_files=data["warc_files"]), drop_signature=False)
    lines = ws.checksum_path(cid).read_text().splitlines()
    ws.checksum_path(cid).write_text("\n".join(
        f"{hashlib.sha256(new_raw).hexdigest()}  {res['warc']}" if line.endswith(f"  {res['warc']}") else line
        for line in lines) + "\n")
    found = errors(check(ws, trusted))
    assert any(cid in line and "invalid signature" in line for line in found), found


ODD_VALUES = [None, -1, 0, 2**64, 99999999999999999999, "", "x" * 5000, [], {}, [1, 2], {"a": 1}, True, 1.5,
              "2026-13-45T99:99:99Z", "\x00\r\n"]
ODD_FIELDS = ["sequence", "previous", "signing_key", "started", "warc_files", "resources", "seeds",
              "resources.0.offset", "resources.0.length", "resources.0.status", "resources.0.date",
              "resources.0.text", "resources.0.revisit_of", "resources.0.warc", "resources.0.url",
              "resources.0.request_record_id", "resources.0.warc_payload_digest", "warc_files.0.bytes",
              "warc_files.0.path", "previous.sha256"]


def _set(data: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    node: object = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
    if isinstance(node, list):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value


@pytest.mark.parametrize("field", ODD_FIELDS)
def test_verify_never_crashes_on_a_manifest_with_odd_values(ws: Workspace, built: Built, tmp_path: Path,
                                                            field: str) -> None:
    """A manifest is outside input too (an older archiver, a hand edit, an attacker): whatever a field
    holds, verify reports an error for it and never raises."""
    target = built.ids[2]
    pristine = ws.manifest_path(target).read_bytes(), ws.checksum_path(target).read_bytes()
    for value in ODD_VALUES:
        try:
            forge(ws, target, lambda d: _set(d, field, value), drop_signature=False)
        except (KeyError, IndexError, TypeError):
            continue                        # the path does not exist once a parent holds an odd value
        for quick in (True, False):
            report = verify(ws, quick=quick, workers=1)
            assert not report.ok, (field, value)
            assert any(target in p.line() or "manifests/" in p.line() for p in report.problems if p.severity == "error")
        ws.manifest_path(target).write_bytes(pristine[0])
        ws.checksum_path(target).write_bytes(pristine[1])


def test_the_signature_rules_name_each_capture_once_and_rightly() -> None:
    from archiver.fixity.trust_rules import SigState, judge_signatures
    from archiver.fixity.witness import Witnessed

    states = [SigState("a", 1, False, None, None), SigState("b", 2, False, None, "sha256:k"),
              SigState("c", 3, False, None, None)]
    found = [(f.level.value, f.capture_id, f.message.split(":")[0]) for f in
             judge_signatures(states, key_id="sha256:k", key_source="k.pem", trusted=False, witnessed=Witnessed())]
    assert sorted(found) == [("error", "b", "signature missing"),
                             ("error", "c", "unsigned, but sealed after capture b, the workspace's first signed capture"),
                             ("warning", "a", "unsigned")]
