"""Reading a WACZ package for import: refuse paths that escape, check ``datapackage-digest.json``
and every listed resource's hash and size before anything is used, and extract the WARC files and
the seeds (``pages/pages.jsonl``) into a temporary folder."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import UsageError

_COPY_BLOCK = 1 << 20
_MAX_DATAPACKAGE = 64 * 2**20


class ImportRefused(UsageError):
    """An input file that cannot be imported as it is: corrupt, truncated, a digest that does not
    match, a WACZ whose own hashes disagree. Names the file and, when known, the record."""

    def __init__(self, message: str, *, path: str, offset: int | None = None, record_id: str | None = None) -> None:
        where = path if offset is None else f"{path} at offset {offset}"
        if record_id:
            where += f" (record {record_id})"
        super().__init__(f"{where}: {message}; nothing was imported")
        self.path, self.offset, self.record_id = path, offset, record_id


@dataclass(slots=True)
class Unpacked:
    warcs: list[tuple[str, Path]]
    seeds: list[str] = field(default_factory=list)
    software: str | None = None
    notes: list[str] = field(default_factory=list)


def _safe_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and not (name.startswith(("/", "\\")) or "\\" in name or "\0" in name or ".." in parts
                                or ":" in parts[0] or parts[0] == "~")


def unpack_wacz(source: Path, tmp: Path) -> Unpacked:
    """Check the package's own hashes, then extract its WARC files into ``tmp``."""
    label = source.name
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportRefused(f"not a readable ZIP file ({exc})", path=label) from None
    with zf:
        names = zf.namelist()
        for name in names:
            if not _safe_member(name):
                raise ImportRefused(f"the package holds a path that leaves it: {name!r}", path=label)
        package, notes = _check_datapackage(zf, label)
        listed = _check_resources(zf, package, label)
        warcs = sorted(n for n in names if n.startswith("archive/") and n.endswith((".warc.gz", ".warc")))
        if not warcs:
            raise ImportRefused("the package holds no archive/*.warc.gz", path=label)
        for name in warcs:
            if name not in listed:
                raise ImportRefused(f"{name} is not listed in datapackage.json, so its hash cannot be checked",
                                    path=label)
        extracted = []
        for n, name in enumerate(warcs):
            out = tmp / f"wacz-{n:05d}-{PurePosixPath(name).name}"
            with zf.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, _COPY_BLOCK)
            extracted.append((f"{label}:{name}", out))
        seeds = _pages(zf, label) if "pages/pages.jsonl" in names else []
        software = package.get("software") if isinstance(package.get("software"), str) else None
        return Unpacked(extracted, seeds, software, notes)


def _check_datapackage(zf: zipfile.ZipFile, label: str) -> tuple[dict[str, Any], list[str]]:
    try:
        info = zf.getinfo("datapackage.json")
    except KeyError:
        raise ImportRefused("the package has no datapackage.json", path=label) from None
    if info.file_size > _MAX_DATAPACKAGE:
        raise ImportRefused("datapackage.json is implausibly large", path=label)
    raw = zf.read(info)
    notes = []
    if "datapackage-digest.json" in zf.namelist():
        try:
            expected = json.loads(zf.read("datapackage-digest.json"))["hash"]
        except (ValueError, KeyError, TypeError):
            raise ImportRefused("datapackage-digest.json is not valid JSON with a 'hash'", path=label) from None
        if not _hash_matches(expected, [raw]):
            raise ImportRefused(f"datapackage.json does not match datapackage-digest.json ({expected})", path=label)
    else:
        notes.append("the WACZ has no datapackage-digest.json: datapackage.json itself could not be checked")
    try:
        package = json.loads(raw)
    except ValueError:
        raise ImportRefused("datapackage.json is not valid JSON", path=label) from None
    if not isinstance(package, dict) or not isinstance(package.get("resources"), list):
        raise ImportRefused("datapackage.json has no list of resources", path=label)
    return package, notes


def _check_resources(zf: zipfile.ZipFile, package: dict[str, Any], label: str) -> set[str]:
    """Every listed resource's size and hash, in the order listed; returns the paths checked."""
    checked = set()
    for res in package["resources"]:
        path = res.get("path") if isinstance(res, dict) else None
        if not isinstance(path, str) or not _safe_member(path):
            raise ImportRefused(f"datapackage.json lists an unsafe or missing path: {path!r}", path=label)
        try:
            info = zf.getinfo(path)
        except KeyError:
            raise ImportRefused(f"{path} is listed in datapackage.json but not in the package", path=label) from None
        if isinstance(res.get("bytes"), int) and res["bytes"] != info.file_size:
            raise ImportRefused(f"{path} is {info.file_size} bytes, datapackage.json says {res['bytes']}", path=label)
        expected = res.get("hash")
        if not isinstance(expected, str):
            raise ImportRefused(f"{path} has no hash in datapackage.json", path=label)
        with zf.open(info) as fh:
            if not _hash_matches(expected, iter(lambda: fh.read(_COPY_BLOCK), b"")):
                raise ImportRefused(f"{path} does not match its hash in datapackage.json ({expected})", path=label)
        checked.add(path)
    return checked


def _hash_matches(expected: str, chunks: Any) -> bool:
    algo, sep, value = expected.partition(":")
    if not sep:
        algo, value = "sha256", expected
    try:
        h = hashlib.new(algo.lower().replace("-", ""))
    except ValueError:
        return False
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest() == value.strip().lower()


def _pages(zf: zipfile.ZipFile, label: str) -> list[str]:
    """The page URLs of pages.jsonl; when its lines say which are seeds (``"seed": true``), those only."""
    pages, seeds = [], []
    with zf.open("pages/pages.jsonl") as fh:
        for n, line in enumerate(io.TextIOWrapper(fh, encoding="utf-8"), 1):
            if not line.strip():
                continue
            try:
                page = json.loads(line)
            except ValueError:
                raise ImportRefused(f"pages/pages.jsonl line {n} is not JSON", path=label) from None
            if isinstance(page, dict) and isinstance(page.get("url"), str):
                pages.append(page["url"])
                if page.get("seed") is True:
                    seeds.append(page["url"])
    return list(dict.fromkeys(seeds or pages))


# -- checking one WARC ---------------------------------------------------------------------------
