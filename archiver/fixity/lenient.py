"""Files imported damaged with ``archiver import --lenient``: their defects were recorded in the
manifest (``imported_from.files[].defects``) when they were sealed. While a file's sha256 still
matches its manifest, what verify finds wrong inside it is one of those known defects, not a
change: it is a warning. Once the file changes, everything is an error again."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.models import Manifest

KNOWN = " (a defect of the imported file, recorded when it was imported with --lenient)"


def recorded_defects(manifest: Manifest, path: str) -> int:
    """How many defects of the stored file ``path`` the manifest records as found at import."""
    files = (manifest.imported_from or {}).get("files")
    found = [f.get("defects") for f in files if isinstance(f, dict) and f.get("stored") == path] \
        if isinstance(files, list) else []
    return sum(len(d) for d in found if isinstance(d, list))


def defects_warning(count: int) -> str:
    return (f"imported with --lenient: {count} defect(s) of the input recorded in the manifest "
            "(imported_from.files[].defects); the file is kept as it came")
