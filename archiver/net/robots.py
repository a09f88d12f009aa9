"""robots.txt: which URLs a capture may fetch from a host (RFC 9309, parsed by Protego).

The URLs a user names are always captured; robots.txt governs what the capture finds by itself.
Per RFC 9309: a 4xx answer means no rules; a 5xx answer or an unreachable server means the host
is treated as disallowed; only the first 500 KiB are parsed.
"""

from __future__ import annotations

from typing import Any

MAX_ROBOTS_BYTES = 500 * 1024


class RobotsRules:
    """The verdict for one host; ``text`` None means no rules (4xx) or, with ``unreachable``,
    that the file could not be read."""

    def __init__(self, text: str | None, unreachable: str | None = None) -> None:
        self.text = text
        self.unreachable = unreachable
        self._parsed: Any = None
        if text:
            from protego import Protego

            self._parsed = Protego.parse(text)

    def allows(self, url: str, agent: str) -> bool:
        if self.unreachable:
            return False
        if self._parsed is None:
            return True
        return bool(self._parsed.can_fetch(url, agent))

    def why_not(self) -> str:
        if self.unreachable:
            return f"robots.txt could not be read ({self.unreachable}); RFC 9309 treats the site as disallowed"
        return "disallowed by robots.txt"


def rules_from_response(status: int, body: bytes) -> RobotsRules:
    if 200 <= status < 300:
        return RobotsRules(text=body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace"))
    if 400 <= status < 500:
        return RobotsRules(text=None)
    return RobotsRules(text=None, unreachable=f"HTTP {status}")


def agent_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: 'archiver' for 'archiver/0.1 (...)'."""
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"
