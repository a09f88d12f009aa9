"""Export captures as a WACZ 1.1.1 file: one ZIP that ReplayWeb.page and pywb can replay.

::

    archive/<capture-id>-<n>.warc.gz   STORED: the captures' WARC files, and those holding the originals
                                       of their revisit records, so the package replays on its own
    indexes/index.cdx                  CDXJ of the captures' records and of those originals
    pages/pages.jsonl                  the seeds and linked source pages (2xx), with titles and main text
    archiver/<id>.yaml, .sha256, .sha256.sig, .sha256*.tsr (also of the captures holding revisit
                                       originals), <id>.bib, .json (CSL-JSON), .ris, and the proof:
                                       chain.yaml(.sig), <fingerprint>.pub.pem, provenance.txt
    datapackage.json                   every file above with its sha256 and size
    datapackage-digest.json            the sha256 of datapackage.json

The package is not signed by the WACZ signing spec (wacz-auth): its anonymous form is an ECDSA key that
authenticates nobody, its identity form needs a CA certificate for a domain; archiver's keys are
Ed25519 and the captures' own signatures travel inside instead (docs/evidence.md says why, and how
a recipient checks a package: ``archiver verify PACKAGE``).

Two names follow the tools rather than the examples: the index is ``index.cdx`` (CDXJ lines, which
the spec allows under any name) because ``wb-manager add --unpack-wacz`` only loads ``*.cdx`` and
``*.cdx.gz``; archiver's files sit flat in ``archiver/`` because ``wacz validate`` matches files
against datapackage.json by their last two path segments only.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from .. import __version__
from ..core.interrupts import temporary_name
from ..core.settings import Settings
from ..core.workspace import Workspace, fsync_dir
from ..index.store import Index, Memento
from .bag_export import (
    Contents,
    check_target,
    check_warc,
    copy_hashed,
    gather,
    warc_source,
)
from .cdxj import cdxj_line, sort_lines
from .package_proof import package_proof

WACZ_VERSION = "1.1.1"
INDEX_PATH = "indexes/index.cdx"
PAGES_PATH = "pages/pages.jsonl"
PAGE_TEXT_CHARS = 1_000_000      # of a page's main text in pages.jsonl (the index keeps the whole)
PAGES_HEADER = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}


@dataclass(frozen=True, slots=True)
class Entry:
    """One file written into the ZIP, as datapackage.json lists it."""

    path: str
    sha256: str
    size: int

    def resource(self) -> dict[str, object]:
        out: dict[str, object] = {"name": PurePosixPath(self.path).name.lower(), "path": self.path,
                                  "hash": f"sha256:{self.sha256}", "bytes": self.size}
        if self.path.startswith("archiver/"):
            # Frictionless otherwise opens YAML and JSON files to guess what they are, and takes a
            # manifest (it has a 'resources' key) for a data package of its own, which then fails
            out["type"] = "file"
        return out


def export_wacz(workspace: Workspace, capture_ids: list[str], out_file: Path, settings: Settings, *,
                now: datetime | None = None) -> Path:
    """Write the captures as a WACZ file at ``out_file`` (which must not exist); return it."""
    check_target(out_file)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    contents = gather(workspace, capture_ids, settings)
    pages = page_lines(workspace, contents)
    tmp = temporary_name(out_file)
    try:
        with open(tmp, "xb") as fh:
            os.fchmod(fh.fileno(), 0o644)
            with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
                _write_package(zf, workspace, contents, pages, settings, now)
            fh.flush()
            os.fsync(fh.fileno())
        if out_file.exists():
            check_target(out_file)
        os.replace(tmp, out_file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(out_file.parent)
    return out_file


def _write_package(zf: zipfile.ZipFile, workspace: Workspace, contents: Contents, pages: list[str],
                   settings: Settings, now: datetime) -> None:
    t = now.timetuple()
    stamp = (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    entries = [_write_file(zf, f"archive/{PurePosixPath(w.path).name}", warc_source(workspace, w), stamp)
               for w in contents.warcs]
    for warc, entry in zip(contents.warcs, entries):
        check_warc(workspace, warc, entry.sha256)
    index = sort_lines([cdxj_line(r) for r in (*contents.records, *contents.originals)])
    entries.append(_write_bytes(zf, INDEX_PATH, _lines(index), stamp))
    entries.append(_write_bytes(zf, PAGES_PATH, _lines(pages), stamp))
    entries += [_write_file(zf, f"archiver/{p.name}", p, stamp, zipfile.ZIP_DEFLATED)
                for p in contents.capture_files]
    entries += [_write_bytes(zf, f"archiver/{n}", data, stamp) for n, data in contents.citations.items()]
    proof = package_proof(workspace, contents, settings, now)
    entries += [_write_bytes(zf, f"archiver/{n}", data, stamp) for n, data in proof.files.items()]
    package = datapackage(entries, contents, now)
    _write_bytes(zf, "datapackage.json", package, stamp)
    digest = {"path": "datapackage.json", "hash": f"sha256:{hashlib.sha256(package).hexdigest()}"}
    _write_bytes(zf, "datapackage-digest.json", json.dumps(digest, indent=2).encode("utf-8"), stamp)


def _write_file(zf: zipfile.ZipFile, path: str, source: Path, stamp: tuple[int, int, int, int, int, int],
                compression: int = zipfile.ZIP_STORED) -> Entry:
    """Stream a file into the ZIP; WARCs STORED, as gzip members already that readers seek into."""
    info = zipfile.ZipInfo(path, date_time=stamp)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    info.file_size = source.stat().st_size      # lets zipfile choose ZIP64 for files past 2 GiB
    with zf.open(info, "w") as out:
        size, digests = copy_hashed(source, out, ("sha256",))
    return Entry(path, digests["sha256"], size)


def _write_bytes(zf: zipfile.ZipFile, path: str, data: bytes, stamp: tuple[int, int, int, int, int, int]) -> Entry:
    info = zipfile.ZipInfo(path, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)
    return Entry(path, hashlib.sha256(data).hexdigest(), len(data))


def _lines(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def page_lines(workspace: Workspace, contents: Contents) -> list[str]:
    """pages.jsonl: the header, then each seed and linked source page (2xx) of the captures."""
    lines = [json.dumps(PAGES_HEADER)]
    with Index.open(workspace) as index:
        for cid in contents.capture_ids:
            pages = [m for m in index.capture_mementos(cid)
                     if m.role in ("seed", "source") and 200 <= m.status < 300]
            pages.sort(key=lambda m: (m.role != "seed", m.datetime, m.url))
            lines += [json.dumps(page(m, _text(index, m)), ensure_ascii=False) for m in pages]
    return lines


def _text(index: Index, m: Memento) -> str | None:
    """The page's main text (its conversion record's; a revisit's original's)."""
    text = index.text_of(m.capture_id, m.record_id)
    if text is None and m.revisit_of is not None:
        text = index.text_of(m.revisit_of.capture_id, m.revisit_of.record_id)
    return text


def page(memento: Memento, text: str | None = None) -> dict[str, str]:
    """A page line; its ``id`` is the WARC record's uuid. (Frictionless reads pages.jsonl as a table
    whose columns are the header line's keys, and fails a row with none of them: ``id`` fills one.)
    ``text``: the page's main text, which ReplayWeb.page searches (at most PAGE_TEXT_CHARS)."""
    entry = {"id": memento.record_id.strip("<>").removeprefix("urn:uuid:").replace("-", ""),
             "url": memento.url, "ts": memento.datetime}
    title = ((memento.metadata or {}).get("title") or {}).get("value")
    if isinstance(title, str) and title.strip():
        entry["title"] = " ".join(title.split())
    if text and text.strip():
        entry["text"] = text[:PAGE_TEXT_CHARS]
    return entry


def datapackage(entries: list[Entry], contents: Contents, now: datetime) -> bytes:
    """datapackage.json: a Frictionless data package listing every other file of the WACZ."""
    seeds = [s for cid in contents.capture_ids for s in contents.manifests[cid].seeds]
    package = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": f"archiver {'capture' if len(contents.capture_ids) == 1 else 'captures'} "
                 + ", ".join(contents.capture_ids),
        "description": "Seeds: " + ", ".join(seeds) if seeds else "",
        "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": f"archiver {__version__}",
        "resources": [e.resource() for e in entries],
    }
    return json.dumps(package, indent=2, ensure_ascii=False).encode("utf-8")

