"""``archiver demo`` as a user runs it: its temporary workspace removed whatever ends it (TMPDIR points
at a folder of the test), ``--keep`` and ``--serve``, and the three commands it ends with, run as printed."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ARCHIVER = [sys.executable, "-m", "archiver"]


def env_with_tmp(tmp: Path) -> dict[str, str]:
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp)}
    env.pop("ARCHIVER_WORKSPACE", None)
    return env


def demo(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHIVER, "demo", *args], capture_output=True, text=True, timeout=120,
                          env=env_with_tmp(tmp))


def next_commands(stdout: str) -> list[list[str]]:
    """The last lines: 'next:' and three commands, each with a '# what it does' comment."""
    lines = stdout.rstrip("\n").splitlines()
    assert lines[-4] == "next:", lines[-6:]
    return [shlex.split(line, comments=True) for line in lines[-3:]]


def as_run(command: list[str]) -> list[str]:
    assert command[0] == "archiver", command
    return [*ARCHIVER, *command[1:]]


def test_demo_removes_its_workspace_and_ends_with_the_next_three_commands(tmp_path: Path) -> None:
    proc = demo(tmp_path / "tmp")
    assert proc.returncode == 0, proc.stderr
    assert list((tmp_path / "tmp").iterdir()) == []          # no archiver-demo-* folder left
    assert "stop answering when the demo ends" in proc.stdout   # the cited live URLs: said to go away
    assert "is removed when the demo ends" in proc.stdout
    commands = next_commands(proc.stdout)
    assert [c[:3] for c in commands][:2] == [["archiver", "demo", "--keep"], ["archiver", "demo", "--serve"]]


def test_demo_keep_keeps_the_workspace_and_its_next_commands_run_as_printed(tmp_path: Path) -> None:
    proc = demo(tmp_path / "tmp", "--keep")
    assert proc.returncode == 0, proc.stderr
    kept = [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("archiver-demo-")]
    assert len(kept) == 1 and f"workspace kept: {kept[0]}" in proc.stdout
    capture_id = next(kept[0].joinpath("manifests").glob("*.yaml")).stem
    listing, show, serve = next_commands(proc.stdout)
    assert listing[:3] == ["archiver", "-w", str(kept[0])] and serve[-1] == "serve"
    for command in (listing, show):
        done = subprocess.run(as_run(command), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert capture_id in done.stdout


def start_serving(tmp: Path, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """``archiver demo --serve``, read until its last line (the third next command)."""
    proc = subprocess.Popen([*ARCHIVER, "demo", "--serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env_with_tmp(tmp))
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while not (len(lines) >= 4 and lines[-4] == "next:"):
        line = proc.stdout.readline()
        assert line and time.monotonic() < deadline, (lines[-10:], proc.poll())
        lines.append(line.rstrip("\n"))
    return proc, lines


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def test_demo_serve_keeps_the_sample_site_up_until_ctrl_c(tmp_path: Path) -> None:
    proc, lines = start_serving(tmp_path / "tmp", "--keep")
    try:
        site = lines.index("the sample site stays up until Ctrl-C:")
        news = lines[site + 1].split()[1]
        assert lines[site + 1].split()[0] == "news" and answers(news)
        capture, listing, _serve = next_commands("\n".join(lines))
        assert capture[-1] == news                          # capture a page of the sample site, as printed
        done = subprocess.run(as_run(capture), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        listed = subprocess.run(as_run(listing), capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0 and news in listed.stdout, listed.stdout
        assert proc.poll() is None                          # still serving
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err == "archiver: demo ended: the sample site stopped\n"
    assert not answers(news)                                # the port is gone, as the demo said it would be
    kept = [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("archiver-demo-")]
    assert len(kept) == 1 and len(list(kept[0].joinpath("manifests").glob("*.yaml"))) == 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_demo_serve_without_keep_removes_its_workspace_when_stopped(tmp_path: Path, sig: signal.Signals) -> None:
    proc, lines = start_serving(tmp_path / "tmp")
    assert any("until you press Ctrl-C" in line for line in lines)
    assert len(list((tmp_path / "tmp").iterdir())) == 1      # the workspace, while the demo serves
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err.startswith("archiver: demo ended: the sample site stopped; ") and err.endswith(" removed\n")
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_demo_interrupted_while_capturing_leaves_no_workspace(tmp_path: Path, sig: signal.Signals) -> None:
    tmp = tmp_path / "tmp"
    proc = subprocess.Popen([*ARCHIVER, "demo"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_with_tmp(tmp))
    deadline = time.monotonic() + 30
    while not any(p.name.startswith("archiver-demo-") and (p / "manifests").exists() for p in tmp.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "the demo ended before it could be interrupted"
        time.sleep(0.005)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out[-500:], err)
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "archiver: interrupted", err
    assert list(tmp.iterdir()) == []


def test_demo_serve_on_a_port_in_use_is_refused_in_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.11", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = demo(tmp_path / "tmp", "--serve", "--site-port", str(port))
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert done.stderr.count("\n") == 1 and f"port {port}" in done.stderr and "--site-port" in done.stderr
    assert not [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("archiver-demo-")]
    alone = demo(tmp_path / "tmp", "--site-port", "8001")
    assert alone.returncode == 2 and "--site-port goes with --serve" in alone.stderr
    bad = demo(tmp_path / "tmp", "--serve", "--site-port", "70000")
    assert bad.returncode == 2 and "from 0 to 65535" in bad.stderr
