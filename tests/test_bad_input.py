"""Bad input, wherever it enters (issue #11, "Trust"): arguments, archiver.yaml, cookies files,
schedules. Every refusal is one line on stderr naming the argument, file or key, exit 2, never a
traceback, and the workspace is left byte for byte as it was. Real subprocesses, real files, real
SQLite; captures only ever reach a loopback port that refuses connections."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from archiver.capturing.run import capture
from archiver.cli.app import EXIT_CODES, main
from archiver.core.errors import SettingsError, UsageError
from archiver.core.schedule_times import NEVER, When, next_due
from archiver.core.settings import CaptureOptions, load_settings
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site
from archiver.index.store import Index
from archiver.net.request_plan import load_cookies

# Hypothesis keeps no example database (database=None below) and its caches outside the checkout
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="archiver-hypothesis-"))
ARCHIVER = [sys.executable, "-m", "archiver"]
DOCUMENTED_EXIT_CODES = {0, 1, 2, 69, 75, 130}
SEALED = ("archive", "manifests", "archiver.yaml")


# -- a real workspace to refuse things in ------------------------------------------------------

@pytest.fixture(scope="module")
def closed() -> Iterator[str]:
    """A loopback origin whose port is bound but not listening: every connection is refused."""
    site = Site([Host("closed", "127.0.0.181", listening=False)]).start()
    yield site.origin("closed")
    site.stop()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, closed: str) -> Path:
    """A workspace holding one real sealed capture and a settings file with a schedule."""
    root = tmp_path_factory.mktemp("template") / "ws"
    site = Site([Host("h", "127.0.0.182", routes={
        "/": Response(200, [("Content-Type", "text/html")], b"<title>Dredging</title><p>eleven votes to four</p>")})])
    site.start()
    try:
        result = capture([site.url("h", "/")], Workspace(root), CaptureOptions(timeout=5, depth=0))
    finally:
        site.stop()
    assert result.ok
    (root / "archiver.yaml").write_text(
        "operator:\n  name: Ada\ncapture:\n  timeout: 5\n"
        f"schedules:\n  - name: watched\n    urls: ['{closed}/']\n    every: 6h\n")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """The bytes of everything sealed in the workspace, and of its settings file."""
    out = {}
    for name in SEALED:
        path = root / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        out.update({str(p.relative_to(root)): p.read_bytes() for p in files})
    return out


@contextlib.contextmanager
def copy_of(template: Path) -> Iterator[Path]:
    """A fresh copy of the template workspace, the current folder meanwhile (relative -o files)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(template, root)
        here = os.getcwd()
        os.chdir(tmp)
        try:
            yield root
        finally:
            os.chdir(here)


def run_in_process(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def assert_refused_cleanly(root: Path, argv: list[str], before: dict[str, bytes], code: object, err: str) -> None:
    assert isinstance(code, int) and code in DOCUMENTED_EXIT_CODES, (argv, code, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    if code == 2:
        assert err.startswith("archiver: ") and len(err.splitlines()) == 1, (argv, err)
        assert snapshot(root) == before, f"{argv} was refused but changed the workspace"


def check(template: Path, argv: list[str]) -> tuple[int, str]:
    """Run ``archiver -w COPY argv`` in-process on a copy of the template; check the contract."""
    with copy_of(template) as root:
        before = snapshot(root)
        code, err = run_in_process(["-w", str(root), *argv])
        assert_refused_cleanly(root, argv, before, code, err)
        return code, err


def subprocess_run(*args: str | bytes, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_WORKSPACE"}
    return subprocess.run([*ARCHIVER, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def test_exit_codes_are_the_documented_ones() -> None:
    assert set(EXIT_CODES) == DOCUMENTED_EXIT_CODES
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert all(f"| {code} |" in readme for code in EXIT_CODES), "README.md's exit code table is incomplete"


# -- named hostile arguments -------------------------------------------------------------------

URL = "http://127.0.0.1:9/"
HOSTILE_ARGUMENTS = [
    (["capture", "--timeout", "inf", URL], "--timeout must be from 0.001 to 86400, not inf"),
    (["capture", "--timeout", "nan", URL], "--timeout must be from 0.001 to 86400, not nan"),
    (["capture", "--timeout", "-1", URL], "--timeout must be from"),
    (["capture", "--timeout", "1e400", URL], "--timeout must be from"),
    (["capture", "--timeout", "90000", URL], "--timeout must be from"),
    (["capture", "--max-bytes", "9" * 400, URL], "--max-bytes: not a size"),
    (["capture", "--max-bytes", "2TB", URL], "--max-bytes must be from 1 byte to 1 TB"),
    (["capture", "--max-total-bytes", "101TB", URL], "--max-total-bytes must be from 1 byte to 100 TB"),
    (["capture", "--max-resources", "0", URL], "--max-resources must be from 1 to 1,000,000"),
    (["capture", "--max-resources", "9" * 40, URL], "--max-resources must be from 1 to 1,000,000, not a number of"),
    (["capture", "--depth", "11", URL], "--depth must be from 0 to 10, not 11"),
    (["capture", "--depth", "9" * 4000, URL], "--depth must be from 0 to 10"),
    (["capture", "--concurrency", "257", URL], "--concurrency must be from 1 to 256"),
    (["capture", "--per-host", "65", URL], "--per-host must be from 1 to 64"),
    (["capture", "--user-agent", "a\r\nX-Injected: 1", URL], "--user-agent 'a\\r\\nX-Injected: 1' contains the control"),
    (["capture", "--user-agent", "bell\x07", URL], "--user-agent 'bell\\x07' contains the control"),
    (["capture", "--user-agent", "", URL], "--user-agent '' is empty"),
    (["capture", "--user-agent", "\u20ac", URL], "which an HTTP header cannot carry"),
    (["capture", "--header", "X-A: b\r\nX-Injected: 1", URL], "line break"),
    (["capture", "--header", "X-A: b\x00c", URL], "contains a NUL character"),
    (["capture", "--header", "Bad Name: v", URL], "is not of the form 'Name: value'"),
    (["capture", "--header", "X-A: \x1b[31m", URL], "--header X-A: the value contains the control character"),
    (["capture", "--exclude", "(", URL], "--exclude '(' is not a valid regular expression"),
    (["capture", "--cookies", "", URL], "--cookies"),
    (["capture", "--allow-private", "--deny-private", URL], "exclude each other"),
    (["capture", "http://exa mple.org/"], "'exa mple.org' is not a valid host name"),
    (["search", "--limit", "1" * 21, "x"], "--limit must be from 1 to 10,000"),
    (["search", "--limit", "0", "x"], "--limit must be from 1 to 10,000, not 0"),
    (["search", "x" * 1001], "the search words"),
    (["lookup", "--at", "0000-01-01", URL], "--at: not a date or time: '0000-01-01'"),
    (["lookup", "--at", "9999-12-31T23:59:59-00:01", URL], "is outside years 1 to 9999 in UTC"),
    (["lookup", "--at", "0001-01-01T00:00:00+00:01", URL], "is outside years 1 to 9999 in UTC"),
    (["lookup", "--at", "10000-01-01", URL], "--at: not a date or time"),
    (["lookup", "--at", "9" * 400, URL], "--at: not a date or time"),
    (["cite", "--style", "apa", "--at", "9999-12-31T23:59:59+??", URL], "--at: not a date or time"),
    (["report", "--since", "9" * 40], "--since: not a date or time"),
    (["report", "--since", "Sun, 29 Nov 99999999999999999999 15:04:47 GMT"], "--since: not a date or time"),
    (["schedule", "add", URL, "--every", "999999999d"], "--every: interval too long: '999999999d' (the most is 366d"),
    (["schedule", "add", URL, "--every", "9" * 400 + "w"], "--every: not an interval"),
    (["schedule", "add", URL, "--every", "367d"], "interval too long"),
    (["schedule", "add", URL, "--cron", "61 * * * *"], "--cron: not a cron expression"),
    (["schedule", "add", URL, "--cron", "*/99999999999999999999 * * * *"], "--cron: not a cron expression"),
    (["schedule", "add", URL, "--cron", "0 0 31 2 *"], "--cron: not a cron expression"),
    (["schedule", "add", URL, "--cron", "0 6 * * *", "--timezone", "Mars/Olympus_Mons"], "--timezone: unknown time zone"),
    (["schedule", "add", URL, "--cron", "0 6 * * *", "--timezone", "x" * 300], "--timezone: unknown time zone"),
    (["schedule", "add", URL, "--cron", "0 6 * * *", "--timezone", "../../../etc/passwd"], "unknown time zone"),
    (["schedule", "add", URL, "--every", "1h", "--name", "a/b"], "--name must be 1-64 letters"),
    (["schedule", "add", URL, "--every", "1h", "--name", "../x"], "--name must be 1-64 letters"),
    (["schedule", "add", URL, "--every", "1h", "--name", "tab\there"], "--name must be 1-64 letters"),
    (["schedule", "add", URL, "--every", "1h", "--name", "watched"], "a schedule named 'watched' exists already"),
    (["schedule", "add", URL, "--every", "1h", "--depth", "99"], "--depth must be from 0 to 10, not 99"),
    (["frobnicate"], "'frobnicate' is not a command; choose from capture"),
    (["-w", "ws\nX", "schedule", "list"], "--workspace 'ws\\nX' contains the control character"),
    (["-w", "", "schedule", "list"], "--workspace names no folder"),
    (["run", "--watch", "now"], "unrecognized arguments: now"),
    (["demo", "--jsonx"], "unrecognized arguments: --jsonx"),
]


@pytest.mark.parametrize("argv,message", HOSTILE_ARGUMENTS, ids=[" ".join(a)[:60] for a, _ in HOSTILE_ARGUMENTS])
def test_hostile_arguments_are_refused_in_one_line(template: Path, argv: list[str], message: str) -> None:
    code, err = check(template, argv)
    assert code == 2 and message in err, err


def test_arguments_that_are_not_utf8_are_refused_by_the_real_command(template: Path, tmp_path: Path) -> None:
    """Bytes that are not UTF-8 reach Python as lone surrogates: refused, naming the argument."""
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    before = snapshot(root)
    for argv in ([b"capture", b"http://127.0.0.1:9/\xff"], [b"capture", b"--header", b"X-A: \xc3\x28", URL],
                 [b"search", b"\xfe\xff"], [b"schedule", b"add", URL, b"--every", b"1h", b"--name", b"n\xff"]):
        proc = subprocess_run("-w", str(root), *argv, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("archiver: argument ") and "is not valid UTF-8" in proc.stderr
        assert len(proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    assert snapshot(root) == before


def test_a_workspace_named_with_control_characters_in_the_environment_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "ARCHIVER_WORKSPACE": str(tmp_path / "ws\x1b[2J")}
    proc = subprocess.run([*ARCHIVER, "schedule", "add", URL, "--every", "1h"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("archiver: ARCHIVER_WORKSPACE ")
    assert "control character" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_refused_schedule_creates_no_workspace(tmp_path: Path) -> None:
    for argv in (["schedule", "add", URL, "--every", "999999999d"], ["schedule", "add", URL, "--every", "1h",
                                                                      "--name", "a b"]):
        code, err = run_in_process(["-w", str(tmp_path / "new"), *argv])
        assert code == 2 and len(err.splitlines()) == 1
        assert not (tmp_path / "new").exists()


def test_help_and_version_return_zero_in_process() -> None:
    assert run_in_process(["--version"])[0] == 0
    assert run_in_process(["capture", "--help"])[0] == 0


# -- schedules: intervals bounded, due times never overflow ------------------------------------

def test_huge_intervals_are_refused_and_due_times_never_overflow(template: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    text = (root / "archiver.yaml").read_text()
    (root / "archiver.yaml").write_text(text.replace("every: 6h", "every: 999999999d"))
    with pytest.raises(SettingsError, match=r"archiver.yaml:8: schedules.0.every: interval too long"):
        load_settings(root)
    with pytest.raises(UsageError, match="interval too long"):
        When(every=timedelta(days=367))
    end = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    assert next_due(When(every=timedelta(days=366)), end, end) == NEVER
    assert next_due(When(every=timedelta(days=366)), end, end, failures=3) == end + timedelta(minutes=20)
    assert next_due(When(cron="0 6 1 1 *", timezone="Pacific/Kiritimati"), end, end) == NEVER


def test_a_schedule_last_run_at_the_end_of_the_calendar_never_breaks_run_or_list(template: Path, tmp_path: Path,
                                                                                 closed: str) -> None:
    """A schedule's last run sealed at 9999-12-31: its next run is past the calendar's end, so it is
    never due; `schedule list` says so and `run` does nothing, neither raises OverflowError."""
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    end = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    result = capture([f"{closed}/"], Workspace(root), CaptureOptions(timeout=5, depth=0), clock=lambda: end,
                     schedule="watched")
    assert not result.ok
    listed = subprocess_run("-w", str(root), "schedule", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert '"next_due": "9999-12-31T23:59:59Z"' in listed.stdout
    ran = subprocess_run("-w", str(root), "run", cwd=tmp_path)
    assert ran.returncode == 0 and "nothing due" in ran.stdout, ran.stderr


def test_a_schedule_urls_file_that_is_not_utf8_fails_only_that_run(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "manifests").mkdir(parents=True)
    (root / "urls.txt").write_bytes(b"http://127.0.0.1:9/\xff\n")
    (root / "archiver.yaml").write_text("schedules:\n  - name: listed\n    urls_file: urls.txt\n    every: 1h\n")
    proc = subprocess_run("-w", str(root), "run", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.strip() == f"listed: FAILED, capture - (schedule listed: {root / 'urls.txt'} is not UTF-8 text)"
    assert not list((root / "manifests").iterdir())


# -- concurrent index rebuilds -----------------------------------------------------------------

def test_twenty_parallel_reindexes_all_succeed_and_agree(template: Path, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    env = {k: v for k, v in os.environ.items() if k != "ARCHIVER_WORKSPACE"}
    procs = [subprocess.Popen([*ARCHIVER, "-w", str(root), "reindex"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(20)]
    outcomes = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]   # type: ignore[union-attr]
    assert all(code == 0 and "index rebuilt from 1 manifest(s)" in out and not err for code, out, err in outcomes), \
        outcomes
    state = root / ".archiver"
    assert not [p.name for p in state.iterdir() if p.name.endswith(".tmp") or "-journal" in p.name]
    with Index.open(Workspace(root)) as index:
        assert [c.ok for c in index.captures()] == [True]
        assert len(index.search("eleven votes")) == 1


# -- cookies files -----------------------------------------------------------------------------

@pytest.mark.parametrize("content,message", [
    ("# Netscape HTTP Cookie File\nexample.org\tFALSE\t/\tFALSE\tsoon\tsid\tx\n", ":2: the expiry must be"),
    ("# Netscape HTTP Cookie File\nexample.org\tTRUE\t/\tFALSE\t0\tsid\tx\n.example.org\tFALSE\n", ":3: has 2 tab"),
    ("# Netscape HTTP Cookie File\nexample.org\tMAYBE\t/\tFALSE\t0\tsid\tx\n", ":2: the second and fourth"),
    ("# Netscape HTTP Cookie File\nexample.org\tFALSE\t/\tFALSE\t0\tsid\tx\ry\n", "cookies.txt:3: has 1 tab"),
    ("# Netscape HTTP Cookie File\nexample.org\tFALSE\t/\tFALSE\t0\tsid\tx\x01y\n", ":2: the value contains"),
    ("# Netscape HTTP Cookie File\nexample.org\tFALSE\t/\tFALSE\t0\tsid\ta;b\n", ":2: the value contains"),
    ("not a cookies file\n", "not a Netscape cookies.txt file"),
])
def test_a_malformed_cookies_file_is_one_line_naming_the_line(template: Path, tmp_path: Path, content: str,
                                                              message: str) -> None:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    before = snapshot(root)
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(content)
    proc = subprocess_run("-w", str(root), "capture", "--cookies", str(cookies), URL, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "http.cookiejar" not in proc.stderr
    assert snapshot(root) == before


def test_cookies_files_as_browsers_export_them_still_load(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n# a comment\n\n"
                       ".example.org\tTRUE\t/\tFALSE\t0\tsession\tS1\n"
                       "#HttpOnly_example.org\tFALSE\t/a\tTRUE\t4102444800\tlong\tL2\n"
                       "example.org\tTRUE\t/\tFALSE\t1\texpired\tE3\n")
    jar = load_cookies(str(cookies))
    assert sorted((c.name, c.domain, c.expires) for c in jar) == [
        ("long", "example.org", 4102444800), ("session", ".example.org", None)]


# -- settings ----------------------------------------------------------------------------------

SETTINGS_CASES = [
    ("capture:\n  timeout: .inf\n", 2, "capture.timeout", "must be from 0.001 to 86400, not inf"),
    ("capture:\n  timeout: .nan\n", 2, "capture.timeout", "not nan"),
    ("capture:\n  exclude: [1]\n", 2, "capture.exclude", "must be text, not int"),
    ("capture:\n  exclude: ['(']\n", 2, "capture.exclude", "is not a valid regular expression"),
    ("capture:\n  exclude: 'x'\n", 2, "capture.exclude", "wrong type str"),
    ("capture:\n  depth: 99999999999999999999999999999999999999\n", 2, "capture.depth", "not a number of more"),
    ("capture:\n  depth: -1\n", 2, "capture.depth", "must be from 0 to 10"),
    ("capture:\n  max_bytes: 5TB\n", 2, "capture.max_bytes", "must be from 1 byte to 1 TB"),
    ("capture:\n  max_redirects: 1000\n", 2, "capture.max_redirects", "must be from 0 to 100"),
    ("capture:\n  user_agent: \"a\\r\\nb\"\n", 2, "capture.user_agent", "control character"),
    ("capture:\n  per_host: {a: 1}\n", 2, "capture.per_host", "wrong type dict"),
    ("capture: [1, 2]\n", 1, "capture", "must be a mapping"),
    ("replay_url: 'http://r/{nope}/{url}'\n", 1, "replay_url", "unknown field {nope}"),
    ("replay_url: 'http://r/{url.__class__}'\n", 1, "replay_url", "unknown field {url.__class__}"),
    ("replay_url: 'http://r/{url:>99999999}'\n", 1, "replay_url", "fields take no format"),
    ("replay_url: 'http://r/{url'\n", 1, "replay_url", "is not a template"),
    ("replay_url: 'http://r/'\n", 1, "replay_url", "must contain {url}"),
    ("replay_url: 5\n", 1, "replay_url", "must be non-empty text"),
    ("collection: 'a/b'\n", 1, "collection", "letters, digits"),
    ("operator:\n  name: [Ada]\n", 2, "operator.name", "must be text, not list"),
    ("operator:\n  name: \"Ada\\nEve\"\n", 2, "operator.name", "control character"),
    ("operator: Ada\n", 1, "operator", "must be a mapping"),
    ("witness: 5\n", 1, "witness", "must be a file name (text)"),
    ("witness: inside.log\n", 1, "witness", "is inside the workspace"),
    ("witness: .\n", 1, "witness", "is inside the workspace"),
    ("schedules:\n  - name: a\n    urls: [ftp://x/]\n    every: 1h\n", 3, "schedules.0.urls.0", "only http and https"),
    ("schedules:\n  - name: a\n    urls: [http://x/]\n    every: 400d\n", 4, "schedules.0.every", "interval too long"),
    ("schedules:\n  - name: a\n    urls: [http://x/]\n    every: 5\n", 4, "schedules.0.every", "must be text, not int"),
    ("schedules:\n  - name: a\n    urls: [http://x/]\n    cron: [1]\n", 4, "schedules.0.cron", "must be text"),
    ("schedules:\n  - name: a\n    urls: [http://x/]\n    cron: '0 6 * * *'\n    timezone: Nowhere/Else\n", 5,
     "schedules.0.timezone", "unknown time zone"),
    ("schedules:\n  - name: a/b\n    urls: [http://x/]\n    every: 1h\n", 2, "schedules.0.name", "1-64 letters"),
    ("schedules:\n  - name: a\n    urls_file: \"a\\0b\"\n    every: 1h\n", 3, "schedules.0.urls_file", "control"),
    ("schedules:\n  - name: a\n    urls: [http://x/]\n    every: 1h\n    capture: {depth: 50}\n", 5,
     "schedules.0.capture.depth", "must be from 0 to 10"),
    ("schedules: {a: 1}\n", 1, "schedules", "must be a list"),
]


@pytest.mark.parametrize("text,line,key,message", SETTINGS_CASES, ids=[c[2] + ":" + c[3][:20] for c in SETTINGS_CASES])
def test_settings_of_the_wrong_type_or_out_of_range_name_file_line_key(template: Path, text: str, line: int,
                                                                       key: str, message: str) -> None:
    with copy_of(template) as root:
        (root / "archiver.yaml").write_text(text)
        with pytest.raises(SettingsError) as err:
            load_settings(root)
        assert (err.value.line, err.value.key) == (line, key) and message in str(err.value), str(err.value)
        assert str(err.value).startswith(f"{root / 'archiver.yaml'}:{line}: {key}: ")
        before = snapshot(root)
        code, out = run_in_process(["-w", str(root), "schedule", "add", URL, "--every", "1h", "--name", "other"])
        assert code == 2 and out.count("\n") == 1 and f"archiver.yaml:{line}: {key}: " in out
        assert snapshot(root) == before


@pytest.mark.parametrize("raw,message", [
    (b"capture:\n  depth: \xff\n", "archiver.yaml:2: not UTF-8 text"),
    (b"a: &x [1]\nb: *x\n", "archiver.yaml:1: YAML anchors and aliases"),
    (b"capture: " + b"[" * 5000 + b"]" * 5000 + b"\n", "archiver.yaml"),
    (b"capture:\n  depth: " + b"9" * 5000 + b"\n", "malformed YAML: a value cannot be read"),
    (b"when: 2026-13-45\n", "malformed YAML: a value cannot be read"),
    (b"x: !!python/object/apply:os.system ['true']\n", "malformed YAML"),
    (b"# " + b"x" * (1 << 20) + b"\n", "larger than 1048576 bytes"),
])
def test_settings_files_that_cannot_be_read_safely_are_refused(template: Path, raw: bytes, message: str) -> None:
    with copy_of(template) as root:
        (root / "archiver.yaml").write_bytes(raw)
        with pytest.raises(SettingsError, match="archiver.yaml") as err:
            load_settings(root)
        assert message in str(err.value)
        code, out = run_in_process(["-w", str(root), "schedule", "list"])
        assert code == 2 and out.count("\n") == 1 and "Traceback" not in out


def test_witness_setting_is_a_path_outside_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    assert load_settings(root).witness_file is None
    (root / "archiver.yaml").write_text("witness: ../witness.log\n")
    assert load_settings(root).witness_file == (tmp_path / "witness.log").resolve()
    (root / "archiver.yaml").write_text(f"witness: {tmp_path / 'elsewhere' / 'w.log'}\n")
    assert load_settings(root).witness_file == (tmp_path / "elsewhere" / "w.log").resolve()
    (root / "link").symlink_to(tmp_path)
    (root / "archiver.yaml").write_text("witness: link/ws/w.log\n")      # outside only in appearance
    with pytest.raises(SettingsError, match="witness: 'link/ws/w.log' is inside the workspace"):
        load_settings(root)
    (tmp_path / "adir").mkdir()
    (root / "archiver.yaml").write_text("witness: ../adir\n")
    with pytest.raises(SettingsError, match="is a folder"):
        load_settings(root)


# -- generated hostile values: every option of every command, every settings field --------------

EXAMPLES = int(os.environ.get("ARCHIVER_TEST_EXAMPLES", "60"))     # more for a long hunt; 60 keeps the suite fast
SURROGATES = st.text(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1, max_size=3)
NASTY = ["", " ", "-1", "0", "1", "-0", "+5", "1_000", "nan", "inf", "-inf", "1e400", "9" * 21, "9" * 400,
         "\r\n", "a\r\nX-Injected: 1", "\x00", "\x7f", "\u2028", "\u20ac", "../../etc/passwd", "/", ".",
         "{url}", "{nope}", "%s%n", "0000-01-01", "9999-12-31T23:59:59+23:59", "9999-12-31T23:59:59-23:59",
         "10000-01-01", "99999999999999", "* * * * * *", "61 * * * *", "@reboot", "Mars/Olympus", "a/b",
         "X: y", "Bad Name: v", "(", "[", "*", "5TB", "1TiB", "999999999d", "9" * 30 + "w", "0m", "Europe/London",
         "0 6 * * *", "20261129T150447Z-bce0ff", "../manifests", "-h", "--json"]
HOSTILE = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=30),
    st.integers().map(str),
    st.floats().map(repr),
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY), SURROGATES),
)
CAPTURE_OPTIONS = ["--depth", "--exclude", "--max-resources", "--max-bytes", "--max-total-bytes", "--timeout",
                   "--concurrency", "--per-host", "--user-agent", "--header", "--cookies"]
CAPTURE_FLAGS = ["--ignore-robots", "--keep-secrets", "--allow-private", "--deny-private", "--insecure",
                 "--no-dedup", "--json"]
STYLE = st.sampled_from(["apa", "bibtex", "robust-link", "nope"])
# files written (-o) stay in the example's own folder: no '/' and no '..' (tests may run as root)
OUTPUT = st.one_of(st.sampled_from(["", "out", "missing/out", "ws", "ws/manifests"]),
                   HOSTILE.filter(lambda v: "/" not in v and v.strip() not in (".", "..")))
# for each command: (fixed arguments before, options taking a value, flags); the URL of a capture
# is a loopback port that refuses connections, so an accepted value never reaches a network
COMMANDS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "capture": (["capture", URL], CAPTURE_OPTIONS, CAPTURE_FLAGS),
    "lookup": (["lookup"], ["--at"], ["--json"]),
    "cite": (["cite", "--style", "apa"], ["--at", "--output", "--style"], []),
    "search": (["search"], ["--limit", "--cite"], ["--json"]),
    "schedule add every": (["schedule", "add", URL, "--every"], ["--timezone", "--name", "--depth"], []),
    "schedule add cron": (["schedule", "add", URL, "--cron"], ["--timezone", "--name", "--depth"], []),
    "schedule remove": (["schedule", "remove"], [], []),
    "schedule list": (["schedule", "list"], [], ["--json"]),
    "report": (["report"], ["--since", "--style"], ["--json"]),
    "export wacz": (["export", "wacz"], ["--output"], []),
    "export bag": (["export", "bag"], ["--output"], []),
    "export cdxj": (["export", "cdxj", "--output"], [], []),
    "verify": (["verify"], ["--trusted-key", "--workers", "--expect-head", "--accept-key"], ["--quick", "--json"]),
    "head": (["head"], [], ["--json"]),
    "reindex": (["reindex"], [], []),
    "import": (["import"], [], ["--json"]),
    "run": (["run"], [], ["--json"]),             # never --watch: it would not return
    "demo": (["demo"], [], []),                   # only ever with an argument too many: refused
}
# commands whose positional argument is the hostile value (after the fixed words)
POSITIONAL = {"lookup", "cite", "search", "schedule add every", "schedule add cron", "schedule remove",
              "export wacz", "export bag", "export cdxj", "verify", "import"}


@st.composite
def hostile_argv(draw: st.DrawFn) -> list[str]:
    """A command line of one command with hostile values for one or two of its options."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    fixed, options, flags = COMMANDS[command]
    argv = list(fixed)
    if command == "export cdxj":
        argv.append(draw(OUTPUT))
    elif command in POSITIONAL:
        argv.append(draw(HOSTILE.filter(lambda v: not v.startswith("-"))) if command in ("cite", "search", "lookup")
                    else draw(HOSTILE))
        if command in ("export wacz", "export bag"):
            argv += ["--output", "out"]
    for option in draw(st.lists(st.sampled_from(options), max_size=2, unique=True)) if options else []:
        if option == "--output":
            argv += [option, draw(OUTPUT)]
        else:
            argv += [option, draw(STYLE) if option in ("--style", "--cite") and draw(st.booleans()) else draw(HOSTILE)]
    argv += draw(st.lists(st.sampled_from(flags), max_size=2, unique=True)) if flags else []
    if command == "demo" or command in ("schedule list", "reindex", "head", "run") and draw(st.booleans()):
        argv.append(draw(HOSTILE.filter(lambda v: not v.startswith("-"))))     # an argument too many
    return argv


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=hostile_argv())
def test_generated_hostile_arguments_never_crash_and_refusals_change_nothing(template: Path, closed: str,
                                                                            argv: list[str]) -> None:
    check(template, [f"{closed}/" if arg == URL else arg for arg in argv])     # a capture is refused by the port


YAML_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**20, max_value=10**60),
    st.floats(), st.text(max_size=20), st.sampled_from(NASTY), st.dates(), st.datetimes(),
    st.lists(st.one_of(st.integers(), st.text(max_size=8), st.sampled_from(NASTY)), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)
CAPTURE_KEYS = ["depth", "exclude", "max_resources", "max_bytes", "max_total_bytes", "timeout", "concurrency",
                "per_host", "user_agent", "ignore_robots", "max_redirects", "compress_level", "dedup",
                "allow_private", "deny_private", "insecure", "bogus"]
SCHEDULE = st.fixed_dictionaries({"name": st.one_of(st.just("s"), YAML_VALUES)}, optional={
    "urls": st.one_of(st.just(["http://127.0.0.1:9/"]), YAML_VALUES), "urls_file": YAML_VALUES,
    "every": st.one_of(st.sampled_from(["1h", "366d", "367d", "999999999d"]), YAML_VALUES),
    "cron": st.one_of(st.just("0 6 * * *"), YAML_VALUES), "timezone": YAML_VALUES,
    "capture": st.dictionaries(st.sampled_from(CAPTURE_KEYS), YAML_VALUES, max_size=2)})
SETTINGS = st.fixed_dictionaries({}, optional={
    "operator": st.one_of(YAML_VALUES, st.fixed_dictionaries({}, optional={"name": YAML_VALUES,
                                                                            "contact": YAML_VALUES})),
    "capture": st.one_of(YAML_VALUES, st.dictionaries(st.sampled_from(CAPTURE_KEYS), YAML_VALUES, max_size=3)),
    "replay_url": st.one_of(YAML_VALUES, st.sampled_from(["http://r/{url}", "http://r/{url!r}", "{url}{",
                                                          "http://r/{timestamp}/{url}/{capture_id}"])),
    "collection": YAML_VALUES,
    "witness": st.one_of(YAML_VALUES, st.sampled_from(["../w.log", "/", "~", "w.log", "../"])),
    "schedules": st.one_of(YAML_VALUES, st.lists(SCHEDULE, max_size=2)),
})


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=SETTINGS, command=st.sampled_from([["schedule", "list"], ["lookup", URL], ["search", "votes"],
                                                ["report"], ["schedule", "add", URL, "--every", "1h", "--name", "n"],
                                                ["cite", "--style", "apa", URL], ["export", "cdxj", "-o", "o"]]))
def test_generated_hostile_settings_never_crash_and_refusals_change_nothing(template: Path, data: dict,
                                                                            command: list[str]) -> None:
    with copy_of(template) as root:
        (root / "archiver.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
        try:
            load_settings(root)
        except SettingsError as exc:
            assert str(exc).startswith(str(root / "archiver.yaml")) and "\n" not in str(exc)
        before = snapshot(root)
        code, err = run_in_process(["-w", str(root), *command])
        assert_refused_cleanly(root, command, before, code, err)
