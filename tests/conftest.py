"""Shared fixtures: real HTTP servers on loopback addresses, real workspaces in tmp folders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Site


@pytest.fixture(autouse=True)
def user_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has its own per-user state folder (the witness of sealed captures and pinned keys),
    never the real one; commands run as subprocesses inherit it."""
    path = tmp_path_factory.mktemp("user-state")
    monkeypatch.setenv("ARCHIVER_STATE_HOME", str(path))
    return path


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
