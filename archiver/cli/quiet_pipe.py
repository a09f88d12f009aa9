"""Standard output whose reader went away (``archiver list | head -1``): what is written after is
dropped, quietly, and the command finishes with its own exit code, as if the output had been read.
Without this, the first write after the reader left raises BrokenPipeError (Python ignores SIGPIPE),
the command stops half-way and the interpreter prints "Broken pipe" or "Exception ignored"."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast


class _QuietStdout:
    """``sys.stdout`` that, on BrokenPipeError, points file descriptor 1 at /dev/null and goes on."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            _to_devnull(self._stream)
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            _to_devnull(self._stream)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _to_devnull(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at /dev/null (what is still buffered goes there), if it has one."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
        stream.flush()
    except (OSError, ValueError):       # no file descriptor (replaced in-process, e.g. by a test)
        pass


@contextmanager
def quiet_closed_pipe() -> Iterator[None]:
    """While it lasts, a closed standard output swallows what is written; flushed at the end."""
    original = sys.stdout
    quiet = _QuietStdout(original)
    sys.stdout = cast(TextIO, quiet)
    try:
        yield
    finally:
        quiet.flush()
        sys.stdout = original
