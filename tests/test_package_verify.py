"""``archiver verify PACKAGE``: a capture exported as WACZ and as a BagIt bag, moved to an empty folder,
checked with no workspace; then one byte changed in a payload, a manifest, a checksum list, a
signature and the segment file, each found and named. The standard-tools procedure of
docs/evidence.md (docs/check-package.sh: unzip, sha256sum, openssl) agrees every time, and
``wacz validate`` and ``bagit.py --validate`` pass on every package as exported.

The workspace: a first capture unsigned, then a key, then two signed captures of the same site. The
last one is exported: every payload is a revisit of the first capture's, so the package holds the
first capture's WARC file and seal, but not the second capture, which the chain passes through.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaged import SETTINGS, three_captures

from archiver.core.workspace import Workspace
from archiver.transfer.bag_export import export_bag
from archiver.transfer.wacz_export import export_wacz

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "docs" / "check-package.sh"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Exported:
    workspace: Workspace
    ids: list[str]            # oldest first
    wacz: Path
    bag: Path
    key: Path                 # the workspace's public key, as its owner would hand it over


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    base = tmp_path_factory.mktemp("package")
    workspace, ids, article = three_captures(base / "ws")
    out = tmp_path_factory.mktemp("exported")
    wacz = export_wacz(workspace, [ids[2]], out / "article.wacz", SETTINGS)
    bag = export_bag(workspace, [ids[2]], out / "article-bag", SETTINGS)
    key = shutil.copy(workspace.public_key_path, out / "owner.pub.pem")
    return Exported(workspace, ids, wacz, bag, Path(key))


def moved(exported: Exported, kind: str, into: Path) -> Path:
    """The package copied to an empty folder, away from the workspace."""
    into.mkdir()
    if kind == "wacz":
        return Path(shutil.copy(exported.wacz, into / exported.wacz.name))
    return Path(shutil.copytree(exported.bag, into / exported.bag.name))


def verify_package(package: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "verify", str(package), *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=package.parent)


def standard_tools(package: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(SCRIPT), str(package), *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=package.parent)


# -- intact packages -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wacz", "bag"])
def test_an_exported_package_verifies_on_its_own(exported: Exported, kind: str, tmp_path: Path) -> None:
    package = moved(exported, kind, tmp_path / "empty")
    done = verify_package(package, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["kind"] == kind and report["problems"] == []
    assert report["captures"] == sorted([exported.ids[0], exported.ids[2]])   # the export and its originals' holder
    assert report["chain_head"]["capture_id"] == exported.ids[2]
    assert report["signed"] == [exported.ids[2]] and report["records_checked"] > 50
    trusted = verify_package(package, "--trusted-key", exported.key)
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert "all sealed captures intact" in trusted.stdout
    tools = standard_tools(package)
    assert tools.returncode == 0 and tools.stdout.strip() == "package intact", tools.stdout + tools.stderr
    assert standard_tools(package, exported.key).returncode == 0


def test_the_package_names_the_chain_it_comes_from(exported: Exported) -> None:
    with zipfile.ZipFile(exported.wacz) as zf:
        segment = zf.read("archiver/chain.yaml").decode("utf-8")
        provenance = zf.read("archiver/provenance.txt").decode("utf-8")
    assert (exported.bag / "data" / "chain.yaml").read_text(encoding="utf-8") == segment
    second = exported.workspace.manifest_path(exported.ids[1]).read_bytes()
    # the capture between the holder and the export is a link out: named with its digest, not held
    stated = yaml.safe_load(segment)
    assert stated["links_out"] == [{"capture_id": exported.ids[1], "sha256": hashlib.sha256(second).hexdigest()}]
    assert [(c["capture_id"], c["exported"]) for c in stated["captures"]] == [(exported.ids[0], False),
                                                                              (exported.ids[2], True)]
    assert "Saltmarsh Town Library <archive@saltmarsh.example>" in provenance
    assert "archiver verify PACKAGE" in provenance and "openssl pkeyutl -verify" in provenance


@pytest.mark.parametrize("kind", ["wacz", "bag"])
def test_the_field_tools_accept_every_package(exported: Exported, kind: str) -> None:
    if kind == "wacz":
        done = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(exported.wacz)], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0 and "is valid" in done.stdout, done.stdout + done.stderr
    else:
        done = subprocess.run([sys.executable, str(BIN / "bagit.py"), "--validate", str(exported.bag)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "is valid" in done.stderr, done.stderr


# -- one changed byte --------------------------------------------------------------------------------


def flip_hex(data: bytes, after: bytes) -> bytes:
    """The first hex digit following ``after`` changed to another hex digit."""
    at = data.index(after) + len(after)
    while chr(data[at]) not in "0123456789abcdef":
        at += 1
    return data[:at] + (b"0" if data[at:at + 1] != b"0" else b"1") + data[at + 1:]


def flip_middle(data: bytes, _: bytes) -> bytes:
    at = len(data) // 2
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


# what is changed: (file as named in a bag's data/ folder, how, what verify's message names)
CHANGES: dict[str, tuple[Callable[[Exported], str], Callable[[bytes, bytes], bytes], bytes]] = {
    "payload": (lambda e: f"archive/{e.ids[2]}-00000.warc.gz", flip_middle, b""),
    "original payload": (lambda e: f"archive/{e.ids[0]}-00000.warc.gz", flip_middle, b""),
    "manifest": (lambda e: f"manifests/{e.ids[2]}.yaml", flip_hex, b"payload_sha256: "),
    "checksum list": (lambda e: f"manifests/{e.ids[2]}.sha256", flip_hex, b""),
    "signature": (lambda e: f"manifests/{e.ids[2]}.sha256.sig", flip_middle, b""),
    "segment file": (lambda e: "chain.yaml", flip_hex, b"sha256: "),
}


def wacz_name(name: str) -> str:
    """Where a bag's data/ file is in the WACZ."""
    return name if name.startswith("archive/") else "archiver/" + name.rsplit("/", 1)[-1]


def tamper_wacz(package: Path, name: str, change: Callable[[bytes], bytes]) -> None:
    """Change one member, and re-bless it in datapackage.json and its digest, as a forger would:
    only archiver's seals and signatures are left to notice."""
    with zipfile.ZipFile(package) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members[name] = change(members[name])
    listing = json.loads(members["datapackage.json"])
    for resource in listing["resources"]:
        if resource["path"] == name:
            resource["hash"] = "sha256:" + hashlib.sha256(members[name]).hexdigest()
    members["datapackage.json"] = json.dumps(listing, indent=2).encode("utf-8")
    digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(members["datapackage.json"]).hexdigest()}
    members["datapackage-digest.json"] = json.dumps(digest, indent=2).encode("utf-8")
    package.unlink()
    with zipfile.ZipFile(package, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data, zipfile.ZIP_STORED if member.startswith("archive/") else zipfile.ZIP_DEFLATED)


@pytest.mark.parametrize("kind", ["wacz", "bag"])
@pytest.mark.parametrize("what", sorted(CHANGES))
def test_one_changed_byte_is_found_and_named(exported: Exported, kind: str, what: str, tmp_path: Path) -> None:
    package = moved(exported, kind, tmp_path / "empty")
    where, how, after = CHANGES[what]
    name = where(exported)
    if kind == "bag":
        path = package / "data" / name
        path.write_bytes(how(path.read_bytes(), after))
        shown = f"data/{name}"
    else:
        shown = wacz_name(name)
        tamper_wacz(package, shown, lambda data: how(data, after))
    done = verify_package(package)
    assert done.returncode == 1, done.stdout + done.stderr
    errors = [line for line in done.stdout.splitlines() if line.startswith("error: ")]
    assert errors and any(shown in line for line in errors), (shown, done.stdout)
    assert "NOT intact" in done.stdout
    trusted = verify_package(package, "--trusted-key", exported.key)
    assert trusted.returncode == 1
    tools = standard_tools(package)
    assert tools.returncode == 1 and "FAILED" in tools.stdout, tools.stdout + tools.stderr


def test_a_capture_dropped_from_a_package_is_missed(exported: Exported, tmp_path: Path) -> None:
    """Removing the holder of the originals, seal and WARC file, from a re-blessed WACZ: the segment
    file still lists it; editing the segment file too breaks its signature."""
    package = moved(exported, "wacz", tmp_path / "empty")
    holder = exported.ids[0]
    with zipfile.ZipFile(package) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist() if holder not in i.filename}
    listing = json.loads(members["datapackage.json"])
    listing["resources"] = [r for r in listing["resources"] if holder not in r["path"]]
    members["datapackage.json"] = json.dumps(listing).encode("utf-8")
    members["datapackage-digest.json"] = json.dumps(
        {"hash": "sha256:" + hashlib.sha256(members["datapackage.json"]).hexdigest()}).encode("utf-8")
    package.unlink()
    with zipfile.ZipFile(package, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    done = verify_package(package)
    assert done.returncode == 1
    assert re.search(rf"error: capture {holder}: missing: chain.yaml lists this capture", done.stdout), done.stdout
    assert "revisit target missing" in done.stdout


def test_what_is_not_a_package_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "not.wacz").write_bytes(b"PK but not really")
    for target, says in ((tmp_path / "folder", "not a package"), (tmp_path / "not.wacz", "not a readable ZIP")):
        done = verify_package(target)
        assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
