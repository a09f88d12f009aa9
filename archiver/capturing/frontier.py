"""Which URL next: the frontier of a capture, with depth, exclusions, limits and per-host politeness."""

from __future__ import annotations

import re
from collections import deque

from ..core.models import Role, Skipped, Target
from ..core.urls import host_key


class Frontier:
    """URLs waiting to be fetched, each at most once, handed out round-robin across hosts while
    no host has more than ``per_host`` exchanges in flight."""

    def __init__(self, *, depth: int, exclude: tuple[str, ...], max_resources: int, per_host: int) -> None:
        self.depth = depth
        self.exclude = [re.compile(p) for p in exclude]
        self.max_resources = max_resources
        self.per_host = per_host
        self.seen: set[str] = set()
        self.queues: dict[str, deque[Target]] = {}
        self.in_flight: dict[str, int] = {}
        self.closed_reason: str | None = None
        self._order: deque[str] = deque()

    def add(self, target: Target) -> Skipped | None:
        """Queue ``target`` unless already seen; a Skipped says why it was not queued."""
        if target.url in self.seen:
            return None
        if target.role is Role.SOURCE and target.depth > self.depth:
            return None
        if target.role is not Role.SEED:
            for pattern in self.exclude:
                if pattern.search(target.url):
                    self.seen.add(target.url)
                    return Skipped(target.url, target.role, target.via, f"matches --exclude {pattern.pattern!r}")
        self.seen.add(target.url)
        if self.closed_reason and target.role is not Role.SEED:
            return Skipped(target.url, target.role, target.via, self.closed_reason)
        if len(self.seen) > self.max_resources and target.role is not Role.SEED:
            return Skipped(target.url, target.role, target.via,
                           f"the capture reached --max-resources {self.max_resources}")
        key = host_key(target.url)
        if key not in self.queues:
            self.queues[key] = deque()
            self._order.append(key)
        self.queues[key].append(target)
        return None

    def next_ready(self) -> Target | None:
        """The next target whose host has a free slot, rotating between hosts."""
        for _ in range(len(self._order)):
            key = self._order[0]
            self._order.rotate(-1)
            queue = self.queues[key]
            if queue and self.in_flight.get(key, 0) < self.per_host:
                self.in_flight[key] = self.in_flight.get(key, 0) + 1
                return queue.popleft()
        return None

    def claim(self, target: Target) -> Skipped | None:
        """A URL to fetch now, outside the queue (the browser asked for it), unless ``--exclude``, a
        limit or a closed capture says no (the Skipped says why). A claimed URL is seen, and counted
        in its host's exchanges in flight, so the queue's requests to that host wait for it. A URL
        seen before is claimed again: the browser asked again."""
        if target.role is not Role.SEED:
            for pattern in self.exclude:
                if pattern.search(target.url):
                    return Skipped(target.url, target.role, target.via, f"matches --exclude {pattern.pattern!r}")
            if self.closed_reason:
                return Skipped(target.url, target.role, target.via, self.closed_reason)
            if target.url not in self.seen and len(self.seen) >= self.max_resources:
                return Skipped(target.url, target.role, target.via,
                               f"the capture reached --max-resources {self.max_resources}")
        self.seen.add(target.url)
        key = host_key(target.url)
        self.in_flight[key] = self.in_flight.get(key, 0) + 1
        return None

    def finished(self, target: Target) -> None:
        key = host_key(target.url)
        self.in_flight[key] -= 1

    def close(self, reason: str) -> list[Skipped]:
        """Stop the capture growing: everything still queued (but seeds) is skipped with ``reason``."""
        self.closed_reason = reason
        dropped: list[Skipped] = []
        for queue in self.queues.values():
            keep = deque(t for t in queue if t.role is Role.SEED)
            dropped += [Skipped(t.url, t.role, t.via, reason) for t in queue if t.role is not Role.SEED]
            queue.clear()
            queue.extend(keep)
        return dropped

    @property
    def queued(self) -> int:
        return sum(len(q) for q in self.queues.values())
