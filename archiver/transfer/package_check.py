"""``archiver verify PACKAGE``: check an export package (a WACZ file or a BagIt folder) with nothing but
the package, and no workspace.

1. The package's own list of hashes: a bag's ``manifest-*.txt`` and ``tagmanifest-*.txt`` (every
   payload file listed once, each hash right, ``Payload-Oxum``), a WACZ's ``datapackage-digest.json``
   and every ``datapackage.json`` resource's hash and size, no file unlisted.
2. The captures, by workspace verify's own checks (``fixity.verify``) on the package laid out as a
   workspace: a bag's ``data/`` as it is, a WACZ's files extracted to a temporary folder. Every WARC
   file's sha256 and every record's digests, each manifest entry against its record, each checksum
   list against its manifest, each signature against the key the package carries or the
   ``--trusted-key``; the chain as the segment ``chain.yaml`` states (``fixity.segment``).
3. ``chain.yaml.sig``, the exporter's signature of the segment file.

Problems name the file as the package holds it (``data/manifests/<id>.yaml``, ``archiver/<id>.yaml``).
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path, PurePosixPath

from ..core.errors import ManifestError, UsageError
from ..core.interrupts import temporary_folder
from ..core.workspace import ARCHIVE_DIR, MANIFESTS_DIR, Workspace
from ..core.yamlload import safe_load
from ..fixity.segment import read_segment
from ..fixity.segment_check import PackageView, segment_signature
from ..fixity.verify import Problem, Severity, VerifyReport, verify
from .bag_export import CHUNK
from .package_proof import SEGMENT_FILE, SEGMENT_SIGNATURE

MAX_ENTRIES = 200_000              # files in a package
MAX_SMALL_FILE = 64 * 2**20        # datapackage.json, chain.yaml, a bag's manifest: read whole
SEAL_SUFFIXES = (".yaml", ".sha256", ".sha256.sig", ".tsr")


def package_kind(path: Path) -> str | None:
    """``wacz`` or ``bag`` when ``path`` is a package, else None."""
    if path.is_file() and path.name.lower().endswith(".wacz"):
        return "wacz"
    if path.is_dir() and (path / "bagit.txt").is_file():
        return "bag"
    return None


def check_package(path: Path, *, trusted_key: Path | None = None, quick: bool = False,
                  workers: int | None = None, tsa_roots: tuple[Path, ...] = ()) -> VerifyReport:
    """Everything of the module docstring; the report lists every problem found."""
    with opened_package(path, trusted_key=trusted_key, quick=quick, workers=workers, tsa_roots=tsa_roots) as (_, report):
        return report


@contextmanager
def opened_package(path: Path, *, trusted_key: Path | None = None, quick: bool = False, workers: int | None = None,
                   tsa_roots: tuple[Path, ...] = ()) -> Iterator[tuple[Path, VerifyReport]]:
    """The package laid out as a workspace (a bag's ``data/``, or a WACZ extracted to a temporary
    folder removed afterwards), and its report."""
    kind = package_kind(path)
    if kind == "bag":
        problems = bag_problems(path, quick)
        report = _verify_laid_out(path / "data", trusted_key, quick, workers, "data/", tsa_roots)
        report.problems[:0] = problems
        yield path / "data", report
    elif kind == "wacz":
        with temporary_folder("archiver-package-") as tmp:
            problems = unpack_wacz_package(path, tmp, quick)
            report = _verify_laid_out(tmp, trusted_key, quick, workers, "", tsa_roots)
            report.problems[:0] = problems
            yield tmp, report
    else:
        raise UsageError(f"{path}: not a package (a .wacz file, or a BagIt folder with bagit.txt)")


# -- the captures --------------------------------------------------------------------------------

def _verify_laid_out(root: Path, trusted_key: Path | None, quick: bool, workers: int | None,
                     prefix: str, tsa_roots: tuple[Path, ...]) -> VerifyReport:
    """verify() over a package laid out as a workspace; problem paths renamed as the package holds them."""
    segment_path = root / SEGMENT_FILE
    if not segment_path.is_file():
        report = VerifyReport(quick=quick)
        report.error(f"no {SEGMENT_FILE}: not a package archiver exported, or its segment file was removed",
                     path=_package_path(SEGMENT_FILE, prefix))
        return report
    raw = _small(segment_path)
    try:
        segment = read_segment(safe_load(raw), SEGMENT_FILE)
    except Exception as exc:  # noqa: BLE001 - any YAML or shape error is one problem with the file
        report = VerifyReport(quick=quick)
        report.error(f"unreadable: {str(exc)[:300]}", path=_package_path(SEGMENT_FILE, prefix))
        return report
    view = PackageView(segment, root)
    report = verify(Workspace(root), quick=quick, trusted_key=trusted_key, workers=workers, package=view,
                    tsa_roots=tsa_roots)
    signature = root / SEGMENT_SIGNATURE
    for finding in segment_signature(view, raw, signature.read_bytes() if signature.is_file() else None):
        (report.error if finding.level == "error" else report.warn)(finding.message, path=SEGMENT_FILE)
    report.problems = [replace(p, path=_package_path(p.path or _signature_of(p), prefix)) for p in report.problems]
    if report.key and trusted_key is None:
        report.key = prefix + Path(report.key).name
    return report


def _package_path(path: str | None, prefix: str) -> str | None:
    """A path of the laid-out workspace as the package holds it: under a bag's ``data/``; in a WACZ,
    archiver's files (seals, chain.yaml, keys) are in ``archiver/``, the WARC files in ``archive/``."""
    if path is None or prefix:
        return path and prefix + path
    return path if path.startswith(f"{ARCHIVE_DIR}/") else "archiver/" + path.removeprefix(f"{MANIFESTS_DIR}/")


def _signature_of(problem: Problem) -> str | None:
    """The signature file a signature finding is about (findings name the capture only)."""
    if problem.capture_id and "signature" in problem.message:
        return f"{MANIFESTS_DIR}/{problem.capture_id}.sha256.sig"
    return None


def _small(path: Path) -> bytes:
    if path.stat().st_size > MAX_SMALL_FILE:
        raise UsageError(f"{path.name} is larger than {MAX_SMALL_FILE} bytes")
    return path.read_bytes()


# -- a bag -----------------------------------------------------------------------------------------

def bag_problems(bag: Path, quick: bool) -> list[Problem]:
    """Every payload and tag file against the bag's manifests (RFC 8493), and Payload-Oxum."""
    out: list[Problem] = []
    manifests = sorted(bag.glob("manifest-*.txt"))
    if not manifests:
        return [_error("no manifest-<algorithm>.txt: not a complete bag", "manifest-sha256.txt")]
    payload = {p.relative_to(bag).as_posix() for p in (bag / "data").rglob("*") if p.is_file() or p.is_symlink()}
    for manifest in [*manifests, *sorted(bag.glob("tagmanifest-*.txt"))]:
        algorithm = manifest.name.split("-", 1)[1].removesuffix(".txt")
        if algorithm not in ("sha256", "sha512"):
            continue
        listed = _bag_lines(bag, manifest, out)
        if manifest.name.startswith("manifest-"):
            out += [_error(f"not listed in {manifest.name}", name) for name in sorted(payload - set(listed))]
        for name, digest in listed.items():
            out += _file_problems(bag, name, algorithm, digest, manifest.name, quick)
    out += _oxum_problems(bag, payload)
    return out


def _bag_lines(bag: Path, manifest: Path, out: list[Problem]) -> dict[str, str]:
    listed: dict[str, str] = {}
    for n, line in enumerate(_small(manifest).decode("utf-8", "replace").splitlines(), 1):
        digest, _, name = line.strip().partition(" ")
        name = name.strip().replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        rel = PurePosixPath(name)
        if not name or rel.is_absolute() or ".." in rel.parts or name.startswith("~"):
            out.append(_error(f"line {n} names no file inside the bag: {line[:120]!r}", manifest.name))
            continue
        listed[name] = digest.lower()
    return listed


def _file_problems(bag: Path, name: str, algorithm: str, digest: str, where: str, quick: bool) -> list[Problem]:
    path = bag / name
    if not path.is_file() or path.is_symlink():
        return [_error(f"missing: {where} lists it", name)]
    if quick:
        return []
    found = _hash_file(path, algorithm)
    if found != digest:
        return [_error(f"{algorithm} is {found}, {where} says {digest}", name)]
    return []


def _oxum_problems(bag: Path, payload: set[str]) -> list[Problem]:
    info = bag / "bag-info.txt"
    if not info.is_file():
        return []
    for line in _small(info).decode("utf-8", "replace").splitlines():
        label, _, value = line.partition(":")
        if label.strip().lower() == "payload-oxum":
            size = sum((bag / name).stat().st_size for name in payload if (bag / name).is_file())
            if value.strip() != f"{size}.{len(payload)}":
                return [_error(f"Payload-Oxum says {value.strip()}, the payload is {size}.{len(payload)}",
                               "bag-info.txt")]
    return []


def _hash_file(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _error(message: str, path: str) -> Problem:
    return Problem(Severity.ERROR, message, path=path)


# -- a WACZ ----------------------------------------------------------------------------------------

def unpack_wacz_package(wacz: Path, out: Path, quick: bool) -> list[Problem]:
    """Check the WACZ's datapackage, and lay out its WARC files and archiver's files in ``out`` as a
    workspace (``archive/``, ``manifests/``, the rest at the top), hashing each as it is extracted."""
    try:
        zf = zipfile.ZipFile(wacz)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{wacz}: not a readable ZIP file: {exc}") from None
    with zf:
        infos = {i.filename: i for i in zf.infolist() if not i.is_dir()}
        if len(infos) > MAX_ENTRIES:
            raise UsageError(f"{wacz}: more than {MAX_ENTRIES} files")
        problems, resources = _datapackage(zf, infos)
        for name in sorted(set(infos) - set(resources) - {"datapackage.json", "datapackage-digest.json"}):
            problems.append(_error("not listed in datapackage.json", name))
        for name, (digest, size) in resources.items():
            if name not in infos:
                problems.append(_error("missing: datapackage.json lists it", name))
                continue
            target = _target(out, name)
            found, length = _extract(zf, infos[name], target)
            if length != size:
                problems.append(_error(f"{length} bytes, datapackage.json says {size}", name))
            elif found != digest:
                problems.append(_error(f"sha256 is {found}, datapackage.json says {digest}", name))
    return problems


def _datapackage(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo]) -> tuple[list[Problem], dict[str, tuple[str, int]]]:
    """(problems, path -> (sha256 hex, bytes)) of datapackage.json, checked against its digest file."""
    if "datapackage.json" not in infos:
        return [_error("missing: not a WACZ", "datapackage.json")], {}
    if infos["datapackage.json"].file_size > MAX_SMALL_FILE:
        raise UsageError(f"datapackage.json is larger than {MAX_SMALL_FILE} bytes")
    raw = zf.read("datapackage.json")
    problems: list[Problem] = []
    try:
        digest = json.loads(zf.read("datapackage-digest.json")).get("hash", "")
        if digest != "sha256:" + hashlib.sha256(raw).hexdigest():
            problems.append(_error(f"its sha256 is not the {str(digest)[:80]} datapackage-digest.json says",
                                   "datapackage.json"))
    except (KeyError, ValueError, AttributeError):
        problems.append(_error("missing or unreadable: it holds datapackage.json's sha256", "datapackage-digest.json"))
    try:
        listed = json.loads(raw)["resources"]
        resources = {str(r["path"]): (str(r["hash"]).removeprefix("sha256:"), int(r["bytes"])) for r in listed}
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(f"datapackage.json: resources unreadable: {exc}", path="datapackage.json") from None
    return problems, resources


def _target(out: Path, name: str) -> Path | None:
    """Where a WACZ file goes in the workspace layout, or None for a file verify does not read."""
    rel = PurePosixPath(name)
    if rel.is_absolute() or ".." in rel.parts or len(rel.parts) != 2:
        return None
    folder, base = rel.parts
    if folder == ARCHIVE_DIR and base.endswith(".warc.gz"):
        return out / ARCHIVE_DIR / base
    if folder == "archiver" and base.endswith(SEAL_SUFFIXES) and base != SEGMENT_FILE:
        return out / MANIFESTS_DIR / base
    if folder == "archiver":
        return out / base
    return None


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path | None) -> tuple[str, int]:
    """(sha256, size) of a ZIP member, written to ``target`` on the way when it has one."""
    h = hashlib.sha256()
    size = 0
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as src, (open(target, "xb") if target is not None else _Null()) as dst:
        while chunk := src.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
            dst.write(chunk)
    return h.hexdigest(), size


class _Null:
    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, data: bytes) -> int:
        return len(data)
