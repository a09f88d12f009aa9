"""Signals for the command line: SIGTERM ends a command the way Ctrl-C (SIGINT) does.

Python turns SIGINT into KeyboardInterrupt, which unwinds the stack: every ``finally`` and
``except BaseException`` runs, so an export removes its temporary file, an import the files it has
not sealed, a capture closes its unfinished WARC file, and ``main`` prints one line and exits 130.
SIGTERM (what ``kill``, ``timeout``, systemd and ``docker stop`` send) would otherwise end the process
on the spot, with none of that. :func:`handle_termination` makes it raise :class:`Terminated`, a
KeyboardInterrupt, instead; a second SIGTERM while the first unwinds is ignored, so the cleanup
finishes (SIGKILL still ends the process at once).

SIGKILL cannot be caught. What it leaves is debris that ``archiver verify`` reports as orphans,
never a damaged sealed capture: the manifest, the seal, is written last, by rename.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread, where SIGINT raises KeyboardInterrupt."""


def handle_termination() -> None:
    """Let SIGTERM raise :class:`Terminated`. Only in the main thread (where Python runs signal
    handlers), and only while SIGTERM has its default action: a handler someone else installed, such
    as ``archiver run --watch``'s or an embedding program's, is left alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)      # the cleanup the first one starts must finish
    raise Terminated(f"signal {signal.Signals(signum).name}")


def temporary_name(target: Path) -> Path:
    """A new hidden name beside ``target``, for writing it whole and renaming it into place (same
    folder, so the rename is atomic). It is chosen before anything is created, so the cleanup that
    removes it can run even when an interrupt lands between the file's creation and the code that
    would have learnt its name, as it can with ``tempfile.mkstemp``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")


@contextmanager
def temporary_folder(prefix: str) -> Iterator[Path]:
    """A new private folder in the system's temporary folder, removed with everything in it at the
    end, whatever ends it. Named before it is created, for the reason ``temporary_name`` gives
    (``tempfile.TemporaryDirectory`` leaves its folder behind when an interrupt lands in mkdtemp)."""
    path = Path(tempfile.gettempdir()) / f"{prefix}{secrets.token_hex(8)}"
    try:
        path.mkdir(mode=0o700)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
