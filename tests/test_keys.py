"""Keys over time (issue #15): keygen after captures attests them (a new signed statement of the chain
head, never a rewrite); keygen --rotate keeps the old key, both keys sign the change, old signatures
stay verifiable and the pin moves; an unannounced replacement is still refused; verify names every
key and what it signed; clean and verify know the new files. The CLI as a user drives it, against a
real loopback site, with openssl checking the statements as it checks checksum lists."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archiver.demo.server import Host, Response

ARCHIVER = [sys.executable, "-m", "archiver"]


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_WORKSPACE"}
    return subprocess.run([*ARCHIVER, "-w", str(root), *args], capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL, timeout=120)


@pytest.fixture
def page(serve) -> str:
    site = serve([Host("k", "127.0.0.151", routes={
        "/": Response(200, [("Content-Type", "text/html")], b"<title>Keys</title><p>the minutes</p>")})])
    return site.url("k", "/")


def captured(root: Path, url: str) -> str:
    run = cli(root, "capture", "--depth", "0", "--json", url)
    assert run.returncode == 0, run.stderr
    return str(json.loads(run.stdout)["capture_id"])


def fingerprint_of(run: subprocess.CompletedProcess[str], label: str) -> str:
    return next(word for line in run.stdout.splitlines() if line.startswith(label)
                for word in line.split() if word.startswith("sha256:"))


def openssl_verifies(root: Path, key: str, data: str, sig: str) -> bool:
    return subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", key, "-rawin", "-in", data,
                           "-sigfile", sig], cwd=root, capture_output=True).returncode == 0


def test_keygen_after_captures_attests_them_without_rewriting_anything(page: str, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    captured(root, page)
    second = captured(root, page)
    before = {p: p.read_bytes() for p in (root / "manifests").iterdir()}
    unsigned = cli(root, "verify", "--quick")
    assert unsigned.returncode == 0 and "unsigned" in unsigned.stdout
    made = cli(root, "keygen", "--attest")
    assert made.returncode == 0, made.stderr
    statements = sorted((root / "manifests" / "attestations").iterdir())
    assert [p.suffix for p in statements] == [".yaml", ".sig"]
    statement = statements[0]
    assert f"attested     manifests/attestations/{statement.name} (the 2 capture(s) sealed before this key, up to " \
           f"capture {second})" in made.stdout
    assert {p: p.read_bytes() for p in before} == before          # nothing sealed was touched
    said = yaml.safe_load(statement.read_text())
    assert said["statement"] == "attestation" and said["head"]["capture_id"] == second and said["head"]["sequence"] == 2
    assert openssl_verifies(root, "keys/archiver-signing-key.pub.pem", f"manifests/attestations/{statement.name}",
                            f"manifests/attestations/{statement.name}.sig")
    checked = cli(root, "verify")
    assert checked.returncode == 0, checked.stdout
    assert "warning" not in checked.stdout                          # vouched for: no 'unsigned' warnings left
    key = fingerprint_of(made, "fingerprint")
    assert f"key {key}: signed 0 capture(s) and 1 key statement(s) (current)" in checked.stdout
    data = json.loads(cli(root, "verify", "--quick", "--json").stdout)
    assert data["keys"] == [{"fingerprint": key, "role": "current", "captures_signed": 0, "statements": 1}]
    # the attested head's manifest edited: the attestation says what it was
    manifest = root / "manifests" / f"{second}.yaml"
    os.chmod(manifest, 0o644)
    manifest.write_bytes(manifest.read_bytes().replace(b"host:", b"host: x", 1) if b"host:" in manifest.read_bytes()
                         else manifest.read_bytes() + b"# edited\n")
    tampered = cli(root, "verify", "--quick")
    assert tampered.returncode == 1 and f"manifest replaced: attestation attestations/{statement.name}" in tampered.stdout


def test_keygen_without_a_terminal_says_how_to_attest_and_keygen_attest_attests_later(page: str, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    captured(root, page)
    made = cli(root, "keygen")
    assert made.returncode == 0 and "not attested the 1 capture(s) sealed before this key ('archiver keygen " \
                                    "--attest' attests them with this key)" in made.stdout
    assert not (root / "manifests" / "attestations").exists()
    later = cli(root, "keygen", "--attest")                          # the key exists: a dated attestation with it
    assert later.returncode == 0 and "attested     manifests/attestations/" in later.stdout
    assert cli(root, "verify").returncode == 0


def test_rotation_keeps_old_signatures_verifiable_and_moves_the_pin(page: str, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.joinpath("manifests").mkdir(parents=True)
    old = fingerprint_of(cli(root, "keygen"), "fingerprint")
    signed_old = captured(root, page)
    shutil.copy(root / "keys" / "archiver-signing-key.pub.pem", tmp_path / "old.pub.pem")
    rotated = cli(root, "keygen", "--rotate")
    assert rotated.returncode == 0, rotated.stderr
    new = fingerprint_of(rotated, "new key")
    hexed = old.removeprefix("sha256:")
    assert f"retired key  {old}: kept as keys/{hexed}.pub.pem and keys/{hexed}.pem" in rotated.stdout
    assert (root / "keys" / f"{hexed}.pub.pem").read_bytes() == (tmp_path / "old.pub.pem").read_bytes()
    assert oct((root / "keys" / f"{hexed}.pem").stat().st_mode & 0o777) == "0o600"
    (statement,) = (root / "manifests" / "attestations").glob("*.yaml")
    rel = f"manifests/attestations/{statement.name}"
    assert openssl_verifies(root, f"keys/{hexed}.pub.pem", rel, rel + ".sig")                 # the old key signed it
    assert openssl_verifies(root, "keys/archiver-signing-key.pub.pem", rel, rel + ".new.sig")  # and the new one
    assert openssl_verifies(root, f"keys/{hexed}.pub.pem", f"manifests/{signed_old}.sha256",
                            f"manifests/{signed_old}.sha256.sig")
    signed_new = captured(root, page)                   # the pin moved: capture signs with the new key
    assert yaml.safe_load((root / "manifests" / f"{signed_new}.yaml").read_text())["signing_key"] == new
    checked = cli(root, "verify")
    assert checked.returncode == 0, checked.stdout
    assert f"key {new}: signed 1 capture(s) and 1 key statement(s) (current)" in checked.stdout
    assert f"key {old}: signed 1 capture(s) and 1 key statement(s) (retired: rotated to {new} on " in checked.stdout
    keys = json.loads(cli(root, "verify", "--quick", "--json").stdout)["keys"]
    assert [(k["fingerprint"], k["captures_signed"]) for k in keys] == [(new, 1), (old, 1)]
    # a recipient who trusts either key alone checks every capture
    for trusted in (tmp_path / "old.pub.pem", root / "keys" / "archiver-signing-key.pub.pem"):
        run = cli(root, "verify", "--trusted-key", str(trusted))
        assert run.returncode == 0, (trusted, run.stdout)


def test_an_unannounced_replacement_is_still_refused(page: str, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.joinpath("manifests").mkdir(parents=True)
    cli(root, "keygen")
    captured(root, page)
    other = tmp_path / "other"
    other.joinpath("manifests").mkdir(parents=True)
    assert cli(other, "keygen").returncode == 0
    for name in ("archiver-signing-key.pem", "archiver-signing-key.pub.pem"):
        os.replace(other / "keys" / name, root / "keys" / name)
    refused = cli(root, "verify", "--quick")
    assert refused.returncode == 1 and "but this user pinned" in refused.stdout
    assert cli(root, "capture", page).returncode != 0        # and nothing is signed with it
    assert cli(root, "keygen", "--rotate").returncode != 0   # nor can it announce itself


def test_a_forged_rotation_statement_is_an_error(page: str, tmp_path: Path) -> None:
    """Copying a rotation statement's bytes with the new key's signature alone (no old key to sign
    with) does not announce anything: the statement is an error and the pin still refuses."""
    root = tmp_path / "ws"
    root.joinpath("manifests").mkdir(parents=True)
    cli(root, "keygen")
    captured(root, page)
    assert cli(root, "keygen", "--rotate").returncode == 0
    (statement,) = (root / "manifests" / "attestations").glob("*.yaml")
    old_sig = statement.with_name(statement.name + ".sig")
    old_sig.write_bytes(bytes(64))
    run = cli(root, "verify", "--quick")
    assert run.returncode == 1 and f"key statement manifests/attestations/{statement.name}: not signed by" in run.stdout


def test_clean_and_verify_treat_statements_and_retired_keys_as_known(page: str, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    captured(root, page)
    cli(root, "keygen", "--attest")
    captured(root, page)
    assert cli(root, "keygen", "--rotate").returncode == 0
    files = sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and ".archiver" not in p.parts)
    dry = json.loads(cli(root, "clean", "--dry-run", "--json").stdout)
    assert dry["removed"] == []
    assert cli(root, "clean").returncode == 0
    assert sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and ".archiver" not in p.parts) == files
    checked = cli(root, "verify")
    assert checked.returncode == 0 and "orphan" not in checked.stdout, checked.stdout
