from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.core.errors import ManifestError
from archiver.core.models import (
    ArchivedResource,
    CaptureResult,
    Failure,
    Original,
    PageFlag,
    Role,
    Skipped,
    TextRecord,
    WarcFile,
)
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
    assert [f.reason for f in back.failures] == TRICKY
    assert [f.kind for f in back.failures] == TRICKY
    assert back.operator == {"name": "no", "contact": "0755"}
    assert back.started == "2026-11-29T12:00:00.000000Z"


def test_manifests_are_never_rewritten(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    when = datetime(2026, 11, 29, tzinfo=UTC)
    m = build_manifest(result(), started=when, ended=when, options=CaptureOptions(), operator=Operator(), redacted=[])
    seal(ws, m)
    with pytest.raises(ManifestError, match="never rewritten"):
        seal(ws, m)
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
    path = seal(ws, replace(m, format_version=99)).manifest
    with pytest.raises(ManifestError, match="newer than this archiver"):
        read_manifest(path)


def test_reading_gives_back_the_dataclasses_that_writing_took(tmp_path: Path) -> None:
    """Every field of a sealed Manifest, nested dataclasses and all, reads back equal."""
    ws = Workspace(tmp_path).ensure()
    when = datetime(2026, 11, 29, 12, tzinfo=UTC)
    page = ArchivedResource(
        url="http://h.example/a", role=Role.SEED, via=None, depth=0, status=200, content_type="text/html",
        payload_sha256="a" * 64, payload_bytes=5, warc="archive/x.warc.gz", offset=10, length=20,
        record_id="<urn:uuid:1>", request_record_id="<urn:uuid:0>", date="2026-11-29T12:00:00Z",
        remote_address="127.0.0.1", metadata={"title": {"value": "T", "source": "html"}},
        text=TextRecord("<urn:uuid:2>", 30, 40, "b" * 64, 7), warc_payload_digest="sha256:" + "a" * 64,
        limits=["tags: parsed the first 200000 tags"])
    again = replace(page, url="http://h.example/b", role=Role.REQUISITE, via="http://h.example/a", text=None,
                    metadata=None, limits=None, record_id="<urn:uuid:3>", offset=70, truncated="length",
                    revisit_of=Original("20261128T000000Z-aaaaaa", "<urn:uuid:9>", "http://h.example/b",
                                        "2026-11-28T00:00:00Z", "sha256:" + "a" * 64, "archive/y.warc.gz", 5))
    result = CaptureResult(
        capture_id="20261129T120000Z-abcdef", manifest_path="", seeds=("http://h.example/a",),
        warc_files=(WarcFile("archive/x.warc.gz", 100, "c" * 64),), resources=(page, again),
        failures=(Failure("http://h.example/c", Role.SOURCE, "http://h.example/a", "dns", "no such host"),),
        skipped=(Skipped("http://h.example/d", Role.SOURCE, "http://h.example/a", "robots.txt"),),
        flags=(PageFlag("http://h.example/a", "javascript-shell", "little text"),), seed_problems=("x: y",))
    manifest = build_manifest(result, started=when, ended=when, options=CaptureOptions(), operator=Operator("o", "c"),
                              redacted=["cookie"], schedule="daily", skipped_unlisted={"robots.txt": 3})
    first = seal(ws, manifest)
    second = seal(ws, replace(manifest, capture_id="20261129T120001Z-abcdef", notes=("a note",),
                              imported_from={"file": "x.warc"}))
    assert first.document is not None and second.document is not None
    assert read_manifest(first.manifest) == first.document
    assert read_manifest(second.manifest) == second.document
    assert second.document.previous is not None and second.document.previous.capture_id == manifest.capture_id
    assert (second.document.sequence, second.document.notes) == (2, ("a note",))


@pytest.mark.parametrize("old,new,message", [
    ("role: seed", "role: boss", r"resources\[0\]\.role is not one of seed, requisite"),
    ("kind: dns", "kind: [1]", r"failures\[0\]\.kind is missing or not a str"),
    ("chars: 7", "chars: seven", r"resources\[0\]\.text\.chars is missing or not a int"),
    ("depth: 0", "depth: null", r"resources\[0\]\.depth is missing"),
    ("  title:\n", "  title: 5\n  other:\n", r"resources\[0\]\.metadata is not a mapping of fields"),
    ("record_id: \"<urn:uuid:9>\"", "record_id: 9", r"resources\[1\]\.revisit_of\.record_id is missing or not a str"),
])
def test_every_field_is_checked_on_the_way_in(tmp_path: Path, old: str, new: str, message: str) -> None:
    test_reading_gives_back_the_dataclasses_that_writing_took(tmp_path)
    path = Workspace(tmp_path).manifest_path("20261129T120000Z-abcdef")
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ManifestError, match=message):
        read_manifest(path)
