"""Signals for the command line: SIGTERM ends a command the way Ctrl-C (SIGINT) does.

Python turns SIGINT into KeyboardInterrupt, which unwinds the stack: every ``finally`` and
``except BaseException`` runs, so an export removes its temporary file, an import the files it has
not sealed, a capture closes its unfinished WARC file, and ``main`` prints one line and exits 130.
SIGTERM (what ``kill``, ``timeout``, systemd and ``docker stop`` send) would otherwise end the process
on the spot, with none of that. :func:`handle_termination` makes it raise :class:`Terminated`, a
KeyboardInterrupt, instead; a second SIGTERM while the first unwinds is ignored, so the cleanup
finishes (SIGKILL still ends the process at once).

A capture does not unwind at once: :class:`StopSignals` turns the first SIGINT or SIGTERM into a
request to stop, which the capture acts on within a second (it closes the connections of the
requests in flight), seals what it had archived as an interrupted capture and then raises
:class:`Interrupted`. A second signal unwinds as above.

SIGKILL cannot be caught. What it leaves is debris that ``archiver verify`` reports as orphans and
``archiver clean`` removes, never a damaged sealed capture: the manifest, the seal, is written last,
by rename.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: raised in the main thread, where SIGINT raises KeyboardInterrupt."""


class Interrupted(KeyboardInterrupt):
    """A capture stopped by a signal, after sealing what it had archived (``result``, a
    CaptureResult marked interrupted) or nothing (``result`` None)."""

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class StopSignals:
    """While entered (in the main thread only, and only for a signal whose handler is Python's
    default or :func:`handle_termination`'s), the first SIGINT or SIGTERM sets ``requested`` and
    writes on stderr the line ``on_stop`` returns; it raises nothing, so no half-written record is
    left by an exception landing mid-write. A second one raises KeyboardInterrupt (SIGINT, Ctrl-C
    again: abandon) or is ignored (SIGTERM, as :func:`handle_termination` does). The handlers that
    were there are put back on exit."""

    def __init__(self, on_stop: Callable[[], str]) -> None:
        self.on_stop = on_stop
        self.requested = False
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                handler = signal.getsignal(signum)
                if handler in (signal.default_int_handler, signal.SIG_DFL) or _ours(handler, None):
                    self._previous[signum] = handler
                    signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def say(self, line: str) -> None:
        """One line on stderr, written whole (safe inside a signal handler)."""
        try:
            os.write(2, f"archiver: {line}\n".encode(errors="replace"))
        except OSError:
            pass

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        self.requested = True
        self.say(self.on_stop())


class CommandSignals:
    """A command's SIGINT and SIGTERM: SIGINT raises KeyboardInterrupt (as Python's own handler does),
    SIGTERM raises :class:`Terminated`, and either is remembered in ``arrived``. A KeyboardInterrupt
    raised while the interpreter itself is at work (creating a class, reporting an error during an
    import) can come out as another exception, a RuntimeError or a TypeError; ``arrived`` says it
    was an interrupt all the same."""

    def __init__(self) -> None:
        self.arrived = False

    def interrupt(self, signum: int, frame: FrameType | None) -> None:
        self.arrived = True
        raise KeyboardInterrupt

    def terminate(self, signum: int, frame: FrameType | None) -> None:
        self.arrived = True
        signal.signal(signal.SIGTERM, signal.SIG_IGN)      # the cleanup the first one starts must finish
        raise Terminated(f"signal {signal.Signals(signum).name}")


def handle_termination() -> CommandSignals:
    """Let SIGTERM raise :class:`Terminated` and SIGINT KeyboardInterrupt, through a CommandSignals
    that remembers them. Only in the main thread (where Python runs signal handlers), and only for a
    signal whose handler is Python's default: a handler someone else installed, such as an embedding
    program's, is left alone."""
    signals = CommandSignals()
    if threading.current_thread() is not threading.main_thread():
        return signals
    if _ours(signal.getsignal(signal.SIGTERM), signal.SIG_DFL):
        signal.signal(signal.SIGTERM, signals.terminate)
    if _ours(signal.getsignal(signal.SIGINT), signal.default_int_handler):
        signal.signal(signal.SIGINT, signals.interrupt)
    return signals


def _ours(handler: Any, default: Any) -> bool:
    """Whether ``handler`` is Python's ``default`` or an earlier command's (a program that runs
    several commands in one process, as the tests do)."""
    return handler is default or isinstance(getattr(handler, "__self__", None), CommandSignals)


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
