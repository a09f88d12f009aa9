"""The command line, run as a user runs it: a subprocess in a temporary workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from archiver.cli.app import build_parser
from archiver.demo.server import Host, Response

ARCHIVER = [sys.executable, "-m", "archiver"]
README = Path(__file__).resolve().parent.parent / "README.md"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("ARCHIVER_WORKSPACE", None) if env is None else None
    return subprocess.run([*ARCHIVER, *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=120)


def test_capture_json_summary_and_files(serve, tmp_path: Path) -> None:
    site = serve([Host("h", "127.0.0.61", routes={
        "/": Response(200, [("Content-Type", "text/html")], b'<img src="/i.png"><a href="/gone">x</a>'),
        "/i.png": Response(200, [("Content-Type", "image/png")], b"png")})])
    proc = run("capture", "--json", site.url("h", "/"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ok"] and summary["resources"] == 4          # page, image, robots.txt (404), /gone (404)
    assert (tmp_path / summary["manifest"]).is_file()
    assert all((tmp_path / w).is_file() for w in summary["warc_files"])
    assert proc.stderr == ""                                      # no progress when not a terminal


def test_workspace_from_flag_and_environment(serve, tmp_path: Path) -> None:
    site = serve([Host("h", "127.0.0.62", routes={"/": Response(200, [], b"hi")})])
    assert run("-w", str(tmp_path / "a"), "capture", site.url("h", "/"), cwd=tmp_path).returncode == 0
    assert list((tmp_path / "a" / "manifests").glob("*.yaml"))
    env = {"ARCHIVER_WORKSPACE": str(tmp_path / "b")}
    assert run("capture", site.url("h", "/"), cwd=tmp_path, env=env).returncode == 0
    assert list((tmp_path / "b" / "manifests").glob("*.yaml"))


@pytest.mark.parametrize("args,message", [
    (["capture", "ftp://example.org/x"], "only http and https"),
    (["capture", "--depth", "-1", "http://127.0.0.1:9/"], "--depth must be from 0 to 10, not -1"),
    (["capture", "--max-bytes", "huge", "http://127.0.0.1:9/"], "not a size"),
    (["capture", "--header", "no colon", "http://127.0.0.1:9/"], "Name: value"),
    (["capture", "--cookies", "/nonexistent/cookies.txt", "http://127.0.0.1:9/"], "no such file"),
    (["frobnicate"], "'frobnicate' is not a command"),
])
def test_usage_errors_are_one_line_exit_2_nothing_written(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("archiver: ")
    assert not (tmp_path / "archive").exists()


def test_failed_seed_exits_1_with_reason(serve, tmp_path: Path) -> None:
    site = serve([Host("h", "127.0.0.63", routes={"/": Response(404, [], b"no")})])
    proc = run("capture", site.url("h", "/x"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "HTTP 404 (archived as evidence)" in proc.stderr.strip().splitlines()[-1]
    assert "capture " in proc.stdout                       # the summary is still printed


def test_unwritable_workspace(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = run("-w", str(blocker), "capture", "http://127.0.0.1:9/", cwd=tmp_path)
    assert proc.returncode == 2 and "is not a folder" in proc.stderr


def test_demo_runs_offline_and_checks_itself(tmp_path: Path) -> None:
    proc = run("-w", str(tmp_path / "demo"), "demo", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] and not report["problems"]
    assert any("equal, byte for byte" in c for c in report["checks"])
    assert report["capture"]["resources"] >= 25
    assert report["citations"]["apa"].startswith("Treloar, M. (2026, November 20). Council awards")
    assert "@article{treloar2026council," in report["citations"]["bibtex"]         # a news article (kinds.py)
    assert "entrysubtype = {newspaper}" in report["citations"]["bibtex"]


def test_every_command_has_help_with_an_example_and_is_in_the_readme() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    readme = README.read_text()
    for name, cmd in sub.choices.items():  # type: ignore[union-attr]
        assert cmd.description and "example:" in (cmd.epilog or ""), name
        assert f"archiver {name}" in readme, f"README.md does not show `archiver {name}`"


LOST_INTERRUPT = """
import os, signal, sys, time
from archiver.cli import app

def lost(args):
    # Ctrl-C lands where the interpreter makes another error of it (seen: 'TypeError: expected a
    # message argument' when it landed in an import): no KeyboardInterrupt left in the chain
    caught = False
    try:
        os.kill(os.getpid(), signal.{signal})
        time.sleep(10)
    except KeyboardInterrupt:
        caught = True
    if caught:
        raise TypeError("expected a message argument")
    return 0

app.cmd_verify = lost
sys.exit(app.main(["-w", sys.argv[1], "verify"]))
"""


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_an_interrupt_the_interpreter_turned_into_another_error_is_still_an_interrupt(
        signal_name: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", LOST_INTERRUPT.replace("{signal}", signal_name), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (130, "archiver: interrupted\n"), proc.stderr
