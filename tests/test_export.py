"""Exports, checked with the tools that read them: cdxj-indexer, bagit.py, ``wacz validate`` and pywb.

Two captures of the sample site share one workspace; the second is signed and stores revisits,
because every payload is identical to the first capture's. Exporting only the second capture must
carry the first capture's WARC file too, and pywb must replay the second capture from it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from pywbkit import fetch, wayback

from archiver import capture
from archiver.core.errors import ManifestError, NotArchivedError, UsageError
from archiver.core.models import CaptureResult
from archiver.core.moments import parse_moment
from archiver.core.settings import CaptureOptions, Operator, Settings
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.demo.server import Site
from archiver.fixity.signing import generate_key_pair
from archiver.transfer.bag_export import encode_path, export_bag
from archiver.transfer.cdxj import cdxj_lines, write_cdxj
from archiver.transfer.wacz_export import export_wacz

BIN = Path(sys.executable).parent
BAGIT, WACZ, CDXJ_INDEXER = BIN / "bagit.py", BIN / "wacz", BIN / "cdxj-indexer"
SETTINGS = Settings(operator=Operator(name="Saltmarsh Town Library", contact="archive@saltmarsh.example"))
LINE = re.compile(r"^(\S+) (\d{14}) (\{.*\})$")
KEYS = ["url", "mime", "status", "digest", "length", "offset", "filename"]


@dataclass(frozen=True)
class Captured:
    workspace: Workspace
    site: Site
    article: str
    first: CaptureResult
    second: CaptureResult         # signed, and all revisits of the first


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    workspace = Workspace(tmp_path_factory.mktemp("export") / "ws")
    with sample_site() as site:
        article = site.url("news", ARTICLE_PATH)
        first = capture([article], workspace, CaptureOptions(timeout=5))
        time.sleep(1.1)           # the two captures get different 14-digit timestamps
        generate_key_pair(workspace.private_key_path, workspace.public_key_path)
        second = capture([article], workspace, CaptureOptions(timeout=5))
    assert first.ok and second.ok, (first.seed_problems, second.seed_problems)
    return Captured(workspace, site, article, first, second)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], check=False, capture_output=True, text=True, timeout=120)


def warc_names(result: CaptureResult) -> set[str]:
    return {Path(w.path).name for w in result.warc_files}


def seed(result: CaptureResult):
    return next(r for r in result.resources if r.role == "seed")


# -- CDXJ ---------------------------------------------------------------------------------------


def test_cdxj_lines_are_sorted_parseable_and_match_cdxj_indexer(captured: Captured) -> None:
    lines = cdxj_lines(captured.workspace)
    assert lines == sorted(lines, key=str.encode)
    for line in lines:
        _key, _ts, data = LINE.match(line).groups()  # type: ignore[union-attr]
        fields = json.loads(data)
        assert list(fields) == KEYS and all(isinstance(v, str) for v in fields.values())
        assert "/" not in fields["filename"] and ";" not in fields["mime"]
    warcs = sorted(captured.workspace.archive_dir.glob("*.warc.gz"))
    indexed = run(CDXJ_INDEXER, *warcs)
    assert indexed.returncode == 0, indexed.stderr
    assert lines == sorted(indexed.stdout.splitlines(), key=str.encode)   # pywb's own indexer agrees


def test_cdxj_of_one_capture_marks_revisits_with_the_warc_payload_digest(captured: Captured) -> None:
    lines = cdxj_lines(captured.workspace, [captured.second.capture_id])
    fields = [json.loads(LINE.match(line).group(3)) for line in lines]  # type: ignore[union-attr]
    assert len(fields) == len(captured.second.resources)
    assert {f["filename"] for f in fields} == warc_names(captured.second)
    article = next(f for f in fields if f["url"] == captured.article)
    res = seed(captured.second)
    assert article["mime"] == "warc/revisit" and article["status"] == "200"
    assert article["digest"] == res.warc_payload_digest == f"sha256:{res.payload_sha256}"
    first = cdxj_lines(captured.workspace, [captured.first.capture_id])
    assert any(f'"url": "{captured.article}", "mime": "text/html"' in line for line in first)


def test_write_cdxj_writes_every_line_atomically(captured: Captured, tmp_path: Path) -> None:
    out = tmp_path / "index.cdxj"
    count = write_cdxj(captured.workspace, out)
    assert out.read_text(encoding="utf-8").splitlines() == cdxj_lines(captured.workspace)
    assert count == len(captured.first.resources) + len(captured.second.resources)
    assert [p.name for p in tmp_path.iterdir()] == ["index.cdxj"]


def test_unknown_capture_id_is_a_clear_error(captured: Captured, tmp_path: Path) -> None:
    unknown = "20991231T235959Z-abcdef"
    with pytest.raises(NotArchivedError, match=f"^no capture {unknown} in this workspace$"):
        cdxj_lines(captured.workspace, [unknown])
    with pytest.raises(NotArchivedError, match=unknown):
        export_bag(captured.workspace, [captured.first.capture_id, unknown], tmp_path / "bag", SETTINGS)
    with pytest.raises(NotArchivedError, match=unknown):
        export_wacz(captured.workspace, [unknown], tmp_path / "out.wacz", SETTINGS)
    with pytest.raises(UsageError, match="at least one capture"):
        export_wacz(captured.workspace, [], tmp_path / "out.wacz", SETTINGS)
    assert list(tmp_path.iterdir()) == []          # nothing half-written left behind


# -- BagIt --------------------------------------------------------------------------------------


def bagit_validate(bag: Path) -> None:
    done = run(sys.executable, BAGIT, "--validate", bag)
    assert done.returncode == 0 and "is valid" in done.stderr, done.stderr


def manifest_paths(bag: Path, name: str) -> list[str]:
    return [line.split("  ", 1)[1] for line in (bag / name).read_text(encoding="utf-8").splitlines()]


def test_bag_of_two_captures_is_valid_and_complete(captured: Captured, tmp_path: Path) -> None:
    ids = [captured.first.capture_id, captured.second.capture_id]
    bag = export_bag(captured.workspace, ids, tmp_path / "bag", SETTINGS)
    assert bag == tmp_path / "bag" and [p.name for p in tmp_path.iterdir()] == ["bag"]
    bagit_validate(bag)
    assert (bag / "bagit.txt").read_bytes() == b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    payload = sorted(p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file())
    for algorithm in ("sha256", "sha512"):
        assert sorted(manifest_paths(bag, f"manifest-{algorithm}.txt")) == payload     # each file once
        assert sorted(manifest_paths(bag, f"tagmanifest-{algorithm}.txt")) == sorted(
            ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt"])
    first, second = ids
    expected = {f"data/archive/{n}" for n in warc_names(captured.first) | warc_names(captured.second)}
    expected |= {f"data/manifests/{first}.yaml", f"data/manifests/{first}.sha256",
                 f"data/manifests/{second}.yaml", f"data/manifests/{second}.sha256",
                 f"data/manifests/{second}.sha256.sig"}                    # only the second is signed
    expected |= {f"data/citations/{cid}.{ext}" for cid in ids for ext in ("bib", "json", "ris")}
    key = hashlib.sha256((captured.workspace.public_key_path).read_bytes()).hexdigest()   # PEM hash: not the name
    proof = {"data/chain.yaml", "data/chain.yaml.sig", "data/provenance.txt"}      # transfer.package_proof
    assert proof <= set(payload) and len([p for p in payload if p.endswith(".pub.pem")]) == 1 and key
    assert set(payload) - {p for p in payload if p.endswith(".pub.pem")} == expected | proof
    for warc in captured.first.warc_files:
        assert (bag / "data" / warc.path).read_bytes() == (captured.workspace.root / warc.path).read_bytes()
    info = (bag / "bag-info.txt").read_text(encoding="utf-8").splitlines()
    size = sum((bag / p).stat().st_size for p in payload)
    assert f"Payload-Oxum: {size}.{len(payload)}" in info
    assert [line for line in info if line.startswith("External-Identifier: ")] == [
        f"External-Identifier: {first}", f"External-Identifier: {second}"]
    assert "Source-Organization: Saltmarsh Town Library" in info
    assert "Contact-Email: archive@saltmarsh.example" in info
    assert re.search(r"^Bagging-Date: \d{4}-\d{2}-\d{2}$", "\n".join(info), re.MULTILINE)
    assert any(re.fullmatch(r"Bag-Software-Agent: archiver/\S+", line) for line in info)
    csl = json.loads((bag / "data" / "citations" / f"{second}.json").read_text(encoding="utf-8"))
    assert captured.article in [item["URL"] for item in csl]          # sorted as bibliographies are, not article first
    assert (bag / "data" / "citations" / f"{second}.bib").read_text(encoding="utf-8").startswith("@")
    assert "TY  - " in (bag / "data" / "citations" / f"{second}.ris").read_text(encoding="utf-8")


def test_bag_of_the_revisiting_capture_carries_the_originals(captured: Captured, tmp_path: Path) -> None:
    bag = export_bag(captured.workspace, [captured.second.capture_id], tmp_path / "bag", SETTINGS)
    bagit_validate(bag)
    held = {p.name for p in (bag / "data" / "archive").iterdir()}
    assert held == warc_names(captured.first) | warc_names(captured.second)
    # the holder of the originals travels with its seal (its manifest vouches for their bytes), not as an export
    assert (bag / "data" / "manifests" / f"{captured.first.capture_id}.yaml").exists()
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert info.count("External-Identifier:") == 1
    assert not any("key" in p.name for p in bag.rglob("*"))      # the signing key never leaves


def test_bag_refuses_existing_folders_and_dotdot_paths(captured: Captured, tmp_path: Path) -> None:
    ids = [captured.first.capture_id]
    (tmp_path / "taken").mkdir()
    with pytest.raises(UsageError, match="already exists"):
        export_bag(captured.workspace, ids, tmp_path / "taken", SETTINGS)
    with pytest.raises(UsageError, match=r"'\.\.'"):
        export_bag(captured.workspace, ids, tmp_path / "taken" / ".." / "bag", SETTINGS)
    assert not (tmp_path / "bag").exists() and list((tmp_path / "taken").iterdir()) == []


def test_bag_never_reblesses_a_changed_warc(captured: Captured, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(captured.workspace.root, root)
    warc = root / captured.first.warc_files[0].path
    data = bytearray(warc.read_bytes())
    data[-10] ^= 0xFF
    warc.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="run archiver verify"):
        export_bag(Workspace(root), [captured.second.capture_id], tmp_path / "bag", SETTINGS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws"]          # no bag, no temporary folder


def test_bag_paths_percent_encode_percent_first() -> None:
    assert encode_path("data/a%0Ab\r\nc.txt") == "data/a%250Ab%0D%0Ac.txt"


# -- WACZ ---------------------------------------------------------------------------------------


def wacz_validate(path: Path) -> None:
    done = run(WACZ, "validate", "-f", path)
    assert done.returncode == 0 and "the passed WACZ is valid" in done.stdout, done.stdout + done.stderr


def ts14(date: str) -> str:
    return "".join(ch for ch in date if ch.isdigit())[:14]


def test_wacz_is_valid_and_laid_out_as_the_spec_asks(captured: Captured, tmp_path: Path) -> None:
    cid = captured.first.capture_id
    out = export_wacz(captured.workspace, [cid], tmp_path / "first.wacz", SETTINGS)
    assert [p.name for p in tmp_path.iterdir()] == ["first.wacz"]
    wacz_validate(out)
    with zipfile.ZipFile(out) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        package = zf.read("datapackage.json")
        digest = json.loads(zf.read("datapackage-digest.json"))
        pages = zf.read("pages/pages.jsonl").decode("utf-8").splitlines()
        index = zf.read("indexes/index.cdx").decode("utf-8").splitlines()
        files = {name: zf.read(name) for name in infos}
    warcs = {f"archive/{n}" for n in warc_names(captured.first)}
    assert {n for n in infos if n.startswith("archive/")} == warcs
    assert all(infos[n].compress_type == zipfile.ZIP_STORED for n in warcs)
    assert {f"archiver/{cid}.{ext}" for ext in ("yaml", "sha256", "bib", "json", "ris")} <= set(infos)
    assert f"archiver/{cid}.sha256.sig" not in infos                       # the first is unsigned
    meta = json.loads(package)
    assert meta["profile"] == "data-package" and meta["wacz_version"] == "1.1.1"
    assert meta["software"].startswith("archiver ") and parse_moment(meta["created"])
    assert cid in meta["title"]
    listed = {r["path"]: r for r in meta["resources"]}
    assert set(listed) == set(infos) - {"datapackage.json", "datapackage-digest.json"}
    for path, resource in listed.items():
        assert resource["hash"] == f"sha256:{sha256(files[path])}" and resource["bytes"] == len(files[path])
    assert digest == {"path": "datapackage.json", "hash": f"sha256:{sha256(package)}"}
    assert json.loads(pages[0]) == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    entries = [json.loads(p) for p in pages[1:]]
    assert entries[0]["url"] == captured.article and entries[0]["title"].startswith("Council awards")
    assert entries[0]["ts"] == seed(captured.first).date and parse_moment(entries[0]["ts"])
    pages_of = {r.url for r in captured.first.resources if r.role in ("seed", "source") and 200 <= r.status < 300}
    assert {e["url"] for e in entries} == pages_of
    assert index == cdxj_lines(captured.workspace, [cid])
    filenames = {json.loads(LINE.match(i).group(3))["filename"] for i in index}  # type: ignore[union-attr]
    assert filenames == warc_names(captured.first)


def test_wacz_replays_the_article_in_pywb(captured: Captured, tmp_path: Path) -> None:
    out = export_wacz(captured.workspace, [captured.first.capture_id], tmp_path / "first.wacz", SETTINGS)
    (tmp_path / "pywb").mkdir()
    with wayback([out], tmp_path / "pywb") as base:
        body, _ = fetch(f"{base}/coll/{ts14(seed(captured.first).date)}id_/{captured.article}")
    assert sha256(body) == captured.site.served_for(captured.article).sha256


def test_wacz_of_the_revisiting_capture_is_self_contained(captured: Captured, tmp_path: Path) -> None:
    second = captured.second.capture_id
    out = export_wacz(captured.workspace, [second], tmp_path / "second.wacz", SETTINGS)
    wacz_validate(out)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        index = zf.read("indexes/index.cdx").decode("utf-8").splitlines()
        pages = [json.loads(p) for p in zf.read("pages/pages.jsonl").decode("utf-8").splitlines()[1:]]
    assert {f"archive/{n}" for n in warc_names(captured.first) | warc_names(captured.second)} <= names
    assert f"archiver/{second}.sha256.sig" in names
    first = captured.first.capture_id           # held for its originals: its seal, not its citations
    assert {n for n in names if first in n and not n.startswith("archive/")} == \
        {f"archiver/{first}.yaml", f"archiver/{first}.sha256"}
    assert not any("key" in n for n in names)
    fields = [json.loads(LINE.match(i).group(3)) for i in index]  # type: ignore[union-attr]
    revisits = [f for f in fields if f["mime"] == "warc/revisit"]
    originals = [f for f in fields if f["filename"] in warc_names(captured.first)]
    assert revisits and len(originals) == len({json.dumps(f) for f in originals})
    assert {f["digest"] for f in revisits} <= {f["digest"] for f in originals}   # every revisit has its original
    assert all(p["ts"].startswith(seed(captured.second).date[:10]) for p in pages)
    assert {p["ts"] for p in pages} <= {r.date for r in captured.second.resources}   # pages of the second only
    # each page's main text, which ReplayWeb.page searches: a revisit's comes from its original
    article = next(p for p in pages if p["url"] == seed(captured.second).url)
    assert "dredging" in article["text"] and seed(captured.second).revisit_of is not None

    (tmp_path / "pywb").mkdir()
    res = seed(captured.second)
    assert ts14(res.date) != ts14(seed(captured.first).date)
    with wayback([out], tmp_path / "pywb") as base:
        body, headers = fetch(f"{base}/coll/{ts14(res.date)}id_/{captured.article}")
    assert sha256(body) == captured.site.served_for(captured.article).sha256 == res.payload_sha256
    served_at = parsedate_to_datetime(headers["Memento-Datetime"])
    assert served_at.strftime("%Y%m%d%H%M%S") == ts14(res.date)      # the second capture's memento


# -- choosing the captures: ids, --all, --since -------------------------------------------------


def cli_export(captured: Captured, *args: object) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "archiver", "-w", captured.workspace.root, "export", *args)


def started_of(captured: Captured, result: CaptureResult) -> str:
    manifest = (captured.workspace.root / result.manifest_path).read_text(encoding="utf-8")
    return re.search(r"^started: ['\"]?([^'\"\n]+)['\"]?$", manifest, re.M).group(1)  # type: ignore[union-attr]


def wacz_captures(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return {Path(n).name.removesuffix(".yaml") for n in zf.namelist()
                if n.startswith("archiver/") and n.endswith(".yaml") and n != "archiver/chain.yaml"}


def test_export_all_and_since_choose_the_captures_from_the_cli(captured: Captured, tmp_path: Path) -> None:
    first, second = captured.first.capture_id, captured.second.capture_id
    everything = cli_export(captured, "wacz", "--all", "-o", tmp_path / "all.wacz")
    assert everything.returncode == 0, everything.stderr
    assert "(2 captures)" in everything.stdout
    assert wacz_captures(tmp_path / "all.wacz") == {first, second}
    since = started_of(captured, captured.second)      # the second started at or after this; the first before
    later = cli_export(captured, "bag", "--since", since, "-o", tmp_path / "later-bag")
    assert later.returncode == 0, later.stderr
    info = (tmp_path / "later-bag" / "bag-info.txt").read_text(encoding="utf-8")
    assert f"External-Identifier: {second}" in info and first not in info
    index = cli_export(captured, "cdxj", "--since", since, "-o", tmp_path / "later.cdxj")
    assert index.returncode == 0, index.stderr
    assert (tmp_path / "later.cdxj").read_text(encoding="utf-8").splitlines() == \
        cdxj_lines(captured.workspace, [second])
    whole = cli_export(captured, "cdxj", "-o", tmp_path / "whole.cdxj")      # cdxj alone: the whole index
    assert whole.returncode == 0 and (tmp_path / "whole.cdxj").read_text(encoding="utf-8").splitlines() == \
        cdxj_lines(captured.workspace)


@pytest.mark.parametrize("fmt", ["wacz", "bag"])
def test_export_without_a_choice_or_with_two_is_one_line_and_exit_2(captured: Captured, tmp_path: Path,
                                                                      fmt: str) -> None:
    for choice in ([], ["--all", captured.first.capture_id], ["--all", "--since", "2026-01-01"],
                   ["--since", "not a date"]):
        proc = cli_export(captured, fmt, *choice, "-o", tmp_path / "out")
        assert proc.returncode == 2, (choice, proc.stderr)
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("archiver: "), proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_export_since_after_every_capture_is_not_found(captured: Captured, tmp_path: Path) -> None:
    proc = cli_export(captured, "wacz", "--since", "2099-01-01", "-o", tmp_path / "none.wacz")
    assert proc.returncode == 1
    assert proc.stderr == "archiver: no capture started at or after 2099-01-01T00:00:00Z\n"
    assert list(tmp_path.iterdir()) == []
