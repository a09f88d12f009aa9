"""robots.txt read once per host per capture across the whole pool: the first worker to need a
host's rules takes a lock in Redis, fetches and archives the file, and leaves the rules (its text,
or why it could not be read) in Redis; the others wait for them. A worker that dies holding the lock
lets it expire with its lease, and the next one fetches the file."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from ..capturing.exchange import RobotsCache
from ..net.robots import MAX_ROBOTS_BYTES, RobotsRules
from .queue import Queue

WAIT = 0.05     # seconds between looks for the rules another worker is fetching


class SharedRobots(RobotsCache):
    def __init__(self, queue: Queue, capture_id: str, lease_ms: int) -> None:
        super().__init__()
        self.queue, self.capture_id, self.lease_ms = queue, capture_id, lease_ms

    def get(self, key: str, load: Callable[[], RobotsRules]) -> tuple[RobotsRules, bool]:
        return super().get(key, lambda: self._shared(key, load))

    def _shared(self, key: str, load: Callable[[], RobotsRules]) -> RobotsRules:
        redis = self.queue.redis
        rules_key = self.queue.key(self.capture_id, f"robots:{key}")
        lock_key = self.queue.key(self.capture_id, f"robots-lock:{key}")
        while True:
            raw = self.queue.patient(redis.get, rules_key)
            if raw is not None:
                return _rules(raw)
            if self.queue.patient(redis.set, lock_key, b"1", nx=True, px=self.lease_ms):
                rules = load()
                self.queue.patient(redis.set, rules_key, json.dumps({"text": rules.text, "unreachable": rules.unreachable}))
                return rules
            time.sleep(WAIT)


def _rules(raw: bytes) -> RobotsRules:
    """Rules left by another worker, checked (the queue is shared); unreadable ones disallow."""
    try:
        data = json.loads(raw)
        text, unreachable = data["text"], data["unreachable"]
        if not (text is None or isinstance(text, str) and len(text) <= MAX_ROBOTS_BYTES * 4) or \
                not (unreachable is None or isinstance(unreachable, str) and len(unreachable) <= 1000):
            raise ValueError
        return RobotsRules(text, unreachable)
    except (ValueError, KeyError, TypeError):
        return RobotsRules(None, unreachable="the rules another worker left in the queue cannot be read")
