"""``archiver verify --store URL``: the store's copies checked against the workspace's sealed
manifests, byte for byte, so that a reader can prove the object store holds what was sealed.

For every capture verify checks whose manifest the store holds: the store's manifest and seal files
(checksum list, signature, timestamp tokens) must equal the workspace's, and each WARC file the
manifest lists must be in the store with its sha256 and length (``--quick``: its length). A capture
the store does not hold is a warning (sealed before the store was used, or captured on one machine),
unless it was named on the command line; a store that holds none of them is an error: nothing was
proven."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.workspace import Workspace
from ..fixity.verify import VerifyReport
from .store import Store
from .store_copies import file_digest, seal_files


@dataclass(slots=True)
class StoreCheck:
    url: str
    captures: int = 0          # captures whose manifest the store holds
    objects: int = 0           # objects compared
    bytes_read: int = 0

    def as_json(self) -> dict[str, object]:
        return {"url": self.url, "captures": self.captures, "objects": self.objects, "bytes_read": self.bytes_read}

    def line(self) -> str:
        return (f"store {self.url}: {self.captures} capture(s), {self.objects} object(s) compared with the sealed "
                f"manifests ({self.bytes_read} bytes read)")


def check_store(workspace: Workspace, store: Store, report: VerifyReport, named: list[str]) -> StoreCheck:
    """Add to ``report`` every difference between the store and the sealed captures it verified."""
    done = StoreCheck(store.url)
    for capture_id in report.captures:
        loaded = report.loaded.get(capture_id)
        if loaded is None:
            continue
        manifest_name = workspace.relative(loaded.path)
        if store.size(manifest_name) is None:
            say = report.error if capture_id in named else report.warn
            say("the store holds no manifest of this capture", capture_id=capture_id, path=store.where(manifest_name))
            continue
        done.captures += 1
        for path in seal_files(workspace, capture_id):
            sha256, length = file_digest(path)
            _compare(store, workspace.relative(path), sha256, length, report, done, capture_id, quick=False)
        for warc in loaded.manifest.warc_files:
            _compare(store, warc.path, warc.sha256, warc.bytes, report, done, capture_id, quick=report.quick)
    if report.captures and not done.captures:
        report.error("the store holds none of the sealed captures verified here", path=store.url)
    return done


def _compare(store: Store, name: str, sha256: str, length: int, report: VerifyReport, done: StoreCheck,
             capture_id: str, *, quick: bool) -> None:
    done.objects += 1
    where = store.where(name)
    if quick:
        size = store.size(name)
        if size is None:
            report.error("missing from the store", capture_id=capture_id, path=where)
        elif size != length:
            report.error(f"the store's copy is {size} bytes, the sealed manifest says {length}",
                         capture_id=capture_id, path=where)
        return
    got = store.digest(name, length)
    if got is None:
        report.error("missing from the store", capture_id=capture_id, path=where)
        return
    done.bytes_read += got[1]
    if got != (sha256, length):
        report.error(f"the store's copy differs from what was sealed: {got[1]}{'+' if got[1] > length else ''} bytes "
                     f"with sha256 {got[0]}, sealed {length} bytes with sha256 {sha256}",
                     capture_id=capture_id, path=where)
