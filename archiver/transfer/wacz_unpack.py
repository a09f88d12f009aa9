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

from ..core.bounds import (
    MAX_DATE,
    MAX_HEADER_VALUE,
    MAX_INT,
    has_control,
    int_problem,
    one_line,
    shown,
    text_problem,
    url_problem,
    wacz_hash_problem,
)
from ..core.errors import UsageError

_COPY_BLOCK = 1 << 20
_MAX_DATAPACKAGE = 64 * 2**20
_MAX_NAME = 1024          # characters of a path in the package


class ImportRefused(UsageError):
    """An input file that cannot be imported as it is: corrupt, truncated, a digest that does not
    match, a WACZ whose own hashes disagree. Names the file and, when known, the record."""

    def __init__(self, message: str, *, path: str, offset: int | None = None, record_id: str | None = None) -> None:
        where = _label(path) if offset is None else f"{_label(path)} at offset {offset}"
        if record_id:
            where += f" (record {_label(record_id)})"
        super().__init__(one_line(f"{where}: {message}; nothing was imported"))
        self.path, self.offset, self.record_id, self.reason = path, offset, record_id, one_line(message)


def _label(text: str) -> str:
    """A file name or record id as given, unless it is long or odd: then shortened and escaped."""
    return text if len(text) <= 200 and text.isprintable() else shown(text)


@dataclass(slots=True)
class Unpacked:
    """What an input holds, ready to check: its WARC files (label, path), and what it says of itself."""

    warcs: list[tuple[str, Path]]
    seeds: list[str] = field(default_factory=list)
    software: str | None = None
    notes: list[str] = field(default_factory=list)
    unhashed: list[str] = field(default_factory=list)           # WACZ files listed without a hash
    conversion: dict[str, object] | None = None                 # how an ARC file was converted
    format: str | None = None                                   # when the content says more than the name


def _safe_member(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return bool(parts) and len(name) <= _MAX_NAME and not (
        name.startswith(("/", "\\")) or "\\" in name or has_control(name) or ".." in parts
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
        listed, unhashed = _check_resources(zf, package, label)
        if unhashed:
            notes.append(f"datapackage.json gives no hash for {len(unhashed)} file(s) (a hash is optional there): "
                         "their sizes were checked, and the records of WARC files among them, not the files' hashes; "
                         "they are listed in imported_from.unhashed")
        warcs = sorted(n for n in names if n.startswith("archive/") and n.endswith((".warc.gz", ".warc")))
        if not warcs:
            raise ImportRefused("the package holds no archive/*.warc.gz", path=label)
        for name in warcs:
            if name not in listed:
                raise ImportRefused(f"{name} is not listed in datapackage.json, so its hash cannot be checked",
                                    path=label)
        _check_room(zf, warcs, tmp, label)
        extracted = []
        for n, name in enumerate(warcs):
            out = tmp / f"wacz-{n:05d}-{PurePosixPath(name).name}"
            with zf.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, _COPY_BLOCK)
            extracted.append((f"{label}:{name}", out))
        seeds = _pages(zf, label) if "pages/pages.jsonl" in names else []
        software = package.get("software")
        if software is not None and (problem := text_problem("datapackage.json 'software'", software,
                                                             MAX_HEADER_VALUE)):
            raise ImportRefused(problem, path=label)
        return Unpacked(extracted, seeds, software, notes, unhashed)


def _check_room(zf: zipfile.ZipFile, warcs: list[str], tmp: Path, label: str) -> None:
    """The WARC files the package declares fit in the temporary folder (a zip bomb does not)."""
    declared = sum(zf.getinfo(name).file_size for name in warcs)
    free = shutil.disk_usage(tmp).free
    if declared > free:
        raise ImportRefused(f"its WARC files declare {declared} bytes, more than the {free} bytes free for "
                            "unpacking them", path=label)


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
        if zf.getinfo("datapackage-digest.json").file_size > _MAX_DATAPACKAGE:
            raise ImportRefused("datapackage-digest.json is implausibly large", path=label)
        try:
            expected = json.loads(zf.read("datapackage-digest.json"))["hash"]
        except (ValueError, KeyError, TypeError, RecursionError):
            raise ImportRefused("datapackage-digest.json is not valid JSON with a 'hash'", path=label) from None
        if problem := wacz_hash_problem("datapackage-digest.json", expected):
            raise ImportRefused(problem, path=label)
        if not _hash_matches(expected, [raw]):
            raise ImportRefused(f"datapackage.json does not match datapackage-digest.json ({expected})", path=label)
    else:
        notes.append("the WACZ has no datapackage-digest.json: datapackage.json itself could not be checked")
    try:
        package = json.loads(raw)
    except (ValueError, RecursionError):
        raise ImportRefused("datapackage.json is not valid JSON (or nested too deeply)", path=label) from None
    if not isinstance(package, dict) or not isinstance(package.get("resources"), list):
        raise ImportRefused("datapackage.json has no list of resources", path=label)
    return package, notes


def _check_resources(zf: zipfile.ZipFile, package: dict[str, Any], label: str) -> tuple[set[str], list[str]]:
    """Every listed resource's size and hash, in the order listed; returns the paths listed and those
    listed without a hash (the hash is optional in a data package: what is given is checked)."""
    checked, unhashed = set(), []
    for res in package["resources"]:
        path = res.get("path") if isinstance(res, dict) else None
        if not isinstance(path, str) or not _safe_member(path):
            raise ImportRefused(f"datapackage.json lists an unsafe or missing path: {shown(path)}", path=label)
        try:
            info = zf.getinfo(path)
        except KeyError:
            raise ImportRefused(f"{path} is listed in datapackage.json but not in the package", path=label) from None
        size = res.get("bytes")
        if size is not None and (problem := int_problem(f"{path}: its size", size, 0, MAX_INT)):
            raise ImportRefused(f"datapackage.json: {problem}", path=label)
        if size is not None and size != info.file_size:
            raise ImportRefused(f"{path} is {info.file_size} bytes, datapackage.json says {size}", path=label)
        checked.add(path)
        expected = res.get("hash")
        if expected is None:
            unhashed.append(path)
            continue
        if problem := wacz_hash_problem(path, expected):
            raise ImportRefused(f"datapackage.json: {problem}", path=label)
        with zf.open(info) as fh:
            if not _hash_matches(expected, iter(lambda: fh.read(_COPY_BLOCK), b"")):
                raise ImportRefused(f"{path} does not match its hash in datapackage.json ({expected})", path=label)
    return checked, unhashed


def _hash_matches(expected: str, chunks: Any) -> bool:
    """``expected`` has passed ``wacz_hash_problem``: a known algorithm and a hex value."""
    algo, _, value = expected.partition(":")
    h = hashlib.new(algo.lower())
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest() == value.strip().lower()


def _pages(zf: zipfile.ZipFile, label: str) -> list[str]:
    """The page URLs of pages.jsonl; when its lines say which are seeds (``"seed": true``), those only."""
    if zf.getinfo("pages/pages.jsonl").file_size > _MAX_DATAPACKAGE:
        raise ImportRefused("pages/pages.jsonl is implausibly large", path=label)
    pages, seeds = [], []
    with zf.open("pages/pages.jsonl") as fh:
        try:
            lines = io.TextIOWrapper(fh, encoding="utf-8").read().splitlines()
        except UnicodeDecodeError:
            raise ImportRefused("pages/pages.jsonl is not UTF-8", path=label) from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        page = _page(line, f"pages/pages.jsonl line {n}", label)
        if "url" in page:
            pages.append(page["url"])
            if page.get("seed") is True:
                seeds.append(page["url"])
    return list(dict.fromkeys(seeds or pages))


def _page(line: str, where: str, label: str) -> dict[str, Any]:
    """One line of pages.jsonl: a JSON object whose ``url`` (when there is one) is a URL within bounds
    and whose ``ts`` (when there is one) is a short string or a whole number."""
    try:
        page = json.loads(line)
    except (ValueError, RecursionError):
        raise ImportRefused(f"{where} is not JSON (or is nested too deeply)", path=label) from None
    if not isinstance(page, dict):
        raise ImportRefused(f"{where} is not a JSON object", path=label)
    problem = url_problem(f"{where}: its url", page["url"]) if "url" in page else None
    ts = page.get("ts")
    if problem is None and ts is not None:
        problem = (text_problem(f"{where}: its ts", ts, MAX_DATE) if isinstance(ts, str)
                   else int_problem(f"{where}: its ts", ts, 0, MAX_INT))
    if problem:
        raise ImportRefused(problem, path=label)
    return page


# -- checking one WARC ---------------------------------------------------------------------------
