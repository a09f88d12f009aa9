"""The capture manifest: a versioned YAML document, written once, atomically, after the WARC files.

The format is described in docs/manifest.md. ``read_manifest`` checks a manifest against it.
"""

from __future__ import annotations

import dataclasses
import platform
import re
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from . import __version__, yamlemit
from .errors import ManifestError
from .models import CaptureResult
from .settings import CaptureOptions, Operator

FORMAT = "archiver-manifest"
FORMAT_VERSION = 2
REQUIRED = {"format": str, "format_version": int, "capture_id": str, "seeds": list, "started": str,
            "ended": str, "software": dict, "settings": dict, "warc_files": list, "resources": list,
            "failures": list, "skipped": list}
RESOURCE_KEYS = {"url": str, "role": str, "status": int, "payload_sha256": str, "warc": str, "offset": int,
                 "length": int, "record_id": str}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def software_versions() -> dict[str, str]:
    """archiver and the libraries that shaped the capture, for provenance."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"archiver": __version__, "python": platform.python_version()}
    for name in ("selectolax", "protego", "pyyaml", "zlib-ng"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _clean(entry: object) -> dict[str, Any]:
    """A flat dataclass as a mapping, None fields left out (a shallow asdict, without deep copies)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(entry):  # type: ignore[arg-type]
        value = getattr(entry, f.name)
        if dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)  # type: ignore[arg-type]
        if value is not None:
            out[f.name] = str(value) if f.name == "role" else value
    return out


def build_manifest(result: CaptureResult, *, started: datetime, ended: datetime,
                   options: CaptureOptions, operator: Operator, redacted: list[str]) -> dict[str, Any]:
    """The manifest document of a finished capture, as plain data."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "capture_id": result.capture_id,
        "sequence": None,        # set when sealed: position in the workspace's chain, from 1
        "previous": None,        # set when sealed: {capture_id, sha256} of the manifest sealed before
        "seeds": list(result.seeds),
        "started": iso(started),
        "ended": iso(ended),
        "operator": {"name": operator.name, "contact": operator.contact},
        "host": socket.gethostname(),
        "software": software_versions(),
        "settings": options.public(),
        "redacted_headers": redacted,
        "summary": {"resources": len(result.resources), "failures": len(result.failures),
                    "skipped": len(result.skipped), "warc_bytes": result.bytes_archived,
                    "payload_bytes": sum(r.payload_bytes for r in result.resources)},
        "warc_files": [dataclasses.asdict(w) for w in result.warc_files],
        "resources": [_clean(r) for r in result.resources],
        "failures": [_clean(f) for f in result.failures],
        "skipped": [_clean(s) for s in result.skipped],
        "flags": [dataclasses.asdict(f) for f in result.flags],
        "seed_problems": list(result.seed_problems),
    }


def _yaml_classes() -> tuple[Any, Any]:
    """libyaml's safe dumper and loader when PyYAML was built with it (4x faster), else Python's."""
    import yaml

    return (getattr(yaml, "CSafeDumper", yaml.SafeDumper), getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def dump_manifest(manifest: dict[str, Any]) -> bytes:
    """The manifest as UTF-8 YAML, block style (archiver.yamlemit: PyYAML reads it back exactly)."""
    return yamlemit.dump(manifest).encode("utf-8")


def read_manifest(path: Path) -> dict[str, Any]:
    """Load a manifest and check it follows the format; ManifestError says what is wrong."""
    import yaml

    _, loader = _yaml_classes()
    try:
        data = yaml.load(path.read_bytes(), Loader=loader)  # noqa: S506 - a safe loader, C or Python
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"cannot be read: {exc}", path=str(path)) from None
    if not isinstance(data, dict):
        raise ManifestError("is not a YAML mapping", path=str(path))
    for key, kind in REQUIRED.items():
        if not isinstance(data.get(key), kind):
            raise ManifestError(f"field {key!r} is missing or not a {kind.__name__}", path=str(path))
    if data["format"] != FORMAT:
        raise ManifestError(f"format is {data['format']!r}, expected {FORMAT!r}", path=str(path))
    if data["format_version"] > FORMAT_VERSION:
        raise ManifestError(f"format_version {data['format_version']} is newer than this archiver "
                            f"understands ({FORMAT_VERSION})", path=str(path))
    if data["format_version"] >= 2:
        if not isinstance(data.get("sequence"), int) or data["sequence"] < 1:
            raise ManifestError("field 'sequence' is missing or not a positive integer", path=str(path))
        prev = data.get("previous")
        if prev is not None and not (isinstance(prev, dict) and isinstance(prev.get("capture_id"), str)
                                     and isinstance(prev.get("sha256"), str)):
            raise ManifestError("field 'previous' must be null or have capture_id and sha256", path=str(path))
    for i, res in enumerate(data["resources"]):
        if not isinstance(res, dict):
            raise ManifestError(f"resources[{i}] is not a mapping", path=str(path))
        for key, kind in RESOURCE_KEYS.items():
            if not isinstance(res.get(key), kind) or isinstance(res.get(key), bool):
                raise ManifestError(f"resources[{i}].{key} is missing or not a {kind.__name__}", path=str(path))
        if not _HEX64.match(res["payload_sha256"]):
            raise ManifestError(f"resources[{i}].payload_sha256 is not 64 hex digits", path=str(path))
    for i, w in enumerate(data["warc_files"]):
        if not (isinstance(w, dict) and isinstance(w.get("path"), str) and isinstance(w.get("bytes"), int)
                and isinstance(w.get("sha256"), str) and _HEX64.match(w["sha256"])):
            raise ManifestError(f"warc_files[{i}] needs path, bytes and a sha256 of 64 hex digits", path=str(path))
        if w["path"].startswith("/") or ".." in w["path"].split("/"):
            raise ManifestError(f"warc_files[{i}].path {w['path']!r} leaves the workspace", path=str(path))
    return data
