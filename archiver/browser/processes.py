"""Ending a browser that hangs: its processes found by a marker on their command line (the proxy
address, unique to one tab's Chromium) among this process's descendants, and killed.

A page's script in an endless loop blocks every call Playwright makes into that page, and some of
those calls have no timeout; killing the processes makes each of them fail at once. Linux (/proc)
only; elsewhere nothing is found and the tab's own bounds are all there is.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

PROC = Path("/proc")


def _parents() -> dict[int, int]:
    found: dict[int, int] = {}
    for entry in PROC.glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:
            continue                      # ended meanwhile
        # pid (comm) state ppid ...: comm may hold spaces and parentheses; ppid follows the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and fields[1].isdigit():
            found[int(entry.parent.name)] = int(fields[1])
    return found


def descendants(root: int | None = None) -> list[int]:
    """The processes below ``root`` (default: this one)."""
    root = os.getpid() if root is None else root
    parents = _parents()
    below, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        below += children
        frontier += children
    return below


def kill_marked(marker: str, root: int | None = None) -> int:
    """SIGKILL the descendants whose command line holds ``marker``; returns how many."""
    killed = 0
    needle = marker.encode()
    for pid in descendants(root):
        try:
            if needle in (PROC / str(pid) / "cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
                killed += 1
        except (OSError, ProcessLookupError):
            continue
    return killed
