"""The CPU work of one fetched page or stylesheet, as a pure function of its bytes: links, citation
metadata, main text, and the notes of the parsing bounds that cut. The same function runs in the
capture's worker thread, or in a process of a :class:`PagePool`, so what a capture archives does not
depend on where its pages were read.

Why processes: reading a page (lxml, selectolax, trafilatura) holds the GIL for about 1.2 ms, and the
capture's threads must queue for it; a second process reads pages on the second core while the
capture's process fetches, writes records and keeps the frontier, the per-host limits and the WARC
file's order. The bytes go to the process and typed results come back (pickled dataclasses); the
records are still written by the capture's threads, from the same results either way.

The pool starts in a thread of its own (starting a Python process and importing the extraction
libraries takes 0.2-0.4 s, which the capture's loop must not wait for); until it is up, pages are
read in the capture's threads. Its processes are plain ``python -m archiver.capturing.page_work``
children (not multiprocessing's, which would import the caller's ``__main__`` again), asked one page
at a time over their stdin and stdout, each in a session of its own: Ctrl-C at a terminal reaches
the capture alone, which stops as it always has, and closes the pool: each process finishes the page
it reads (milliseconds) and ends at the end of its input, or when the capture's process is gone."""

from __future__ import annotations

import contextlib
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from ..core.models import Link
from ..net.content_coding import decode_bounded, markup, size
from ..page.links import PageLinks, decode, html_links, stylesheet_links
from ..page.main_text import MainText, main_text
from ..page.metadata import PageMetadata, extract_metadata

POOL_CPU = 0.5           # CPU seconds spent reading pages in the capture's process before an automatic pool
#                          starts (a pool process costs about 0.4 s of CPU to start and import the extractors)
STOP_WAIT = 2.0          # seconds a pool process has to end after its input is closed, then it is killed


@dataclass(frozen=True, slots=True)
class PageJob:
    """What reading one response needs: the bytes held for parsing and a few header values."""

    url: str
    prefix: bytes
    content_encoding: str | None
    content_type: str | None
    css: bool                     # a stylesheet, else HTML
    describe: bool                # a page the capture cites (seed or source): metadata, and text
    revisit: bool                 # its payload is stored already: its text is the original's
    entity_bytes: int
    language: str | None          # Content-Language, the metadata's fallback


@dataclass(frozen=True, slots=True)
class PageRead:
    """What was read: links (``page`` for HTML, ``css`` for a stylesheet), metadata, main text, and
    the notes of the bounds that cut, in the order the capture has always listed them."""

    decoded: bool = True
    css: list[Link] = field(default_factory=list)
    page: PageLinks | None = None
    metadata: PageMetadata | None = None
    text: MainText | None = None
    notes: tuple[str, ...] = ()


def read_page(job: PageJob) -> PageRead:
    body, note = decode_bounded(job.prefix, job.content_encoding)
    if body is None:
        return PageRead(decoded=False)
    notes = [note] if note else []
    if job.entity_bytes > len(job.prefix):
        notes.append(f"bytes: parsed the first {size(len(job.prefix))} of the {size(job.entity_bytes)} body as sent")
    text = decode(body, job.content_type)
    del body
    if job.css:
        links, css_notes = stylesheet_links(text, job.url)
        return PageRead(css=links, notes=tuple(dict.fromkeys([*notes, *css_notes])))
    page = markup(text)
    del text
    found = html_links(page, job.url)
    notes += found.limits
    metadata = extracted = None
    if job.describe:
        metadata = extract_metadata(page, fallback_language=job.language)
        notes += metadata.limits
        if not job.revisit:
            extracted = main_text(page, job.url)
            notes += extracted.limits if extracted else ()
    return PageRead(page=found, metadata=metadata, text=extracted, notes=tuple(dict.fromkeys(notes)))


_WARM_PAGE = PageJob("http://127.0.0.1/", b"<!doctype html><title>t</title><p>" + b"warm " * 40 + b"</p>", None,
                     "text/html; charset=utf-8", False, True, False, 250, None)
_LENGTH = 8               # bytes of the length before each pickled message


def _send(out: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(data).to_bytes(_LENGTH, "big") + data)
    out.flush()


def _receive(inp: IO[bytes]) -> object:
    """The next message; EOFError when the other side is gone."""
    head = inp.read(_LENGTH)
    if len(head) < _LENGTH:
        raise EOFError
    size = int.from_bytes(head, "big")
    data = inp.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)   # noqa: S301 - between a capture and the process it started, nobody else


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """A pool process: read a PageJob, answer its PageRead (or the error's text), until EOF."""
    while True:
        try:
            job = _receive(inp)
        except EOFError:
            return
        try:
            answer: object = read_page(job) if isinstance(job, PageJob) else TypeError("not a PageJob")
        except Exception as exc:    # a page that breaks a parser: the capture reads it itself and says why
            answer = RuntimeError(f"{type(exc).__name__}: {exc}")
        _send(out, answer)


class _Process:
    """One pool process, asked one page at a time over its stdin and stdout."""

    def __init__(self) -> None:
        # its own session: Ctrl-C at a terminal reaches the capture alone, which stops the pool
        self.popen = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, start_new_session=True)

    def ask(self, job: PageJob) -> PageRead:
        assert self.popen.stdin is not None and self.popen.stdout is not None
        _send(self.popen.stdin, job)
        answer = _receive(self.popen.stdout)
        if not isinstance(answer, PageRead):
            raise EOFError(str(answer))
        return answer

    def stop(self) -> None:
        if self.popen.stdin is not None:
            with contextlib.suppress(OSError):
                self.popen.stdin.close()
        try:
            self.popen.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        if self.popen.stdout is not None:
            self.popen.stdout.close()


class PagePool:
    """Reads pages in ``processes`` other processes once :meth:`start` has brought them up (until
    then, or when a process broke, :meth:`read` says None and the caller reads the page itself).
    Thread-safe: the capture's worker threads all call :meth:`read`."""

    def __init__(self, processes: int, start_after: float | None = None) -> None:
        self.processes = processes
        self.start_after = start_after  # CPU seconds of pages read elsewhere before it starts itself
        self.spent = 0.0                # ... counted by :meth:`read_here`
        self.pages_read = 0             # by the processes
        self._idle: queue.SimpleQueue[_Process] = queue.SimpleQueue()
        self._all: list[_Process] = []
        self._up = False
        self._starter: threading.Thread | None = None
        self._closed = False
        self._broken = False
        self._guard = threading.Lock()

    @property
    def up(self) -> bool:
        return self._up

    def start(self, wait: bool = False) -> None:
        """Start the processes in the background (a no-op when started, closed or set to none);
        ``wait``: return once they are up (or failed to start)."""
        with self._guard:
            if self._starter is None and not self._closed and self.processes >= 1:
                self._starter = threading.Thread(target=self._bring_up, name="archiver-pages", daemon=True)
                self._starter.start()
            starter = self._starter
        if wait and starter is not None:
            starter.join()

    def _bring_up(self) -> None:
        for _ in range(self.processes):
            with self._guard:
                if self._closed:
                    return
                try:
                    process = _Process()
                except OSError:
                    return
                self._all.append(process)
            try:
                process.ask(_WARM_PAGE)      # the extraction libraries imported before the first real page
            except (EOFError, OSError):
                return
            self._idle.put(process)
            self._up = True

    def read(self, job: PageJob) -> PageRead | None:
        """The page read by a process of the pool; None when no process is up (yet) or free, or
        one broke."""
        if not self._up or self._closed or self._broken:
            return None
        try:
            process = self._idle.get_nowait()
        except queue.Empty:
            return None           # every process is busy: the caller reads this one, both cores work
        try:
            answer = process.ask(job)
        except (EOFError, OSError, pickle.PicklingError):
            self._broken = True   # a process died: the capture's threads read the rest themselves
            return None
        self._idle.put(process)
        with self._guard:
            self.pages_read += 1
        return answer

    def read_here(self, job: PageJob) -> PageRead:
        """Read ``job`` in the calling thread, counting its CPU towards ``start_after``."""
        began = time.thread_time()
        try:
            return read_page(job)
        finally:
            spent = time.thread_time() - began
            with self._guard:
                self.spent += spent
                due = self.start_after is not None and self.spent >= self.start_after
            if due:
                self.start()

    def close(self) -> None:
        """Stop the processes: each finishes the page it reads; one still starting is killed (a
        short capture does not wait for it). No process is left behind."""
        with self._guard:
            self._closed = True
            starting = [] if self._up else list(self._all)
        for process in starting:
            process.popen.kill()
        if self._starter is not None:
            self._starter.join()
        for process in self._all:
            process.stop()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from . import page_work  # run with -m: the module's own classes, not __main__'s copies

    page_work.serve(sys.stdin.buffer, sys.stdout.buffer)
