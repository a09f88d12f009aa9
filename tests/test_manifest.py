from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.core.errors import ManifestError
from archiver.core.models import CaptureResult, Failure, Role, WarcFile
from archiver.core.settings import CaptureOptions, Operator
from archiver.core.workspace import Workspace
from archiver.fixity.manifest import build_manifest, read_manifest
from archiver.fixity.seal import seal

TRICKY = ["no", "0755", "2024-01-01", "190:20:30", "yes", "null", "1e3", "~"]


def result(capture_id: str = "20261129T120000Z-abcdef") -> CaptureResult:
    return CaptureResult(
        capture_id=capture_id, manifest_path="", seeds=("http://h.example/a",),
        warc_files=(WarcFile("archive/x.warc.gz", 10, "0" * 64),), resources=(),
        failures=tuple(Failure(f"http://h.example/{t}", Role.SOURCE, None, t, t) for t in TRICKY),
        skipped=(), flags=())


def test_yaml_round_trips_values_that_look_like_other_types(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    when = datetime(2026, 11, 29, 12, tzinfo=UTC)
    manifest = build_manifest(result(), started=when, ended=when, options=CaptureOptions(),
                              operator=Operator("no", "0755"), redacted=[])
    path = seal(ws, manifest).manifest
    back = read_manifest(path)
    assert [f["reason"] for f in back["failures"]] == TRICKY
    assert [f["kind"] for f in back["failures"]] == TRICKY
    assert back["operator"] == {"name": "no", "contact": "0755"}
    assert back["started"] == "2026-11-29T12:00:00.000000Z"


def test_manifests_are_never_rewritten(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    when = datetime(2026, 11, 29, tzinfo=UTC)
    m = build_manifest(result(), started=when, ended=when, options=CaptureOptions(), operator=Operator(), redacted=[])
    seal(ws, m)
    with pytest.raises(ManifestError, match="never rewritten"):
        seal(ws, dict(m))
    assert not [p for p in ws.manifests_dir.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("text,message", [
    ("- a list\n", "not a YAML mapping"),
    ("format: other\n", "missing"),
    ("{format: [unclosed\n", "cannot be read"),
])
def test_read_manifest_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(ManifestError, match=message) as err:
        read_manifest(path)
    assert str(path) in str(err.value)


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    when = datetime(2026, 11, 29, tzinfo=UTC)
    m = build_manifest(result(), started=when, ended=when, options=CaptureOptions(), operator=Operator(), redacted=[])
    m["format_version"] = 99
    path = seal(ws, m).manifest
    with pytest.raises(ManifestError, match="newer than this archiver"):
        read_manifest(path)
