"""Every error archiver raises, in one tree.

::

    ArchiverError                  anything archiver itself reports
    ├── UsageError                 bad input from the user: a URL, a flag value (CLI exit 2)
    ├── SettingsError              the workspace settings file is malformed or has an unknown key (exit 2)
    ├── WorkspaceError             the workspace is missing, not writable, or locked (exit 2)
    ├── FetchError                 one HTTP exchange failed (DNS, refused, timeout, TLS, protocol)
    │                              -- a capture records it as a failure and goes on; it is never fatal there
    ├── ManifestError              a manifest cannot be read or does not follow the format
    ├── NotArchivedError           a URL or capture asked for is not in the workspace (exit 1)
    └── CaptureError               a capture as a whole could not be completed (exit 1)

Each error carries the context a person needs to act on it (``url``, ``path``, ``key``...), and its
``str()`` is one line, fit for the CLI to print as is.
"""

from __future__ import annotations


class ArchiverError(Exception):
    """Base of every error archiver raises on purpose."""

    exit_code = 1


class UsageError(ArchiverError):
    """The user asked for something malformed (a URL, a size, a regular expression)."""

    exit_code = 2


class SettingsError(ArchiverError):
    """The settings file is not valid; names the file, line and key."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        where = path or "settings"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.key = path, line, key


class WorkspaceError(ArchiverError):
    """The workspace cannot be used (missing, read-only, locked)."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class FetchError(ArchiverError):
    """One exchange with a server failed before a response could be archived.

    ``kind`` is a short stable word (``dns``, ``refused``, ``timeout``, ``tls``, ``protocol``,
    ``too-large``, ``scheme``, ``reset``) used in manifests and reports.
    """

    def __init__(self, url: str, kind: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url, self.kind, self.reason = url, kind, reason


class ManifestError(ArchiverError):
    """A manifest could not be read or does not follow the manifest format."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class NotArchivedError(ArchiverError):
    """A URL or capture id that the workspace holds no capture of."""

    def __init__(self, message: str, *, target: str | None = None) -> None:
        super().__init__(message)
        self.target = target


class CaptureError(ArchiverError):
    """A capture finished but did not capture every seed, or could not run at all."""

    def __init__(self, message: str, *, capture_id: str | None = None) -> None:
        super().__init__(message)
        self.capture_id = capture_id
