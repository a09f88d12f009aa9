from __future__ import annotations

from pathlib import Path

import pytest

from archiver.core.capture_options import parse_size
from archiver.core.errors import SettingsError, UsageError
from archiver.core.settings import CaptureOptions, load_settings


def test_sizes() -> None:
    assert parse_size("100MB") == 100_000_000 and parse_size("2GiB") == 2 * 2**30
    assert parse_size("512") == 512 and parse_size(7) == 7
    for bad in ("lots", "-5", "10 parsecs"):
        with pytest.raises(UsageError, match="not a size"):
            parse_size(bad)


def test_settings_file(tmp_path: Path) -> None:
    (tmp_path / "archiver.yaml").write_text(
        "operator:\n  name: Ada Researcher\n  contact: ada@example.org\ncapture:\n  depth: 0\n  max_bytes: 5MB\n")
    s = load_settings(tmp_path)
    assert s.operator.name == "Ada Researcher" and s.capture.depth == 0 and s.capture.max_bytes == 5_000_000


@pytest.mark.parametrize("text,line,key", [
    ("operator:\n  name: x\ncapture:\n  depht: 2\n", 4, "capture.depht"),
    ("colour: blue\n", 1, "colour"),
    ("capture:\n  depth: deep\n", 2, "capture.depth"),
    ("capture:\n  ignore_robots: 1\n", 2, "capture.ignore_robots"),
])
def test_settings_errors_name_file_line_key(tmp_path: Path, text: str, line: int, key: str) -> None:
    (tmp_path / "archiver.yaml").write_text(text)
    with pytest.raises(SettingsError) as err:
        load_settings(tmp_path)
    assert err.value.line == line and err.value.key == key
    assert str(err.value).startswith(f"{tmp_path / 'archiver.yaml'}:{line}: {key}")


def test_malformed_yaml(tmp_path: Path) -> None:
    (tmp_path / "archiver.yaml").write_text("capture:\n  depth: [1\n")
    with pytest.raises(SettingsError, match="malformed YAML"):
        load_settings(tmp_path)


def test_option_validation() -> None:
    with pytest.raises(UsageError, match="per_host"):
        CaptureOptions(per_host=0)
    with pytest.raises(UsageError, match="not a valid regular expression"):
        CaptureOptions(exclude=("(",))
    assert CaptureOptions(headers=(("Authorization", "x"),)).public()["headers"] == ["Authorization"]
