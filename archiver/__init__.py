"""archiver: preserve web sources and make them citable.

The public API::

    from archiver import capture, CaptureOptions, Workspace
    result = capture(["https://example.org/news/article"], Workspace(Path(".")))

Names are imported lazily so that the command line starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "ArchiverError",
    "CaptureOptions",
    "CaptureResult",
    "Settings",
    "Workspace",
    "__version__",
    "capture",
    "cite",
    "import_archive",
    "load_settings",
    "verify",
]

_LAZY = {
    "ArchiverError": "core.errors",
    "CaptureOptions": "core.settings",
    "Settings": "core.settings",
    "load_settings": "core.settings",
    "CaptureResult": "core.models",
    "Workspace": "core.workspace",
    "capture": "capturing.run",
    "verify": "fixity.verify",
    "cite": "citing.citations",
    "import_archive": "transfer.importer",
}

if TYPE_CHECKING:
    from .capturing.run import capture
    from .citing.citations import cite
    from .core.errors import ArchiverError
    from .core.models import CaptureResult
    from .core.settings import CaptureOptions, Settings, load_settings
    from .core.workspace import Workspace
    from .fixity.verify import verify
    from .transfer.importer import import_archive


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'archiver' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
