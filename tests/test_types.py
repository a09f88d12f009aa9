"""The type checker runs with the tests, on the settings in pyproject.toml ([tool.mypy])."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import archiver

ROOT = Path(__file__).resolve().parent.parent

# modules defining the types that appear in the public functions' signatures, beyond archiver._LAZY's
_SIGNATURE_TYPES = ("core.errors", "core.capture_options", "citing.formats.data")


def _public_api_modules() -> list[str]:
    return sorted({"archiver", *(f"archiver.{m}" for m in (*archiver._LAZY.values(), *_SIGNATURE_TYPES))})


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True)


def test_mypy_finds_nothing() -> None:
    proc = _mypy()      # files and options from pyproject.toml: the whole package
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_public_api_is_strictly_typed() -> None:
    files = [str(Path(*m.split(".")).with_suffix(".py")) if m != "archiver" else "archiver/__init__.py"
             for m in _public_api_modules()]
    proc = _mypy("--strict", "--follow-imports=silent", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_public_api_modules_are_strict_on_every_run() -> None:
    """pyproject.toml's strict override names every module of the public API."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    strict = [o for o in config["overrides"] if o.get("disallow_untyped_defs")]
    assert len(strict) == 1 and set(_public_api_modules()) <= set(strict[0]["module"])
