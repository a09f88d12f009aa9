"""Shared fixtures: real HTTP servers on loopback addresses, real workspaces in tmp folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archiver.demo.server import Host, Site
from archiver.workspace import Workspace


@pytest.fixture
def serve() -> Iterator[Callable[..., Site]]:
    """serve(hosts, latency=0, keep_alive=False) starts a Site and stops it after the test."""
    started: list[Site] = []

    def start(hosts: list[Host], latency: float = 0.0, keep_alive: bool = False) -> Site:
        site = Site(hosts, latency=latency, keep_alive=keep_alive).start()
        started.append(site)
        return site

    yield start
    for site in started:
        site.stop()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")
