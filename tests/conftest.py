"""Shared fixtures: real HTTP servers on loopback addresses, real workspaces in tmp folders."""

from __future__ import annotations

import os
import shutil
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


def need(what: str, found: object, install: str) -> None:
    """Skip, naming the install command, when a test's outside part (Chromium, Redis) is missing;
    under CI (``ARCHIVER_CI``, set by .ci/run) fail instead: nothing passes by being skipped there."""
    if found:
        return
    message = f"{what} is not installed: {install}"
    if os.environ.get("ARCHIVER_CI"):
        pytest.fail(message + " (ARCHIVER_CI is set: a missing part fails the run)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's Chromium, for Playwright's ``executable_path``."""
    path = os.environ.get("ARCHIVER_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    need("Chromium", path, "apt-get install -y chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        need("Playwright", None, "pip install '.[test]'")
    return str(path)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")
