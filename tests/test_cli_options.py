"""The command line as one whole (issue #14): global options before or after the command name, one
program-name prefix on errors, "did you mean", workspace refusals, one exit-code table, pipes closed
early, ``run --json``. Drives the real ``archiver`` command in subprocesses, against a real workspace
captured from a loopback server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from archiver.capturing.run import capture
from archiver.cli.app import build_parser
from archiver.cli.parser import CommandParser
from archiver.core.errors import EXIT_CODES
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site
from archiver.watch.runs import run_lock

ARCHIVER = [sys.executable, "-m", "archiver"]
URL = "http://127.0.0.1:9/"
ID = "20990101T000000Z-000000"


def run(*args: str, cwd: Path, stdout: int | None = subprocess.PIPE, **environ: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_WORKSPACE"} | environ
    env = {k: v for k, v in env.items() if v}
    return subprocess.run([*ARCHIVER, *args], cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, text=True, env=env,
                          timeout=120)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace holding one real sealed capture."""
    root = tmp_path_factory.mktemp("options") / "ws"
    site = Site([Host("h", "127.0.0.191", routes={
        "/": Response(200, [("Content-Type", "text/html")], b"<title>Dredging</title><p>eleven votes to four</p>")})])
    site.start()
    try:
        assert capture([site.url("h", "/")], Workspace(root), CaptureOptions(timeout=5, depth=0)).ok
    finally:
        site.stop()
    return root


# -- every command, -w in every position -------------------------------------------------------

def commands(tmp: Path, warc: Path) -> dict[tuple[str, ...], list[str]]:
    """Every command (and sub-command) with arguments that reach the workspace."""
    return {
        ("capture",): [URL], ("demo",): [], ("import",): [str(warc)],
        ("verify",): [], ("head",): [], ("keygen",): [], ("lookup",): [URL],
        ("cite",): [URL, "--style", "apa"], ("search",): ["dredging"], ("reindex",): [],
        ("schedule", "add"): [URL, "--every", "1h"], ("schedule", "list"): [], ("schedule", "remove"): ["n"],
        ("run",): [], ("report",): [],
        ("export", "wacz"): [ID, "-o", str(tmp / "o.wacz")], ("export", "bag"): [ID, "-o", str(tmp / "o-bag")],
        ("export", "cdxj"): ["-o", str(tmp / "o.cdxj")],
        ("list",): [], ("show",): [ID], ("extract",): [URL, "-o", str(tmp / "o.html")], ("serve",): [],
        ("init",): ["--no-input"], ("clean",): [],
        ("timestamp",): [], ("rescue",): [str(tmp / "paper.md")],
        ("worker",): ["--queue", "redis://127.0.0.1:9/0", "--outage-limit", "5"], ("workers",): ["--queue", "redis://127.0.0.1:9/0"],
    }


def leaf_commands(parser: CommandParser, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if parser.commands is None:
        return {prefix}
    found: set[tuple[str, ...]] = set()
    for name, sub in parser.commands.choices.items():
        found |= leaf_commands(sub, (*prefix, name))
    return found


def positions(command: tuple[str, ...], rest: list[str], where: str) -> list[list[str]]:
    """-w WHERE before the command, right after its name (and between a command and its
    sub-command), after everything, and as --workspace=WHERE."""
    argvs = [["-w", where, *command, *rest], [*command, "-w", where, *rest], [*command, *rest, "-w", where],
              [*command, *rest, f"--workspace={where}"]]
    if len(command) == 2:
        argvs.append([command[0], "-w", where, command[1], *rest])
    return argvs


def test_workspace_option_is_taken_in_every_position_by_every_command(workspace: Path, tmp_path: Path) -> None:
    """-w names a file, not a folder: every command refuses it, naming it, whatever the position (a
    command that ignored -w would name the current folder, or make a temporary workspace and succeed)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    here = tmp_path / "here"
    here.mkdir()
    table = commands(tmp_path, next((workspace / "archive").glob("*.warc.gz")))
    parser = build_parser()
    assert isinstance(parser, CommandParser)
    missing = leaf_commands(parser) - set(table)
    assert not missing, f"add these commands to this test's table: {sorted(missing)}"
    runs = [argv for command, rest in table.items() for argv in positions(command, rest, str(blocker))]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda argv: (argv, run(*argv, cwd=here)), runs))
    for argv, proc in results:
        assert proc.returncode == 2, (argv, proc.returncode, proc.stderr)
        assert proc.stderr.startswith("archiver: ") and len(proc.stderr.splitlines()) == 1, (argv, proc.stderr)
        assert str(blocker) in proc.stderr and "archiver: archiver" not in proc.stderr, (argv, proc.stderr)
    assert blocker.read_text() == "x" and not any(here.iterdir()) and not (tmp_path / "o.cdxj").exists()


def test_a_workspace_given_after_the_command_is_used(workspace: Path, tmp_path: Path) -> None:
    for argv in (["verify", "--quick", "-w", str(workspace)], ["list", "--json", "-w", str(workspace)],
                 ["--json", "list", "-w", str(workspace)], ["schedule", "list", "-w", str(workspace)]):
        proc = run(*argv, cwd=tmp_path)
        assert proc.returncode == 0, (argv, proc.stderr)
    listed = json.loads(run("--json", "list", "-w", str(workspace), cwd=tmp_path).stdout)
    assert listed["total"] == 1


def test_json_before_a_command_without_json_is_refused(workspace: Path, tmp_path: Path) -> None:
    proc = run("--json", "keygen", "-w", str(workspace), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr == "archiver: keygen: has no --json\n"
    assert not (workspace / "keys").exists()


# -- errors: one prefix, did you mean ----------------------------------------------------------

@pytest.mark.parametrize("argv,line", [
    (["verfy"], "archiver: 'verfy' is not a command; did you mean 'verify'?"),
    (["schedule", "lst"], "archiver: schedule: 'lst' is not a command; did you mean 'list'?"),
    (["export", "wacs", ID, "-o", "x"], "archiver: export: 'wacs' is not a command; did you mean 'wacz'?"),
    (["demo", "--jsonx"], "archiver: unrecognized arguments: --jsonx"),
    (["capture", URL, "--bogus"], "archiver: unrecognized arguments: --bogus"),
    (["cite"], "archiver: cite: the following arguments are required: URL|CAPTURE_ID"),
])
def test_errors_have_one_program_prefix_and_suggest_the_command(tmp_path: Path, argv: list[str], line: str) -> None:
    proc = run(*argv, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr == line + "\n" and proc.stdout == ""
    assert not any(tmp_path.iterdir())


def test_a_word_far_from_every_command_lists_them(tmp_path: Path) -> None:
    proc = run("frobnicate", cwd=tmp_path)
    assert proc.returncode == 2 and "'frobnicate' is not a command; choose from capture, cite" in proc.stderr


# -- a folder that is not a workspace ----------------------------------------------------------

READERS = [["verify"], ["head"], ["keygen"], ["lookup", URL], ["cite", URL, "--style", "apa"], ["search", "x"],
           ["reindex"], ["schedule", "list"], ["schedule", "remove", "n"], ["run"], ["run", "--json"], ["report"],
           ["export", "wacz", ID, "-o", "o.wacz"], ["export", "bag", ID, "-o", "o-bag"], ["export", "cdxj", "-o", "o.cdxj"],
           ["list"], ["show", ID], ["extract", URL, "-o", "o.html"], ["serve"]]


def test_every_command_that_reads_a_workspace_refuses_a_folder_that_is_not_one(tmp_path: Path) -> None:
    """In an empty folder (the default workspace) and with -w naming a missing one: exit 2, one line
    naming the folder, and nothing made (keygen made a workspace here; run said "nothing due")."""
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "mistyped"
    with ThreadPoolExecutor(4) as pool:
        here = list(pool.map(lambda argv: (argv, run(*argv, cwd=empty)), READERS))
        there = list(pool.map(lambda argv: (argv, run("-w", str(missing), *argv, cwd=empty)), READERS))
    for argv, proc in here:
        assert proc.returncode == 2, (argv, proc.returncode, proc.stdout, proc.stderr)
        assert proc.stderr == f"archiver: {empty} is not an archiver workspace (no manifests/ folder; archiver " \
                              "capture or archiver import makes one)\n" and proc.stdout == "", (argv, proc.stderr)
    for argv, proc in there:
        assert proc.returncode == 2 and proc.stderr == f"archiver: workspace {missing} does not exist\n", (argv, proc.stderr)
    assert not any(empty.iterdir()) and not missing.exists()


def test_exit_code_table(workspace: Path, tmp_path: Path, serve) -> None:
    """0 done, 1 not found, 2 usage, 75 busy, 130 interrupted: each one met for real, and shown by --help."""
    w = ["-w", str(workspace)]
    assert run("list", *w, cwd=tmp_path).returncode == 0
    for argv in (["show", ID], ["lookup", "http://127.0.0.1:9/never"], ["schedule", "remove", "nope"],
                 ["cite", "http://127.0.0.1:9/never", "--style", "apa"]):
        proc = run(*argv, *w, cwd=tmp_path)
        assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1, (argv, proc.returncode, proc.stderr)
    assert run("verfy", *w, cwd=tmp_path).returncode == 2
    with run_lock(Workspace(workspace)):
        busy = run("run", *w, cwd=tmp_path)
    assert busy.returncode == 75 and "busy" in busy.stderr
    site = serve([Host("slow", "127.0.0.192", routes={"/": Response(200, [], b"late")})], latency=2.0)
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_WORKSPACE"}
    proc = subprocess.Popen([*ARCHIVER, "-w", str(tmp_path / "ws"), "capture", site.url("slow", "/")], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err, err
    shown = run("--help", cwd=tmp_path).stdout
    assert all(f"  {code:<4} {meaning}" in shown for code, meaning in EXIT_CODES.items())


# -- a pipe closed early; run --json -----------------------------------------------------------

@pytest.mark.parametrize("argv,code", [(["head"], 0), (["list"], 0), (["head", "--json"], 0), (["verify"], 0),
                                       (["lookup", "http://127.0.0.1:9/never"], 1)])
def test_a_pipe_closed_early_ends_quietly(workspace: Path, tmp_path: Path, argv: list[str], code: int) -> None:
    """The reader is gone before the command writes (its end of the pipe already closed): no
    "Broken pipe" message, no traceback, and the command's own exit code. The tests run with
    PYTHONUNBUFFERED=1 as well as without: the first print meets the closed pipe, or the last flush."""
    for unbuffered in ("1", ""):
        read, write = os.pipe()
        os.close(read)
        try:
            proc = run(*argv, "-w", str(workspace), cwd=tmp_path, stdout=write, PYTHONUNBUFFERED=unbuffered)
        finally:
            os.close(write)
        expected = "" if code == 0 else "archiver: http://127.0.0.1:9/never has not been captured in this workspace\n"
        assert proc.stderr == expected and proc.returncode == code, (unbuffered, proc.stderr)


def test_head_into_head_c1_as_a_user_types_it(workspace: Path, tmp_path: Path) -> None:
    command = " ".join([*ARCHIVER, "-w", str(workspace), "head"]) + " | head -c1; echo \" ${PIPESTATUS[0]}\""
    for _ in range(5):
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert proc.stdout == "c 0\n" and proc.stderr == "", (proc.stdout, proc.stderr)


def test_run_json_says_nothing_due_in_one_json_line(workspace: Path, tmp_path: Path) -> None:
    proc = run("run", "--json", "-w", str(workspace), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in proc.stdout.splitlines()] == [
        {"schedule": None, "capture_id": None, "ok": True, "detail": "nothing due"}]
    assert "JSON Lines" in run("run", "--help", cwd=tmp_path).stdout
    assert run("run", "-w", str(workspace), cwd=tmp_path).stdout == "nothing due\n"


# -- the queue flags: refused in one line before Redis is asked anything -----------------------

@pytest.mark.parametrize("argv,said", [
    (["capture", URL, "--detach"], "--detach goes with a queue"),
    (["capture", URL, "--local", "--queue", "redis://127.0.0.1:9/0"], "--local and --queue contradict"),
    (["run", "--local", "--queue", "redis://127.0.0.1:9/0"], "--local and --queue contradict"),
    (["workers", "--queue", "redis://127.0.0.1:9/0", "--failed-after", "-1"], "--failed-after must be"),
    (["workers", "--queue", "redis://127.0.0.1:9/0", "--drop", "../x"], "is not a capture id"),
])
def test_queue_flags_refused_in_one_line(workspace: Path, tmp_path: Path, argv: list[str], said: str) -> None:
    where = [] if argv[0] == "workers" else ["-w", str(workspace)]
    proc = run(*where, *argv, cwd=tmp_path)
    assert proc.returncode == 2 and said in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr


# -- --no-conditional (issue #20): capture, run, and a schedule's own capture options -------------------

def test_no_conditional_is_taken_by_capture_run_and_schedule_add(tmp_path: Path) -> None:
    from archiver.core.settings import load_settings

    ws = tmp_path / "ws"
    added = run("schedule", "add", URL, "--every", "1h", "--name", "plain", "--no-conditional", "-w", str(ws), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    sched = load_settings(ws).schedules[0]
    assert sched.name == "plain" and sched.options.conditional is False
    assert load_settings(ws).capture.conditional is True
    for argv in (["capture", "--help"], ["run", "--help"], ["schedule", "add", "--help"]):
        assert "--no-conditional" in run(*argv, cwd=tmp_path).stdout
    refused = run("capture", "--no-conditional=yes", URL, "-w", str(ws), cwd=tmp_path)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1
