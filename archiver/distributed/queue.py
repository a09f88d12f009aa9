"""The shared state of distributed captures, in Redis, through redis-py and Lua scripts (each script
runs atomically in Redis: no two workers can claim the same URL or overfill a host).

Keys (``PREFIX`` is ``archiver`` unless a test or a deployment names another):

- ``PREFIX:captures`` set of capture ids being captured; ``PREFIX:workers`` hash worker -> JSON status;
  ``PREFIX:worker-ids`` counter numbering workers (``w1``, ``w2``, ...).
- ``PREFIX:host:HOST`` sorted set of leases on a host (member: worker and URL, score: expiry in ms):
  at most ``per_host`` unexpired members, shared by every capture and worker.
- per capture, ``PREFIX:cap:ID:`` then ``spec`` (JSON: seeds, workspace, options), ``pending`` (list of
  URLs), ``entries`` (hash URL -> JSON target), ``seen`` (set: a URL enters the frontier once),
  ``leases`` (sorted set URL -> expiry in ms), ``owner`` (hash URL -> worker), ``done`` (set of URLs
  archived), ``results`` (list of JSON reports: a worker's WARC file and what it holds), ``skipped``
  (list of JSON skips), ``meta`` (JSON: when it started, its schedule, its workspace's mark) and
  ``sealer`` (the sealer lease, distributed/sealing.py).
- ``PREFIX:last-alive``: Redis time (ms) a worker last said it was alive (distributed/states.py).

A lease that expires (its worker died or stalled) is taken back by the next claim: its URL goes back
to the front of ``pending`` and its host lease is dropped. Redis's clock (``TIME``) is the only clock.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from ..core.errors import UsageError
from .outage import Patience

DEFAULT_PREFIX = "archiver"
MAX_REPLY = 64 * 2**20     # bytes of one report or spec read back from Redis


@dataclass(frozen=True, slots=True)
class QueueAddress:
    url: str
    prefix: str = DEFAULT_PREFIX


def parse_queue(url: str) -> QueueAddress:
    """``redis://HOST[:PORT][/DB][?prefix=NAME]`` (NAME starts every key: several archivers, or tests,
    share one database); UsageError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix") or (parts.scheme != "unix" and not parts.hostname):
        raise UsageError(f"--queue {url!r}: expected redis://HOST:PORT/DB")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"--queue {url!r}: the port is not a number from 1 to 65535") from None
    del port
    db = parts.path.strip("/")
    if db and (not db.isdigit() or int(db) > 10_000):
        raise UsageError(f"--queue {url!r}: the database number {db!r} is not a number from 0 to 10000")
    query = parse_qs(parts.query, keep_blank_values=True)
    prefix = query.pop("prefix", [DEFAULT_PREFIX])[-1]
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", prefix):
        raise UsageError(f"--queue {url!r}: prefix must be 1-64 letters, digits, '_', '.' or '-'")
    rest = urlencode({k: v[-1] for k, v in query.items()})
    return QueueAddress(urlunsplit(parts._replace(query=rest)), prefix)


_CLAIM = """
-- KEYS: pending entries leases owner ; ARGV: worker, per_host, lease_ms, host_prefix, scan
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, url in ipairs(expired) do
  redis.call('ZREM', KEYS[3], url)
  redis.call('HDEL', KEYS[4], url)
  redis.call('LPUSH', KEYS[1], url)
end
local per_host = tonumber(ARGV[2])
local urls = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[5]) - 1)
for _, url in ipairs(urls) do
  local entry = redis.call('HGET', KEYS[2], url)
  local host = cjson.decode(entry)['host']
  local hk = ARGV[4] .. host
  redis.call('ZREMRANGEBYSCORE', hk, '-inf', now)
  if redis.call('ZCARD', hk) < per_host then
    local expiry = now + tonumber(ARGV[3])
    redis.call('ZADD', hk, expiry, ARGV[1] .. ' ' .. url)
    redis.call('PEXPIRE', hk, tonumber(ARGV[3]) * 2)
    redis.call('LREM', KEYS[1], 1, url)
    redis.call('ZADD', KEYS[3], expiry, url)
    redis.call('HSET', KEYS[4], url, ARGV[1])
    return entry
  end
end
return false
"""

_ADD = """
-- KEYS: seen pending entries skipped ; ARGV: url, entry, max_resources, is_seed, skip_json
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
if ARGV[4] ~= '1' and redis.call('SCARD', KEYS[1]) > tonumber(ARGV[3]) then
  redis.call('RPUSH', KEYS[4], ARGV[5])
  return 2
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[1])
return 1
"""

_RENEW = """
-- KEYS: leases owner ; ARGV: worker, lease_ms, urls...
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local kept = 0
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[i])
    kept = kept + 1
  end
end
return kept
"""

_REPORT = """
-- KEYS: leases owner done results ; ARGV: worker, report, urls...
for i = 3, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) ~= ARGV[1] then return 0 end
end
for i = 3, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
  redis.call('SADD', KEYS[3], ARGV[i])
end
redis.call('RPUSH', KEYS[4], ARGV[2])
return 1
"""

_ALIVE = """
-- KEYS: alive last_alive ; ARGV: lease_ms
local t = redis.call('TIME')
redis.call('SET', KEYS[1], '1', 'PX', tonumber(ARGV[1]))
redis.call('SET', KEYS[2], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
return 1
"""


P = ParamSpec("P")
T = TypeVar("T")


def _patient(method: Callable[Concatenate[Queue, P], T]) -> Callable[Concatenate[Queue, P], T]:
    """A Queue method that waits out a Redis outage (outage.py): retried whole, so each is either
    read-only or harmless twice (a claim whose reply was lost leaves a lease that expires)."""
    @functools.wraps(method)
    def call(self: Queue, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.patience.call(method, self, *args, **kwargs)
    return call


class Queue:
    """One connection to the queue; every method is one round trip (or one script)."""

    def __init__(self, address: QueueAddress, client: Any = None, patience: Patience | None = None) -> None:
        if client is None:
            client = _redis().StrictRedis.from_url(address.url, socket_timeout=30, socket_connect_timeout=10)
        self.redis = client
        self.prefix = address.prefix
        self.patience = patience or Patience(address.url)
        self._claim = client.register_script(_CLAIM)
        self._add = client.register_script(_ADD)
        self._renew = client.register_script(_RENEW)
        self._report = client.register_script(_REPORT)
        self._alive = client.register_script(_ALIVE)

    def ping(self, url: str) -> None:
        try:
            self.redis.ping()
        except _redis().RedisError as exc:
            raise UsageError(f"--queue {url}: Redis does not answer: {exc}") from None

    def key(self, capture_id: str, name: str) -> str:
        return f"{self.prefix}:cap:{capture_id}:{name}"

    def _keys(self, capture_id: str, *names: str) -> list[str]:
        return [self.key(capture_id, n) for n in names]

    # -- the capturing side
    @_patient
    def open_capture(self, capture_id: str, spec: dict[str, Any]) -> None:
        self.redis.set(self.key(capture_id, "spec"), json.dumps(spec))
        self.redis.sadd(f"{self.prefix}:captures", capture_id)

    @_patient
    def close_capture(self, capture_id: str) -> None:
        """Forget a capture once sealed: its keys and its place among the captures."""
        self.redis.srem(f"{self.prefix}:captures", capture_id)
        names = ("spec", "pending", "entries", "seen", "leases", "owner", "done", "results", "skipped", "meta", "sealer")
        robots = list(self.redis.scan_iter(match=self.key(capture_id, "robots*"), count=500))
        self.redis.delete(*self._keys(capture_id, *names), *robots)

    @_patient
    def add(self, capture_id: str, url: str, entry: dict[str, Any], max_resources: int, skip: dict[str, Any]) -> int:
        """1 queued, 0 seen before, 2 over --max-resources (listed as skipped)."""
        keys = self._keys(capture_id, "seen", "pending", "entries", "skipped")
        return int(self._add(keys=keys, args=[url, json.dumps(entry), max_resources,
                                              "1" if entry["role"] == "seed" else "0", json.dumps(skip)]))

    @_patient
    def idle(self, capture_id: str) -> bool:
        """Nothing pending and no lease held: the capture's frontier is exhausted."""
        pipe = self.redis.pipeline()
        pipe.llen(self.key(capture_id, "pending"))
        pipe.zcard(self.key(capture_id, "leases"))
        pending, leased = pipe.execute()
        return not pending and not leased

    def patient(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn`` (a Redis command of this queue's client) waiting out an outage."""
        return self.patience.call(fn, *args, **kwargs)

    @_patient
    def results(self, capture_id: str) -> list[dict[str, Any]]:
        return [_json(r) for r in self.redis.lrange(self.key(capture_id, "results"), 0, -1)]

    @_patient
    def skipped(self, capture_id: str) -> list[dict[str, Any]]:
        return [_json(r) for r in self.redis.lrange(self.key(capture_id, "skipped"), 0, -1)]

    # -- the worker side
    @_patient
    def worker_id(self) -> str:
        return f"w{int(self.redis.incr(f'{self.prefix}:worker-ids'))}"

    @_patient
    def captures(self) -> list[str]:
        return sorted(c.decode() for c in self.redis.smembers(f"{self.prefix}:captures"))

    @_patient
    def spec(self, capture_id: str) -> dict[str, Any] | None:
        raw = self.redis.get(self.key(capture_id, "spec"))
        return _json(raw) if raw is not None else None

    @_patient
    def claim(self, capture_id: str, worker: str, per_host: int, lease_ms: int) -> dict[str, Any] | None:
        keys = self._keys(capture_id, "pending", "entries", "leases", "owner")
        raw = self._claim(keys=keys, args=[worker, per_host, lease_ms, f"{self.prefix}:host:", 256])
        return _json(raw) if raw else None

    @_patient
    def release_host(self, worker: str, url: str, host: str) -> None:
        self.redis.zrem(f"{self.prefix}:host:{host}", f"{worker} {url}")

    @_patient
    def renew(self, capture_id: str, worker: str, urls: list[str], lease_ms: int) -> int:
        if not urls:
            return 0
        return int(self._renew(keys=self._keys(capture_id, "leases", "owner"), args=[worker, lease_ms, *urls]))

    @_patient
    def report(self, capture_id: str, worker: str, urls: list[str], report: dict[str, Any]) -> bool:
        """Record a finished WARC file and what it holds, if ``worker`` still holds every URL's lease."""
        keys = self._keys(capture_id, "leases", "owner", "done", "results")
        return bool(self._report(keys=keys, args=[worker, json.dumps(report), *urls]))

    @_patient
    def first_archive(self, capture_id: str, url: str) -> bool:
        """True the first time ``url`` (robots.txt, a redirect's target) is archived in the capture."""
        return bool(self.redis.sadd(self.key(capture_id, "done"), url))

    @_patient
    def status(self, worker: str, data: dict[str, Any] | None) -> None:
        if data is None:
            self.redis.delete(f"{self.prefix}:alive:{worker}")
            self.redis.hdel(f"{self.prefix}:workers", worker)
        else:
            self.redis.hset(f"{self.prefix}:workers", worker, json.dumps(data))

    @_patient
    def alive(self, worker: str, lease_ms: int) -> None:
        """The worker is alive for one more lease (a killed worker's key expires with its leases);
        when a worker was last alive is kept (``last-alive``) to tell a capture no worker works on."""
        self._alive(keys=[f"{self.prefix}:alive:{worker}", f"{self.prefix}:last-alive"], args=[lease_ms])

    # -- `archiver workers`
    @_patient
    def overview(self) -> dict[str, Any]:
        workers = {k.decode(): _json(v) for k, v in self.redis.hgetall(f"{self.prefix}:workers").items()}
        for name, status in workers.items():      # gone: killed, or stalled for longer than its leases
            status["alive"] = bool(self.redis.exists(f"{self.prefix}:alive:{name}"))
        seconds, micros = self.redis.time()
        now = int(seconds) * 1000 + int(micros) // 1000
        captures = []
        for capture_id in self.captures():
            pipe = self.redis.pipeline()
            pipe.llen(self.key(capture_id, "pending"))
            pipe.zcard(self.key(capture_id, "leases"))
            pipe.scard(self.key(capture_id, "done"))
            pipe.zcount(self.key(capture_id, "leases"), "-inf", now)
            pending, leased, done, expired = pipe.execute()
            # expired: leases of workers gone, taken back by the next claim; all leases expired and no
            # worker alive: the capture waits for a worker (it is never sealed half)
            captures.append({"capture_id": capture_id, "pending": pending, "leased": leased, "expired": expired,
                             "archived": done})
        hosts = {}
        for key in self.redis.scan_iter(match=f"{self.prefix}:host:*", count=500):
            if held := int(self.redis.zcount(key, now, "+inf")):      # unexpired leases only
                hosts[key.decode().removeprefix(f"{self.prefix}:host:")] = held
        return {"workers": workers, "captures": captures, "in_flight_per_host": hosts}


def _redis() -> Any:
    """redis-py, typed loosely: the calls used here are the same from 2.10 (which pywb's pins allow) to 8."""
    try:
        return importlib.import_module("redis")
    except ImportError:
        raise UsageError("--queue needs the distributed extra: pip install 'archiver[distributed]'") from None


def redis_error() -> type[Exception]:
    """redis-py's base error, for callers that turn it into one line."""
    error: type[Exception] = _redis().RedisError
    return error


def _json(raw: Any) -> Any:
    if isinstance(raw, bytes) and len(raw) > MAX_REPLY:
        raise UsageError(f"the queue holds a value of {len(raw)} bytes, over the bound of {MAX_REPLY}")
    try:
        return json.loads(raw)
    except ValueError:
        raise UsageError("the queue holds a value that is not JSON: is it another program's Redis database?") from None
