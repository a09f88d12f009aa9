"""Export captures as a BagIt 1.0 bag (RFC 8493), and gather what any export package holds.

::

    OUT/
      bagit.txt                 BagIt-Version 1.0, UTF-8
      bag-info.txt              Bagging-Date, Payload-Oxum, External-Identifier (each capture id), ...
      manifest-sha256.txt       every payload file once: "<hex>  data/<path>"
      manifest-sha512.txt
      tagmanifest-sha256.txt    the four files above
      tagmanifest-sha512.txt
      data/archive/             the captures' WARC files, and those holding the originals of their revisits
      data/manifests/           <id>.yaml, <id>.sha256, <id>.sha256.sig (when signed), <id>.sha256*.tsr
                                (timestamp tokens), also of the captures holding revisit originals
      data/chain.yaml           the chain segment, its signature chain.yaml.sig, <fingerprint>.pub.pem
      data/provenance.txt       and provenance.txt (transfer.package_proof)
      data/citations/           <id>.bib, <id>.json (CSL-JSON), <id>.ris

The bag is built in a temporary sibling folder and renamed into place, so ``OUT`` is either absent or
whole. Every WARC file is hashed as it is copied and must match the sha256 its capture's manifest
recorded: an export never re-blesses a changed file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, BinaryIO

from .. import __version__
from ..citing.citations import cite
from ..citing.formats import FORMATS
from ..core.errors import ManifestError, NotArchivedError, UsageError
from ..core.interrupts import temporary_name
from ..core.models import Manifest
from ..core.settings import Settings
from ..core.workspace import Workspace, fsync_dir
from ..fixity.manifest import read_manifest
from ..index.store import Index
from .cdxj import Record, originals_of, records_of

if TYPE_CHECKING:
    from .package_proof import Proof

CHUNK = 1 << 20
ALGORITHMS = ("sha256", "sha512")
CITATION_FILES = {"bib": "bibtex", "json": "csl-json", "ris": "ris"}   # file suffix -> archiver.cite format


# -- what a package of captures holds (shared with the WACZ export) ------------------------------


@dataclass(frozen=True, slots=True)
class WarcFile:
    path: str          # workspace-relative, e.g. archive/<capture-id>-00000.warc.gz
    sha256: str        # as the manifest of the capture that wrote it recorded
    capture_id: str


@dataclass(frozen=True, slots=True)
class Contents:
    """Everything an export of some captures needs, read from the workspace before writing anything."""

    capture_ids: tuple[str, ...]
    manifests: dict[str, Manifest]             # capture id -> manifest
    warcs: tuple[WarcFile, ...]                # the captures' own, then those holding revisit originals
    records: tuple[Record, ...]                # the captures' records
    originals: tuple[Record, ...]              # originals of their revisits stored in other captures
    capture_files: tuple[Path, ...]            # manifests, checksum lists, signatures, timestamp tokens
    citations: dict[str, bytes]                # "<id>.bib" etc. -> text
    holders: dict[str, Manifest]               # captures not chosen whose WARC files hold revisit originals


def gather(workspace: Workspace, capture_ids: list[str], settings: Settings) -> Contents:
    """What exporting ``capture_ids`` writes; NotArchivedError for an unknown capture id."""
    ids = tuple(dict.fromkeys(capture_ids))
    if not ids:
        raise UsageError("name at least one capture id to export")
    with Index.open(workspace) as index:
        records = records_of(index.db, list(ids))
        originals = originals_of(index.db, records)
    manifests = {cid: read_manifest(workspace.manifest_path(cid)) for cid in ids}
    warcs = {w.path: w for cid, m in manifests.items() for w in _warc_files(cid, m)}
    holders: dict[str, Manifest] = {}
    for original in originals:
        if original.warc not in warcs:
            owner = holders.get(original.capture_id) or read_manifest(workspace.manifest_path(original.capture_id))
            holders[original.capture_id] = owner
            listed = {w.path: w for w in _warc_files(original.capture_id, owner)}
            if original.warc not in listed:
                raise ManifestError(f"does not list {original.warc}, which holds a revisit's original",
                                    path=str(workspace.manifest_path(original.capture_id)))
            warcs[original.warc] = listed[original.warc]
    # the holders' seals travel too: their manifests vouch for the originals' bytes
    files = [p for cid in (*ids, *sorted(holders)) for p in seal_files(workspace, cid)]
    return Contents(ids, manifests, tuple(warcs.values()), tuple(records), tuple(originals), tuple(files),
                    _citations(workspace, ids, settings), holders)


def seal_files(workspace: Workspace, capture_id: str) -> list[Path]:
    """A capture's manifest, checksum list, signature and timestamp tokens (``<id>.sha256*.tsr``), those present."""
    tokens = sorted(workspace.manifests_dir.glob(f"{capture_id}.sha256*.tsr"))
    return [p for p in (workspace.manifest_path(capture_id), workspace.checksum_path(capture_id),
                        workspace.signature_path(capture_id), *tokens) if p.exists()]


def _warc_files(capture_id: str, manifest: Manifest) -> list[WarcFile]:
    return [WarcFile(w.path, w.sha256, capture_id) for w in manifest.warc_files]


def _citations(workspace: Workspace, ids: tuple[str, ...], settings: Settings) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for cid in ids:
        try:
            items = cite(workspace, [cid], settings=settings)
        except NotArchivedError:      # a capture that archived nothing has nothing to cite
            continue
        for suffix, style in CITATION_FILES.items():
            out[f"{cid}.{suffix}"] = FORMATS[style](items).encode("utf-8")
    return out


def copy_hashed(source: Path, target: IO[bytes], algorithms: tuple[str, ...] = ALGORITHMS) -> tuple[int, dict[str, str]]:
    """Stream ``source`` into ``target``, hashing as the bytes go by: (size, {algorithm: hex})."""
    hashers = {name: hashlib.new(name) for name in algorithms}
    size = 0
    with open(source, "rb") as fh:
        while chunk := fh.read(CHUNK):
            target.write(chunk)
            size += len(chunk)
            for h in hashers.values():
                h.update(chunk)
    return size, {name: h.hexdigest() for name, h in hashers.items()}


def check_warc(workspace: Workspace, warc: WarcFile, sha256: str) -> None:
    """ManifestError unless a copied WARC file still has the sha256 its manifest recorded."""
    if sha256 != warc.sha256:
        raise ManifestError(f"records sha256 {warc.sha256} for {warc.path}, but the file now has {sha256}; "
                            "run archiver verify", path=str(workspace.manifest_path(warc.capture_id)))


def check_target(out: Path) -> None:
    """UsageError for an output path that climbs with '..' or already exists."""
    if ".." in out.parts:
        raise UsageError(f"output path {out} must not contain '..'")
    if out.exists() or out.is_symlink():
        raise UsageError(f"{out} already exists; choose a new name")
    if not out.parent.is_dir():
        raise UsageError(f"folder {out.parent} does not exist")


def warc_source(workspace: Workspace, warc: WarcFile) -> Path:
    """The file a manifest's WARC path names, refusing paths that leave the workspace."""
    rel = PurePosixPath(warc.path)
    if rel.is_absolute() or ".." in rel.parts or warc.path.startswith("~"):
        raise ManifestError(f"WARC path {warc.path!r} leaves the workspace",
                            path=str(workspace.manifest_path(warc.capture_id)))
    return workspace.root / rel


# -- the bag ------------------------------------------------------------------------------------


def export_bag(workspace: Workspace, capture_ids: list[str], out_dir: Path, settings: Settings, *,
               now: datetime | None = None) -> Path:
    """Write the captures as a BagIt 1.0 bag at ``out_dir`` (which must not exist); return it."""
    check_target(out_dir)
    contents = gather(workspace, capture_ids, settings)
    tmp = temporary_name(out_dir)
    try:
        tmp.mkdir()
        tmp.chmod(0o755)                     # whatever the umask: the bag is for sharing
        from .package_proof import package_proof  # it builds on this module's Contents

        now = now or datetime.now(UTC)
        payload = _write_payload(workspace, contents, tmp)
        _write_proof(package_proof(workspace, contents, settings, now), tmp, payload)
        _write_tags(tmp, payload, contents, settings, now)
        if out_dir.exists():
            raise UsageError(f"{out_dir} already exists; choose a new name")
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_dir(out_dir.parent)
    return out_dir


Digests = dict[str, tuple[int, dict[str, str]]]     # bag path -> (size, {algorithm: hex})


def _write_payload(workspace: Workspace, contents: Contents, bag: Path) -> Digests:
    digests: Digests = {}
    for warc in contents.warcs:
        name = f"data/archive/{PurePosixPath(warc.path).name}"
        with _create(bag / name) as out:
            digests[name] = copy_hashed(warc_source(workspace, warc), out)
        check_warc(workspace, warc, digests[name][1]["sha256"])
    for path in contents.capture_files:
        name = f"data/manifests/{path.name}"
        with _create(bag / name) as out:
            digests[name] = copy_hashed(path, out)
    for file_name, data in contents.citations.items():
        name = f"data/citations/{file_name}"
        with _create(bag / name) as out:
            out.write(data)
        digests[name] = (len(data), {a: hashlib.new(a, data).hexdigest() for a in ALGORITHMS})
    return digests


def _write_proof(proof: Proof, bag: Path, digests: Digests) -> None:
    """The segment file, keys and provenance.txt (transfer.package_proof) at the top of ``data/``."""
    for file_name, data in proof.files.items():
        name = f"data/{file_name}"
        with _create(bag / name) as out:
            out.write(data)
        digests[name] = (len(data), {a: hashlib.new(a, data).hexdigest() for a in ALGORITHMS})


def _create(path: Path) -> BinaryIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "xb")


def _write_tags(bag: Path, payload: Digests, contents: Contents, settings: Settings, now: datetime) -> None:
    tags: Digests = {}

    def tag(name: str, text: str) -> None:
        data = text.encode("utf-8")
        (bag / name).write_bytes(data)
        tags[name] = (len(data), {a: hashlib.new(a, data).hexdigest() for a in ALGORITHMS})

    tag("bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    tag("bag-info.txt", bag_info(payload, contents.capture_ids, settings, now))
    for algorithm in ALGORITHMS:
        tag(f"manifest-{algorithm}.txt", manifest_text(payload, algorithm))
    for algorithm in ALGORITHMS:
        (bag / f"tagmanifest-{algorithm}.txt").write_text(manifest_text(tags, algorithm), encoding="utf-8")


def bag_info(payload: Digests, capture_ids: tuple[str, ...], settings: Settings, now: datetime) -> str:
    """The bag-info.txt text: one ``Label: value`` a line, labels repeated for several values."""
    operator = settings.operator
    fields = [("Bagging-Date", now.astimezone(UTC).strftime("%Y-%m-%d")),
              ("Payload-Oxum", f"{sum(size for size, _ in payload.values())}.{len(payload)}"),
              *(("External-Identifier", cid) for cid in capture_ids),
              ("Bag-Software-Agent", f"archiver/{__version__}")]
    if operator.name.strip():
        fields += [("Source-Organization", operator.name), ("Contact-Name", operator.name)]
    contact = operator.contact.strip().removeprefix("mailto:")
    if contact and "@" in contact and " " not in contact:
        fields.append(("Contact-Email", contact))
    elif contact:
        fields.append(("Internal-Sender-Description", f"Operator contact: {contact}"))
    return "".join(f"{label}: {' '.join(value.split())}\n" for label, value in fields)


def manifest_text(digests: Digests, algorithm: str) -> str:
    """``<hex>  <path>`` lines, sorted by path, with paths percent-encoded as RFC 8493 asks."""
    return "".join(f"{d[algorithm]}  {encode_path(name)}\n" for name, (_, d) in sorted(digests.items()))


def encode_path(path: str) -> str:
    """RFC 8493 section 2.1.3: '%' first, then CR and LF."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
