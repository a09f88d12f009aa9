"""README.md's examples, run as written (issue #14).

The walk-through on the sample site is run exactly as README.md prints it, in a shell, with the
installed ``archiver`` command, against ``archiver demo --serve`` started as README.md says. Every
other ``archiver`` line of README.md is parsed by the real command-line parser (those examples name
outside sites, which tests may not reach), and every command line of bench/README.md by its script's
own parser, with the interpreter path README.md's venv gives.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archiver.cli.app import build_parser
from archiver.cli.parser import apply_global_options

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BENCH_README = ROOT / "bench" / "README.md"
SITE = ROOT / "archiver" / "demo" / "site"


def sh_blocks(text: str) -> list[str]:
    """The bodies of the ```sh blocks of a Markdown text, in order."""
    return [part.split("```", 1)[0] for part in text.split("```sh\n")[1:]]


def command_lines(block: str) -> list[str]:
    """Each command of a shell block: continuation lines joined, comments and blank lines dropped."""
    lines, pending = [], ""
    for raw in block.splitlines():
        line = pending + raw
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        words = shlex.split(line, comments=True)
        if words:
            lines.append(shlex.join(words))
    return lines


def walkthrough() -> tuple[str, str]:
    """README.md's two blocks under 'Try every command on the sample site': the site, then the session."""
    section = README.read_text().split("## Try every command on the sample site", 1)[1].split("\n## ", 1)[0]
    site, session = sh_blocks(section)[:2]
    return site.strip(), session


def answers(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def test_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    site_command, session = walkthrough()
    assert site_command == "archiver demo --serve"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    assert not answers("127.0.0.11", 8000), "port 8000 of 127.0.0.11 is taken: README's walk-through needs it"
    site = subprocess.Popen(["bash", "-c", site_command], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not answers("127.0.0.11", 8000):
            assert site.poll() is None, site.communicate()
            assert time.monotonic() < deadline, "the sample site never answered on 127.0.0.11:8000"
            time.sleep(0.1)
        run = subprocess.run(["bash", "-e", "-u", "-o", "pipefail", "-c", session], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=600)
    finally:
        os.killpg(site.pid, signal.SIGINT)            # Ctrl-C, as README says
        out, err = site.communicate(timeout=60)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\nthe sample site's output:\n{out}\n{err}"
    assert site.returncode == 0, err
    assert "http://127.0.0.11:8000/" in out

    text = run.stdout
    assert text.count("all sealed captures intact") == 2, text
    assert "Council awards £4.2m harbour dredging contract" in text                  # cite, search
    assert "UNCHANGED  http://127.0.0.11:8000/articles/harbour-contract.html" in text   # run, then report
    ws = tmp_path / "try-archiver"
    minutes = (SITE / "library" / "docs" / "council-minutes.pdf").read_bytes()
    assert hashlib.sha256((ws / "minutes.pdf").read_bytes()).digest() == hashlib.sha256(minutes).digest()
    assert (ws / "harbour.wacz").stat().st_size > 0 and (ws / "harbour-bag" / "bagit.txt").is_file()
    assert (ws / "index.cdxj").read_text().count("\n") > 20
    assert "Ada Researcher" in (ws / "archiver.yaml").read_text()
    assert "harbour" not in (ws / "archiver.yaml").read_text().split("schedules", 1)[-1]


def readme_commands() -> list[str]:
    return [line for block in sh_blocks(README.read_text()) for line in command_lines(block)
            if line.startswith("archiver ")]


@pytest.mark.parametrize("line", readme_commands())
def test_every_readme_archiver_line_is_accepted_by_the_parser(line: str) -> None:
    words = shlex.split(line)[1:]
    try:
        args = apply_global_options(build_parser().parse_args(words))
    except SystemExit as exc:
        pytest.fail(f"README.md's `{line}` is refused by the parser (exit {exc.code})")
    assert getattr(args, "func", None) is not None, line


def bench_commands() -> list[str]:
    return [line for block in sh_blocks(BENCH_README.read_text()) for line in command_lines(block)
            if "bench/" in line and line.split()[0].endswith("python")]


@pytest.mark.parametrize("line", bench_commands())
def test_every_bench_readme_line_uses_the_readme_venv_and_parses(line: str) -> None:
    words = shlex.split(line)
    assert words[0] == ".venv/bin/python", f"{line}: not the interpreter of README.md's venv (.venv)"
    assert "python3 -m venv .venv" in README.read_text()
    script = ROOT / words[1]
    assert script.is_file(), f"{line}: no such script"
    spec = importlib.util.spec_from_file_location(f"bench_{script.stem}", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module               # its dataclasses look their module up there
    spec.loader.exec_module(module)
    try:
        module.parse_args(words[2:])
    except SystemExit as exc:
        pytest.fail(f"bench/README.md's `{line}` is refused by its script (exit {exc.code})")


def test_the_quick_bench_command_runs_as_written(tmp_path: Path) -> None:
    """The one bench/README.md command meant as a quick check runs, from the repository root."""
    line = next(line for line in bench_commands() if "memory_large_body.py --gigabytes 0.1" in line)
    words = shlex.split(line)
    run = subprocess.run([sys.executable, *words[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "TMPDIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr
    assert "archiver" in run.stdout
