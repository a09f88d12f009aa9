"""Trusted timestamps (RFC 3161), against a real local authority: ``openssl ts -reply`` behind a
loopback HTTP server (tests/tsa.py). Captures, verify, clean and ``archiver timestamp`` are driven as
a user would, through ``python -m archiver``; ``openssl ts -verify`` checks every token stored."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tsa import Authority, LocalCA, make_ca

from archiver.capturing.run import capture
from archiver.core.settings import CaptureOptions, load_settings
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site

ARCHIVER = [sys.executable, "-m", "archiver"]
PAGE = b"<title>Harbour minutes</title><p>The council voted eleven to four to dredge the harbour.</p>"


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_WORKSPACE"}
    return subprocess.run([*ARCHIVER, *map(str, args)], cwd=cwd, capture_output=True, text=True, env=env, timeout=180)


def openssl_verify(root: Path, capture_id: str, ca_file: Path) -> subprocess.CompletedProcess[str]:
    """Exactly docs/timestamps.md's command for a stranger, run in the workspace."""
    return subprocess.run(["openssl", "ts", "-verify", "-in", f"manifests/{capture_id}.sha256.tsr", "-data",
                           f"manifests/{capture_id}.sha256", "-CAfile", str(ca_file)],
                          cwd=root, capture_output=True, text=True, timeout=60)


def make_workspace(root: Path, authorities: list[str], roots: list[Path] = ()) -> Path:  # type: ignore[assignment]
    (root / "manifests").mkdir(parents=True)
    lines = [f"timestamp_authority: {json.dumps(authorities)}"] if authorities else []
    if roots:
        lines.append(f"timestamp_roots: {json.dumps([str(r) for r in roots])}")
    (root / "archiver.yaml").write_text("\n".join(lines) + "\n")
    return root


def free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def captured(root: Path, url: str) -> tuple[subprocess.CompletedProcess[str], str]:
    proc = run("capture", "--depth", "0", "--json", url, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(proc.stdout)["capture_id"]


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return make_ca(tmp_path_factory.mktemp("tsa-ca"))


@pytest.fixture(scope="module")
def page() -> Iterator[str]:
    site = Site([Host("h", "127.0.0.160", routes={"/": Response(200, [("Content-Type", "text/html")], PAGE)})]).start()
    try:
        yield site.url("h", "/")
    finally:
        site.stop()


@pytest.fixture(scope="module")
def stamped(ca: LocalCA, page: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A workspace whose one capture was sealed while the authority answered: (root, capture id, URL)."""
    with Authority(ca, "127.0.0.161") as tsa:
        root = make_workspace(tmp_path_factory.mktemp("stamped") / "ws", [tsa.url], [ca.root])
        proc, capture_id = captured(root, page)
        assert "warning" not in proc.stderr, proc.stderr
        assert tsa.served == 1
    return root, capture_id, tsa.url


def test_a_capture_gets_a_token_that_verify_and_openssl_accept(stamped: tuple[Path, str, str], ca: LocalCA) -> None:
    root, capture_id, url = stamped
    token = root / "manifests" / f"{capture_id}.sha256.tsr"
    assert token.is_file() and token.read_bytes()[:1] == b"\x30"          # the whole DER TimeStampResp
    assert f"timestamp_authorities:\n- {url}\n" in (root / "manifests" / f"{capture_id}.yaml").read_text()
    proc = run("verify", "--json", cwd=root)
    assert proc.returncode == 0, proc.stdout
    stamps = json.loads(proc.stdout)["timestamps"]
    assert stamps["missing"] == [] and len(stamps["tokens"]) == 1
    checked = stamps["tokens"][0]
    assert checked["ok"] and checked["path"] == f"manifests/{capture_id}.sha256.tsr" and checked["authority"] == url
    assert checked["token"]["root_checked"] is True and checked["token"]["policy"] == "1.3.6.1.4.1.99999.1"
    assert checked["token"]["tsa"] == "CN=Archiver Test TSA tsa" and int(checked["token"]["serial"]) >= 1
    started = datetime.fromisoformat(json.loads(run("show", capture_id, "--json", cwd=root).stdout)["started"]
                                     .replace("Z", "+00:00"))
    stamped_at = datetime.fromisoformat(checked["token"]["time"].replace("Z", "+00:00"))
    assert started - timedelta(seconds=2) <= stamped_at <= datetime.now(UTC)
    text = run("verify", cwd=root).stdout
    assert f"timestamp: capture {capture_id}: " in text and "by CN=Archiver Test TSA tsa, serial" in text, text
    assert "signature valid, chains to a root in" in text and "orphan" not in text, text
    proc = openssl_verify(root, capture_id, ca.root)
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stderr


def test_clean_never_touches_a_token(stamped: tuple[Path, str, str], tmp_path: Path) -> None:
    root = shutil.copytree(stamped[0], tmp_path / "ws")
    tokens = sorted((root / "manifests").glob("*.tsr"))
    (root / "manifests" / f"{stamped[1]}.sha256.7.tsr").write_bytes(tokens[0].read_bytes())   # even one unasked for
    proc = run("clean", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert ".tsr" not in proc.stdout and len(list((root / "manifests").glob("*.tsr"))) == 2


def test_a_token_from_an_unknown_root_is_a_problem(stamped: tuple[Path, str, str], ca: LocalCA) -> None:
    root, capture_id, _ = stamped
    proc = run("verify", "--quick", "--tsa-root", ca.other_root, cwd=root)
    assert proc.returncode == 1
    assert f"error: manifests/{capture_id}.sha256.tsr: capture {capture_id}: timestamp token: its signer does not " \
           "chain to a configured timestamp root (unable to get local issuer certificate)" in proc.stdout, proc.stdout
    assert run("verify", "--quick", "--tsa-root", ca.folder / "nothing.pem", cwd=root).returncode == 2


def test_a_tampered_checksum_list_or_token_is_a_problem(stamped: tuple[Path, str, str], ca: LocalCA,
                                                        tmp_path: Path) -> None:
    root = shutil.copytree(stamped[0], tmp_path / "ws")
    capture_id = stamped[1]
    listing = root / "manifests" / f"{capture_id}.sha256"
    listing.write_bytes(listing.read_bytes().replace(b"  ", b"  ./", 1))
    proc = run("verify", "--quick", cwd=root)
    assert proc.returncode == 1
    assert f"manifests/{capture_id}.sha256.tsr: capture {capture_id}: timestamp token: the token covers sha256 " \
           in proc.stdout, proc.stdout
    assert openssl_verify(root, capture_id, ca.root).returncode != 0
    shutil.copy2(stamped[0] / "manifests" / f"{capture_id}.sha256", listing)
    token = root / "manifests" / f"{capture_id}.sha256.tsr"
    raw = bytearray(token.read_bytes())
    at = raw.index(b"\x18\x0f") + 2 + 13  # genTime, GeneralizedTime YYYYMMDDHHMMSSZ: its last digit altered
    raw[at] = ord("0") if raw[at] != ord("0") else ord("1")
    token.write_bytes(bytes(raw))
    (root / "archiver.yaml").write_text("")           # no root: the token's own signature must still catch it
    proc = run("verify", "--quick", "--json", cwd=root)
    assert proc.returncode == 1
    lines = [p["line"] for p in json.loads(proc.stdout)["problems"]]
    assert f"error: manifests/{capture_id}.sha256.tsr: capture {capture_id}: timestamp token: the token's signed " \
           "digest does not match its TSTInfo: the token was altered" in lines, lines


@pytest.mark.parametrize(("behaviour", "reason"), [
    ("non-critical", "the signer's extended key usage timeStamping is not marked critical (RFC 3161 2.3)"),
    ("other-nonce", "the reply's nonce is not the request's: a reply to another request"),
])
def test_a_bad_reply_is_refused_and_the_capture_sealed_without_it(ca: LocalCA, page: str, tmp_path: Path,
                                                                    behaviour: str, reason: str) -> None:
    with Authority(ca, "127.0.0.162", behaviour=behaviour) as tsa:
        root = make_workspace(tmp_path / "ws", [tsa.url])
        proc, capture_id = captured(root, page)
        assert tsa.served == 1
    assert proc.stderr == f"archiver: warning: no timestamp token yet from {tsa.url}: {reason} " \
                          "('archiver timestamp' asks again)\n"
    assert json.loads(proc.stdout)["warnings"] == [proc.stderr.removeprefix("archiver: warning: ").strip()]
    assert (root / "manifests" / f"{capture_id}.yaml").is_file()
    assert not list((root / "manifests").glob("*.tsr"))
    proc = run("verify", "--json", cwd=root)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["timestamps"]["missing"] == [{"capture_id": capture_id, "slot": 1,
                                                                 "authority": tsa.url}]


def test_an_authority_down_at_seal_time_is_asked_again_later(ca: LocalCA, page: str, tmp_path: Path) -> None:
    address = "127.0.0.163"
    port = free_port(address)
    url = f"http://{address}:{port}/tsr"
    root = make_workspace(tmp_path / "ws", [url], [ca.root])
    proc, capture_id = captured(root, page)
    assert proc.stderr.startswith(f"archiver: warning: no timestamp token yet from {url}: unreachable: ")
    assert len(proc.stderr.splitlines()) == 1
    verified = run("verify", "--quick", cwd=root)
    assert verified.returncode == 0
    assert f"warning: manifests/{capture_id}.sha256.tsr: capture {capture_id}: no timestamp token yet from {url} " \
           "(its manifest lists it; 'archiver timestamp' asks again)" in verified.stdout, verified.stdout
    still_down = run("timestamp", cwd=root)
    assert still_down.returncode == 1 and f"capture {capture_id}: no token from {url}: unreachable" in still_down.stdout
    with Authority(ca, address, port) as tsa:
        proc = run("timestamp", "--json", cwd=root)
        assert tsa.served == 1
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["stored"] == 1 and report["stamps"][0]["path"] == f"manifests/{capture_id}.sha256.tsr"
    verified = run("verify", "--json", cwd=root)
    assert verified.returncode == 0
    data = json.loads(verified.stdout)
    assert data["problems"] == [] and data["timestamps"]["missing"] == [] and data["timestamps"]["tokens"][0]["ok"]
    assert openssl_verify(root, capture_id, ca.root).returncode == 0
    again = run("timestamp", cwd=root)
    assert again.returncode == 0 and again.stdout.startswith("nothing to ask"), again.stdout


def test_captures_sealed_before_an_authority_was_configured_get_a_token(ca: LocalCA, page: str, tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", [])
    _, capture_id = captured(root, page)
    assert run("timestamp", cwd=root).returncode == 2             # no authority configured: says so
    with Authority(ca, "127.0.0.164") as tsa:
        (root / "archiver.yaml").write_text(f"timestamp_authority: {tsa.url}\n")
        first = run("timestamp", cwd=root)
        second = run("timestamp", cwd=root)
    assert first.returncode == 0 and f"token from {tsa.url} stored as manifests/{capture_id}.sha256.tsr" in first.stdout
    assert second.stdout.startswith("nothing to ask") and tsa.served == 1
    proc = run("verify", "--quick", cwd=root)
    assert proc.returncode == 0 and "not checked against a root" in proc.stdout, proc.stdout


def test_a_token_older_than_the_capture_is_a_problem(ca: LocalCA, page: str, tmp_path: Path) -> None:
    """A collector whose clock runs a day ahead: the authority's time shows the capture's times are wrong."""
    with Authority(ca, "127.0.0.165") as tsa:
        root = make_workspace(tmp_path / "ws", [tsa.url], [ca.root])
        ahead = lambda: datetime.now(UTC) + timedelta(days=1)   # noqa: E731
        result = capture([page], Workspace(root), CaptureOptions(depth=0, timeout=5), settings=load_settings(root),
                         clock=ahead)
    assert result.ok and result.warnings == ()
    proc = run("verify", "--quick", cwd=root)
    assert proc.returncode == 1
    assert f"capture {result.capture_id}: timestamp token: the token's time " in proc.stdout
    assert "is before the capture started" in proc.stdout, proc.stdout


@pytest.mark.parametrize("value", ["ftp://tsa.example/", "https://user:secret@tsa.example/tsr", "[]", "{a: 1}"])
def test_a_bad_authority_setting_is_refused_in_one_line(tmp_path: Path, value: str) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "archiver.yaml").write_text(f"timestamp_authority: {value}\n")
    proc = run("timestamp", cwd=tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1 and "timestamp_authority" in proc.stderr


def test_an_import_is_sealed_with_a_token_too(stamped: tuple[Path, str, str], ca: LocalCA, tmp_path: Path) -> None:
    warc = next((stamped[0] / "archive").glob("*.warc.gz"))
    with Authority(ca, "127.0.0.166") as tsa:
        root = make_workspace(tmp_path / "ws", [tsa.url], [ca.root])
        proc = run("import", "--json", warc, cwd=root)
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    capture_id = json.loads(proc.stdout)["capture_id"]
    assert (root / "manifests" / f"{capture_id}.sha256.tsr").is_file()
    assert run("verify", "--quick", cwd=root).returncode == 0
    assert openssl_verify(root, capture_id, ca.root).returncode == 0


@pytest.mark.parametrize("kind", ["bag", "wacz"])
def test_packages_carry_the_token_and_verify_checks_it(stamped: tuple[Path, str, str], ca: LocalCA, tmp_path: Path,
                                                       kind: str) -> None:
    """A package of a stamped capture carries its token: `archiver verify PACKAGE --tsa-root` and
    `openssl ts -verify` accept it; a changed byte in the token (the package's own hashes made to
    agree) is an error naming it."""
    import zipfile

    root, capture_id, _url = stamped
    out = tmp_path / ("pkg" if kind == "bag" else "pkg.wacz")
    assert run("export", kind, capture_id, "-o", out, cwd=root).returncode == 0
    moved = tmp_path / "elsewhere" / out.name            # an empty folder on another machine
    moved.parent.mkdir()
    out.rename(moved)
    good = run("verify", moved, "--tsa-root", ca.root, "--json", cwd=tmp_path)
    assert good.returncode == 0, good.stdout
    tokens = json.loads(good.stdout)["timestamps"]["tokens"]
    assert len(tokens) == 1 and tokens[0]["ok"] and tokens[0]["token"]["root_checked"] is True
    unpacked = tmp_path / "unpacked"
    if kind == "bag":
        manifests = moved / "data" / "manifests"
    else:
        with zipfile.ZipFile(moved) as zf:
            zf.extractall(unpacked)
        manifests = unpacked / "archiver"
    token = manifests / f"{capture_id}.sha256.tsr"
    checked = subprocess.run(["openssl", "ts", "-verify", "-in", token.name, "-data", f"{capture_id}.sha256",
                              "-CAfile", str(ca.root)], cwd=manifests, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and "Verification: OK" in checked.stdout, checked.stderr
    script = Path(__file__).resolve().parent.parent / "docs" / "check-package.sh"
    by_hand = subprocess.run(["sh", str(script), str(moved), "", str(ca.root)], capture_output=True, text=True,
                             timeout=120)
    assert by_hand.returncode == 0, by_hand.stdout + by_hand.stderr
    if kind == "wacz":
        return
    data = bytearray(token.read_bytes())
    data[len(data) // 2] ^= 0x01
    token.write_bytes(bytes(data))
    rel = f"data/manifests/{capture_id}.sha256.tsr"
    for algorithm in ("sha256", "sha512"):            # the bag's own lists agree: only the token check can tell
        listing = moved / f"manifest-{algorithm}.txt"
        digest = hashlib.new(algorithm, bytes(data)).hexdigest()
        listing.write_text("".join(f"{digest}  {rel}\n" if line.endswith(f"  {rel}") else f"{line}\n"
                                   for line in listing.read_text().splitlines()))
    bad = run("verify", moved, "--tsa-root", ca.root, cwd=tmp_path)
    assert bad.returncode == 1, bad.stdout
    assert any(f"{capture_id}.sha256.tsr" in line and line.startswith("error") for line in bad.stdout.splitlines()), \
        bad.stdout
    by_hand = subprocess.run(["sh", str(script), str(moved), "", str(ca.root)], capture_output=True, text=True,
                             timeout=120)
    assert by_hand.returncode == 1 and f"FAILED: manifests/{capture_id}.sha256.tsr" in by_hand.stdout, by_hand.stdout
