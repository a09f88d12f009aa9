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
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..core import yamlemit
from ..core.errors import ManifestError
from ..core.models import CaptureResult
from ..core.settings import CaptureOptions, Operator

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FORMAT = "archiver-manifest"
FORMAT_VERSION = 2
REQUIRED = {"format": str, "format_version": int, "capture_id": str, "seeds": list, "started": str,
            "ended": str, "software": dict, "settings": dict, "warc_files": list, "resources": list,
            "failures": list, "skipped": list}
RESOURCE_KEYS = {"url": str, "role": str, "status": int, "payload_sha256": str, "warc": str, "offset": int,
                 "length": int, "record_id": str}
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_WARC_PATH = re.compile(r"^archive/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.warc\.gz\Z")


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


def _clean(entry: DataclassInstance) -> dict[str, Any]:
    """A flat dataclass as a mapping, None fields left out (a shallow asdict, without deep copies)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(entry):
        value = getattr(entry, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
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


def _safe_loader() -> Any:
    """libyaml's safe loader when PyYAML was built with it (4x faster), else Python's."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def dump_manifest(manifest: dict[str, Any]) -> bytes:
    """The manifest as UTF-8 YAML, block style (archiver.yamlemit: PyYAML reads it back exactly)."""
    return yamlemit.dump(manifest).encode("utf-8")


def read_manifest(path: Path, raw: bytes | None = None) -> dict[str, Any]:
    """Load a manifest and check it follows the format; ManifestError says what is wrong.

    ``raw`` is the file's content when the caller has read it already (verify hashes those bytes)."""
    import yaml

    try:
        data = _safe_load(path.read_bytes() if raw is None else raw)
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
    resource_keys = tuple(RESOURCE_KEYS.items())
    hex64 = _HEX64.match
    for i, res in enumerate(data["resources"]):
        if not isinstance(res, dict):
            raise ManifestError(f"resources[{i}] is not a mapping", path=str(path))
        for key, kind in resource_keys:
            # YAML builds exact str and int (a bool is not an int here), so the type is the test
            if type(res.get(key)) is not kind:
                raise ManifestError(f"resources[{i}].{key} is missing or not a {kind.__name__}", path=str(path))
        if not hex64(res["payload_sha256"]):
            raise ManifestError(f"resources[{i}].payload_sha256 is not 64 hex digits", path=str(path))
        problem = _resource_problem(res)
        if problem:
            raise ManifestError(f"resources[{i}].{problem}", path=str(path))
    for i, w in enumerate(data["warc_files"]):
        if not (isinstance(w, dict) and isinstance(w.get("path"), str) and isinstance(w.get("bytes"), int)
                and isinstance(w.get("sha256"), str) and _HEX64.match(w["sha256"])):
            raise ManifestError(f"warc_files[{i}] needs path, bytes and a sha256 of 64 hex digits", path=str(path))
        if w["path"].startswith("/") or ".." in w["path"].split("/"):
            raise ManifestError(f"warc_files[{i}].path {w['path']!r} leaves the workspace", path=str(path))
        if not _WARC_PATH.match(w["path"]) or not 0 <= w["bytes"] <= _MAX_INT:
            raise ManifestError(f"warc_files[{i}] is not a WARC file of archive/ with a size", path=str(path))
    return data


_MAX_INT = 2**63 - 1                 # what SQLite and every other reader can hold
_OPTIONAL_TEXT = ("date", "request_record_id", "warc_payload_digest", "content_type", "location",
                  "remote_address", "truncated", "via")
_TEXT_KEYS = {"record_id": str, "offset": int, "length": int, "sha256": str}
_ORIGINAL_KEYS = {"capture_id": str, "record_id": str}


def _resource_problem(res: dict[str, Any]) -> str | None:
    """What is out of range or of the wrong type in a resource beyond its required keys, or None."""
    if not 0 <= res["offset"] <= _MAX_INT or not 0 < res["length"] <= _MAX_INT:
        return "offset or length is out of range"
    if not 0 <= res["status"] <= 999:
        return f"status {res['status']} is not an HTTP status"
    for key in _OPTIONAL_TEXT:
        value = res.get(key)
        if value is not None and type(value) is not str:
            return f"{key} is not text"
    for key, keys in (("text", _TEXT_KEYS), ("revisit_of", _ORIGINAL_KEYS)):
        value = res.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or any(type(value.get(k)) is not kind for k, kind in keys.items()):
            return f"{key} is not a mapping with {', '.join(keys)}"
        if key == "text" and (not 0 <= value["offset"] <= _MAX_INT or not 0 < value["length"] <= _MAX_INT
                              or not isinstance(value.get("warc", ""), str)):
            return "text's offset, length or file is out of range"
    return None


# --------------------------------------------------------------------------- reading YAML (read_manifest)

_SCALAR_TAGS = {"tag:yaml.org,2002:" + t for t in ("null", "bool", "int", "float", "timestamp")}
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"


class _NotPlain(Exception):  # noqa: N818
    """The document uses something _load_plain leaves to PyYAML's own composer and constructor."""


def _safe_load(raw: bytes) -> Any:
    """``yaml.load(raw, CSafeLoader)``, the same values and the same errors, built faster.

    libyaml parses; its events are turned into dicts, lists and scalars here, each plain scalar
    resolved by the loader's own resolver and built by SafeConstructor's own functions, instead of
    by PyYAML's node composer and constructor (about 3x slower). Anything beyond mappings,
    sequences and untagged scalars (anchors, aliases, tags, merge keys, complex keys, several
    documents) or any error sends the whole document through ``yaml.load`` instead."""
    import yaml

    loader_class = _safe_loader()
    c_safe_loader: Any = getattr(yaml, "CSafeLoader", None)    # None when PyYAML was built without libyaml
    if loader_class is not c_safe_loader:
        return yaml.load(raw, Loader=loader_class)  # noqa: S506 - a safe loader
    try:
        return _load_plain(loader_class(raw))
    except Exception:  # noqa: BLE001 - _NotPlain, or an error PyYAML reports its own way: let it
        return yaml.load(raw, Loader=loader_class)  # noqa: S506 - a safe loader


def _load_plain(loader: Any) -> Any:
    from yaml.events import (
        DocumentEndEvent,
        DocumentStartEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
        StreamEndEvent,
        StreamStartEvent,
    )
    from yaml.nodes import ScalarNode

    get = loader.get_event
    try:
        if type(get()) is not StreamStartEvent or type(get()) is not DocumentStartEvent:
            raise _NotPlain
        resolved: dict[str, str] = {}           # plain scalar -> tag: the resolver depends on the value only
        constructors = loader.yaml_constructors
        no_key = object()
        stack: list[list[Any]] = []              # [container, pending key or no_key]
        while True:
            event = get()
            kind = type(event)
            if kind is ScalarEvent:
                if event.anchor is not None or event.tag is not None:
                    raise _NotPlain
                value = event.value
                if event.implicit[0]:
                    tag = resolved.get(value)
                    if tag is None:
                        tag = resolved[value] = loader.resolve(ScalarNode, value, event.implicit)
                    if tag == _INT_TAG and value.isdigit() and value[0] != "0":
                        value = int(value)       # what construct_yaml_int returns for these
                    elif tag != _STR_TAG:
                        if tag not in _SCALAR_TAGS:
                            raise _NotPlain
                        value = constructors[tag](loader, ScalarNode(tag, value))
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                if event.anchor is not None or event.tag is not None or (stack and stack[-1][1] is no_key):
                    raise _NotPlain              # tagged, anchored, or a complex mapping key
                stack.append([{} if kind is MappingStartEvent else [], None if kind is SequenceStartEvent
                              else no_key])
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                value = stack.pop()[0]
            elif kind is DocumentEndEvent and not stack:
                break
            else:
                raise _NotPlain                  # an alias, or something unexpected
            if not stack:
                root = value
                continue
            top = stack[-1]
            container = top[0]
            if type(container) is list:
                container.append(value)
            elif top[1] is no_key:
                top[1] = value
            else:
                container[top[1]] = value
                top[1] = no_key
        if type(get()) is not StreamEndEvent:
            raise _NotPlain                      # more than one document
        return root
    finally:
        loader.dispose()
