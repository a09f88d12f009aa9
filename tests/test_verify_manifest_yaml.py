"""read_manifest builds documents from libyaml's events itself (core.yamlload): it must give exactly what PyYAML's
safe loader gives (values, types, key order) and raise what it raises."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from archiver.core.errors import ManifestError
from archiver.core.models import ArchivedResource, CaptureResult, Failure, Role, WarcFile
from archiver.core.settings import CaptureOptions, Operator
from archiver.core.workspace import Workspace
from archiver.core.yamlload import safe_load
from archiver.fixity.manifest import build_manifest, manifest_of, read_manifest
from archiver.fixity.seal import seal

DOCUMENTS = [
    "a: 1", "a: 0755", "a: 0x1f", "a: 0b101", "a: 1_000", "a: -3", "a: +3", "a: 1:30", "a: 190:20:30", "a: 0",
    "a: 00", "a: -0", "a: 123456789012345678901234567890", "a: ١٢٣", "a: ²", "a: 1e3", "a: 1.5e+3", "a: 0.",
    "a: .inf", "a: -.inf", "a: .nan", "a: ~", "a: null", "a: yes", "a: No", "a: on", "a: OFF", "a: 2024-01-01",
    "a: 2024-01-01T10:00:00Z", "a: '0755'", 'a: "x\\ty"', "a: '''x'''", "a: |\n  block\n  text\n", "a: >\n  folded\n",
    "a: [1, 2, {b: c}]", "- 1\n- two\n", "x", "", "# only a comment\n", "a:\n  - b: 1\n    c: [x, y]\n  - {}\n",
    "1: one\n2.5: two\nnull: three\ntrue: four", "a: 1\na: 2", "? a\n? b", "a:\nb:", "[]", "{}",
    # left to PyYAML itself: anchors, aliases, merge keys, tags, complex keys, several documents, errors
    "a: &x [1]\nb: *x", "<<: {a: 1}\nb: 2", "a: !!str 1", "a: !!binary aGVsbG8=", "set: !!set {a, b}", "a: !custom x",
    "? [1]\n: 2", "? {a: 1}\n: 2", "--- a\n--- b", "{a: [unclosed", "a: =", "a: *nowhere", "a: b: c", "\t- x",
]


def same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def outcome(load, raw: bytes) -> tuple:
    try:
        return ("value", load(raw))
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        return ("error", type(exc), str(exc))


@pytest.mark.parametrize("text", DOCUMENTS)
def test_same_values_and_errors_as_pyyaml(text: str) -> None:
    raw = text.encode()
    mine = outcome(safe_load, raw)
    theirs = outcome(lambda r: yaml.load(r, Loader=yaml.CSafeLoader), raw)  # noqa: S506 - a safe loader
    assert mine[0] == theirs[0]
    assert same(mine[1], theirs[1]) if mine[0] == "value" else mine == theirs


def test_a_sealed_manifest_reads_back_as_pyyaml_reads_it(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    when = datetime(2026, 11, 29, 12, tzinfo=UTC)
    resources = tuple(ArchivedResource(
        url=f"http://h.example/{n}?q=yes&x=0755", role=Role.SOURCE, via=None, depth=1, status=200,
        content_type="text/html", payload_sha256=f"{n:064x}", payload_bytes=n, warc="archive/x.warc.gz",
        offset=n * 100, length=99, record_id=f"<urn:uuid:{n}>", request_record_id=None, date="2026-11-29T12:00:00Z",
        remote_address="127.0.0.1") for n in range(1, 50))
    result = CaptureResult(capture_id="20261129T120000Z-abcdef", manifest_path="", seeds=("http://h.example/",),
                           warc_files=(WarcFile("archive/x.warc.gz", 10, "a" * 64),), resources=resources,
                           failures=(Failure("http://h.example/no", Role.SOURCE, None, "no", "~"),), skipped=(),
                           flags=())
    manifest = build_manifest(result, started=when, ended=when, options=CaptureOptions(),
                              operator=Operator("null", "1e3"), redacted=[])
    path = seal(ws, manifest).manifest
    raw = path.read_bytes()
    assert same(safe_load(raw), yaml.load(raw, Loader=yaml.CSafeLoader))  # noqa: S506 - a safe loader
    back = read_manifest(path, raw)
    assert back == manifest_of(yaml.load(raw, Loader=yaml.CSafeLoader)) == read_manifest(path)  # noqa: S506
    assert back.resources == resources and back.failures == result.failures


def test_bool_and_float_are_not_accepted_where_ints_and_strings_belong(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).ensure()
    when = datetime(2026, 11, 29, 12, tzinfo=UTC)
    res = ArchivedResource(url="http://h.example/", role=Role.SEED, via=None, depth=0, status=200,
                           content_type="text/html", payload_sha256="b" * 64, payload_bytes=1,
                           warc="archive/x.warc.gz", offset=0, length=1, record_id="<urn:uuid:1>",
                           request_record_id=None, date="2026-11-29T12:00:00Z", remote_address=None)
    result = CaptureResult(capture_id="20261129T120000Z-abcdef", manifest_path="", seeds=("http://h.example/",),
                           warc_files=(WarcFile("archive/x.warc.gz", 10, "a" * 64),), resources=(res,),
                           failures=(), skipped=(), flags=())
    path = seal(ws, build_manifest(result, started=when, ended=when, options=CaptureOptions(), operator=Operator(),
                                   redacted=[])).manifest
    text = path.read_text()
    for old, new, field in (("status: 200", "status: true", "status"), ("offset: 0", "offset: 0.0", "offset"),
                            ("length: 1\n", "length: '1'\n", "length")):
        assert old in text
        path.write_text(text.replace(old, new, 1))
        with pytest.raises(ManifestError, match=rf"resources\[0\]\.{field} is missing or not a int"):
            read_manifest(path)
