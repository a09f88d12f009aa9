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
    "ArchiverError": "errors",
    "CaptureOptions": "settings",
    "Settings": "settings",
    "load_settings": "settings",
    "CaptureResult": "models",
    "Workspace": "workspace",
    "capture": "capturing",
    "verify": "verifying",
    "cite": "citing",
    "import_archive": "importing",
}

if TYPE_CHECKING:
    from .capturing import capture
    from .citing import cite
    from .errors import ArchiverError
    from .importing import import_archive
    from .models import CaptureResult
    from .settings import CaptureOptions, Settings, load_settings
    from .verifying import verify
    from .workspace import Workspace


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'archiver' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
