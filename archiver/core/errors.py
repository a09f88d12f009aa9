"""Every error archiver raises, in one tree.

::

    ArchiverError                  anything archiver itself reports
    ├── UsageError                 bad input from the user: a URL, a flag value (CLI exit 2)
    ├── SettingsError              the workspace settings file is malformed or has an unknown key (exit 2)
    ├── WorkspaceError             the workspace is missing or not writable (exit 2), or busy (exit 75)
    ├── FetchError                 one HTTP exchange failed (DNS, refused, timeout, TLS, protocol)
    │                              -- a capture records it as a failure and goes on; it is never fatal there
    ├── ManifestError              a manifest cannot be read or does not follow the format
    ├── NotArchivedError           a URL or capture asked for is not in the workspace (exit 1)
    ├── CaptureError               a capture as a whole could not be completed (exit 1)
    ├── StoreError                 an object store's copy could not be written or read (exit 1)
    ├── UnavailableError           a service archiver waits on (the Redis queue) stayed away past its bound (exit 69)
    └── TimestampError             an RFC 3161 authority's reply or a stored token does not hold
                                   (never fails a seal: the capture is sealed, the token is missing)

Each error carries the context a person needs to act on it (``url``, ``path``, ``key``...), and its
``str()`` is one line, fit for the CLI to print as is.
"""

from __future__ import annotations

# The command line's exit codes, one table for every command (README.md, "Exit codes"; archiver --help)
EXIT_OK = 0
EXIT_PROBLEMS = 1         # done, but not all is well; or nothing found
EXIT_USAGE = 2            # refused: bad input, nothing written
EXIT_UNAVAILABLE = 69     # EX_UNAVAILABLE: the Redis queue stopped answering for longer than its bound
EXIT_BUSY = 75            # EX_TEMPFAIL: a lock another process holds; try again later
EXIT_INTERRUPTED = 130    # 128 + SIGINT
EXIT_CODES = {
    EXIT_OK: "done (serve: stopped by Ctrl-C or SIGTERM)",
    EXIT_PROBLEMS: "done, but not all is well (a seed not captured, a check failed) or not found "
                   "(a URL, capture id or schedule name that is not there)",
    EXIT_USAGE: "refused: bad input (arguments, a folder that is not a workspace, archiver.yaml, "
                "an existing output file, a busy port); nothing written",
    EXIT_UNAVAILABLE: "unavailable: the Redis queue stopped answering for longer than --outage-limit "
                      "(worker, capture --queue)",
    EXIT_BUSY: "busy: another archiver process holds the lock (archiver run); try again later",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C, SIGTERM; except serve, which they stop: 0)",
}


class ArchiverError(Exception):
    """Base of every error archiver raises on purpose."""

    exit_code = EXIT_PROBLEMS


class UsageError(ArchiverError):
    """The user asked for something malformed (a URL, a size, a regular expression)."""

    exit_code = EXIT_USAGE


class SettingsError(ArchiverError):
    """The settings file is not valid; names the file, line and key."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        where = path or "settings"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")
        self.path, self.line, self.key = path, line, key


class WorkspaceError(ArchiverError):
    """The workspace cannot be used (missing, read-only, locked)."""

    exit_code = EXIT_USAGE

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


class StoreError(ArchiverError):
    """An object store's copy (distributed captures) could not be written or read; names the object."""


class UnavailableError(ArchiverError):
    """A service archiver waits on (the Redis queue) did not answer within the bound it was given;
    names the service and how long it was tried."""

    exit_code = EXIT_UNAVAILABLE

    def __init__(self, message: str, *, service: str | None = None) -> None:
        super().__init__(message)
        self.service = service


class TimestampError(ArchiverError):
    """A timestamp authority's reply was refused, or a stored token does not check; names the
    authority or the file and the reason."""

    def __init__(self, reason: str, *, authority: str | None = None, path: str | None = None) -> None:
        super().__init__(f"{authority or path}: {reason}" if authority or path else reason)
        self.reason, self.authority, self.path = reason, authority, path
