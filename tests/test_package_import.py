"""Importing archiver's own packages losslessly (transfer.package_import): capture ids, manifests,
checksum lists and signatures kept byte for byte; the importing workspace seals an import manifest
that vouches for them; verify, lookup, cite and reindex work on them; export -> import -> export
gives the same manifests; importing again changes nothing and says so.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from packaged import SETTINGS, three_captures

from archiver.core.workspace import Workspace
from archiver.transfer.bag_export import export_bag
from archiver.transfer.wacz_export import export_wacz


@dataclass(frozen=True)
class Source:
    workspace: Workspace
    ids: list[str]             # oldest first; the last is exported, the first holds its revisits' originals
    article: str
    bag: Path
    wacz: Path


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    base = tmp_path_factory.mktemp("source")
    workspace, ids, article = three_captures(base / "ws")
    bag = export_bag(workspace, [ids[2]], base / "bag", SETTINGS)
    wacz = export_wacz(workspace, [ids[2]], base / "article.wacz", SETTINGS)
    return Source(workspace, ids, article, bag, wacz)


def cli(root: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archiver", "-w", str(root), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def fresh(tmp_path: Path, signed: bool = True) -> Path:
    """A new workspace of its own, with its own key."""
    root = tmp_path / "second"
    assert cli(root, "init", root, "--no-input").returncode == 0
    if signed:
        assert cli(root, "keygen").returncode == 0
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".archiver" not in p.parts}


def seals(root: Path, capture_ids: list[str]) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for cid in capture_ids for p in sorted(root.glob(f"**/{cid}.*"))
            if p.suffix in (".yaml", ".sha256", ".sig")}


@pytest.mark.parametrize("kind", ["bag", "wacz"])
def test_an_archiver_package_imports_with_its_ids_and_seals(source: Source, kind: str, tmp_path: Path) -> None:
    root = fresh(tmp_path)
    done = cli(root, "import", source.bag if kind == "bag" else source.wacz, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    held = [source.ids[0], source.ids[2]]
    for cid in held:               # byte for byte as their own workspace sealed them
        for suffix in (".yaml", ".sha256", ".sha256.sig"):
            mine = source.workspace.manifests_dir / f"{cid}{suffix}"
            if mine.exists():
                assert (root / "manifests" / f"{cid}{suffix}").read_bytes() == mine.read_bytes()
    assert not (root / "manifests" / f"{source.ids[1]}.yaml").exists()       # the link out is not imported
    record_id = json.loads(done.stdout)["capture_id"]
    record = yaml.safe_load((root / "manifests" / f"{record_id}.yaml").read_text(encoding="utf-8"))
    assert record["sequence"] == 1 and record["previous"] is None and record["signing_key"]   # this chain's own
    imported = record["imported_from"]
    assert imported["format"] == "archiver-package" and [c["capture_id"] for c in imported["captures"]] == held
    assert record["settings"] == {} and record["resources"] == []        # it archived nothing, claims no settings
    check = cli(root, "verify", "--json")
    assert check.returncode == 0, check.stdout
    assert sorted(json.loads(check.stdout)["captures"]) == sorted([*held, record_id])
    assert json.loads(check.stdout)["chain_head"]["capture_id"] == record_id


def test_export_import_export_gives_the_same_manifests(source: Source, tmp_path: Path) -> None:
    root = fresh(tmp_path)
    assert cli(root, "import", source.bag).returncode == 0
    again = cli(root, "export", "bag", source.ids[2], "-o", tmp_path / "again")
    assert again.returncode == 0, again.stderr
    before = seals(source.bag / "data" / "manifests", source.ids)
    assert before and seals(tmp_path / "again" / "data" / "manifests", source.ids) == before
    verified = cli(tmp_path, "verify", tmp_path / "again")
    assert verified.returncode == 0, verified.stdout
    wacz = cli(root, "export", "wacz", source.ids[2], "-o", tmp_path / "again.wacz")
    assert wacz.returncode == 0 and cli(tmp_path, "verify", tmp_path / "again.wacz").returncode == 0


def test_importing_again_changes_nothing_and_says_so(source: Source, tmp_path: Path) -> None:
    root = fresh(tmp_path)
    first = cli(root, "import", source.bag, "--json")
    assert first.returncode == 0
    record_id = json.loads(first.stdout)["capture_id"]
    before = snapshot(root)
    for package in (source.bag, source.wacz):          # the same captures, in either package
        again = cli(root, "import", package)
        assert again.returncode == 0, again.stderr
        assert f"already imported as capture {record_id}; nothing written" in again.stdout
    assert snapshot(root) == before


def test_imported_captures_are_found_cited_and_reindexed(source: Source, tmp_path: Path) -> None:
    root = fresh(tmp_path, signed=False)
    assert cli(root, "import", source.wacz).returncode == 0
    assert cli(root, "reindex").returncode == 0
    found = cli(root, "lookup", source.article, "--json")
    assert found.returncode == 0, found.stderr
    assert {m["capture_id"] for m in json.loads(found.stdout)["mementos"]} == {source.ids[0], source.ids[2]}
    cited = cli(root, "cite", source.article, "--style", "apa")
    assert cited.returncode == 0, cited.stderr
    # the newest copy is a revisit: its title and date come through the original it refers to
    assert "harbour dredging contract" in cited.stdout and "(n.d.)" not in cited.stdout
    assert source.ids[2] in cited.stdout


def test_a_changed_imported_manifest_fails_verify(source: Source, tmp_path: Path) -> None:
    root = fresh(tmp_path)
    assert cli(root, "import", source.bag).returncode == 0
    path = root / "manifests" / f"{source.ids[2]}.yaml"
    path.write_bytes(path.read_bytes().replace(b"resources:", b"resources: ", 1))
    check = cli(root, "verify")
    assert check.returncode == 1
    assert f"capture {source.ids[2]}: manifest edited" in check.stdout


def test_a_tampered_package_is_refused_and_nothing_is_written(source: Source, tmp_path: Path) -> None:
    root = fresh(tmp_path)
    before = snapshot(root)
    bag = Path(shutil.copytree(source.bag, tmp_path / "bag"))
    sig = bag / "data" / "manifests" / f"{source.ids[2]}.sha256.sig"
    sig.write_bytes(bytes([sig.read_bytes()[0] ^ 1]) + sig.read_bytes()[1:])
    done = cli(root, "import", bag)
    assert done.returncode == 2 and "does not verify" in done.stderr and "Traceback" not in done.stderr
    assert snapshot(root) == before


def test_import_and_list_say_what_an_import_record_is(source: Source, tmp_path: Path) -> None:
    """A person reads which captures came in and that the import record vouches for them, not a
    capture of 0 resources."""
    root = fresh(tmp_path)
    done = cli(root, "import", source.wacz)
    assert done.returncode == 0, done.stderr
    held = [source.ids[0], source.ids[2]]
    assert done.stdout.startswith(f"imported 2 capture(s) from {source.wacz.name} (an archiver package")
    assert all(f"  {cid}  " in done.stdout for cid in held) and "0 resources" not in done.stdout
    record_id = done.stdout.rsplit("import record ", 1)[1].split(":", 1)[0]
    listed = cli(root, "list")
    row = next(line for line in listed.stdout.splitlines() if record_id in line)
    assert " import " in row and "vouches for 2 imported capture(s)" in row and all(cid in row for cid in held)
    data = json.loads(cli(root, "list", "--json").stdout)
    entry = next(c for c in data["captures"] if c["capture_id"] == record_id)
    assert entry["imports"] == held
    assert all(c["imports"] == [] for c in data["captures"] if c["capture_id"] != record_id)
    checked = cli(root, "verify")
    assert checked.returncode == 0, checked.stdout
    assert "signed: 1 capture(s), checked against" in checked.stdout
    assert "imported capture(s) under their own keys (keys/imported/)" in checked.stdout
    assert "vouched for by this workspace's import record)" in checked.stdout and "NOT linked" not in checked.stdout
