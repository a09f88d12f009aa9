"""Redis going away mid-capture (restarted, failed over, the network cut) and coming back.

Every call a worker or the queuing process makes to Redis goes through :class:`Patience`: a
dropped connection, a timeout, or Redis still loading its append-only file (``LOADING``) is tried
again with back-off (0.1 s doubling to 5 s) for up to ``limit`` seconds, with one line when the
outage starts and one when Redis answers again, never a line per try. Past the limit the call
raises :class:`UnavailableError` (one line, exit 69), and so does every later call at once: a
process that gave up does not wait a second time on its way out.

What Redis keeps across a restart is its own affair (docs/distributed.md: AOF). What a restart
does to the leases: they are absolute times on Redis's clock (``TIME``), so a restart on the same
host keeps them; a lease that expired during the outage is taken back by the next claim and its
URL fetched again, and the worker that held it has its report refused (its file stays unlisted):
a URL is never listed twice. :func:`persistence` says whether a restart would lose the queue."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..core.errors import UnavailableError

T = TypeVar("T")
FIRST_WAIT, MOST_WAIT = 0.1, 5.0      # seconds between tries: doubling from the first
DEFAULT_LIMIT = 300.0                 # seconds an outage is waited out (--outage-limit)
MAX_LIMIT = 7 * 24 * 3600.0


class Patience:
    """Retries of the calls to one Redis; shared by the threads of one process."""

    def __init__(self, where: str, limit: float = DEFAULT_LIMIT, log: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> None:
        self.where, self.limit = where, limit
        self.log = log or (lambda line: None)
        self.sleep, self.clock = sleep, clock
        self.lock = threading.Lock()
        self.since: float | None = None        # when the current outage started
        self.gave_up: str | None = None        # the line said when the limit passed
        self.outages = 0

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        transient = _transient()
        wait = FIRST_WAIT
        while True:
            if self.gave_up is not None:
                raise UnavailableError(self.gave_up, service=self.where)
            try:
                value = fn(*args, **kwargs)
            except transient as exc:
                self._down(exc)
                self.sleep(wait)
                wait = min(wait * 2, MOST_WAIT)
                continue
            if self.since is not None:
                self._up()
            return value

    def _down(self, exc: Exception) -> None:
        with self.lock:
            now = self.clock()
            if self.since is None:
                self.since = now
                self.outages += 1
                self.log(f"queue {self.where}: Redis does not answer ({_reason(exc)}); trying again for up to "
                         f"{self.limit:g} s")
            elif now - self.since > self.limit and self.gave_up is None:
                self.gave_up = (f"queue {self.where}: Redis has not answered for {now - self.since:.0f} s, past "
                                f"--outage-limit {self.limit:g} ({_reason(exc)})")
            if self.gave_up is not None:
                raise UnavailableError(self.gave_up, service=self.where)

    def _up(self) -> None:
        with self.lock:
            if self.since is not None:
                self.log(f"queue {self.where}: Redis answers again after {self.clock() - self.since:.1f} s")
                self.since = None


def _transient() -> tuple[type[Exception], ...]:
    """What a Redis restart raises in redis-py: the connection refused or cut, a timeout, and
    ``LOADING`` (BusyLoadingError, a ConnectionError in redis-py 2.10 but not in every version)."""
    errors = _errors()
    return (errors.ConnectionError, errors.TimeoutError, errors.BusyLoadingError)


def _errors() -> Any:
    """redis-py's exceptions, typed loosely (queue.py says why)."""
    return importlib.import_module("redis.exceptions")


def _reason(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def persistence(client: Any) -> str | None:
    """None when Redis keeps its data across a restart (AOF on); else one line saying what a restart
    would lose. Asks ``CONFIG GET``, which a managed Redis may refuse: then it says it cannot tell."""
    errors = _errors()
    try:
        aof = _config(client, "appendonly")
        save = _config(client, "save")
    except errors.ResponseError as exc:
        return (f"cannot tell whether Redis keeps the queue across a restart (CONFIG GET refused: {_reason(exc)}); "
                "without appendonly yes a restart loses every queued capture")
    if aof == "yes":
        return None
    if save.strip():
        return (f"Redis keeps only snapshots (appendonly {aof or 'no'}, save '{save[:100]}'): a restart loses "
                "what the queue did since the last one; set appendonly yes")
    return ("Redis persists nothing (appendonly no, save ''): a restart loses every queued capture; "
            "set appendonly yes (docs/distributed.md)")


def _config(client: Any, name: str) -> str:
    reply = client.config_get(name)
    value = reply.get(name, reply.get(name.encode(), "")) if isinstance(reply, dict) else ""
    return (value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))[:1000]
