"""Interrupting any command at any moment never harms a sealed capture (issue #11).

Each command runs as the real command line, in its own process, against a copy of a workspace that
already holds sealed, signed captures, and gets SIGINT, SIGTERM or SIGKILL at moments spread over
its measured duration, and at the moment its seal (or, for an export, its output) appears. After
every interruption: ``verify`` exits 0 with nothing worse than orphan warnings, every capture sealed
before is still listed and byte for byte the same, a capture the command sealed verifies too, and
``reindex`` and ``lookup`` work. SIGINT and SIGTERM end the command with one line (no traceback),
exit 130 and leave no temporary files; an export leaves at its output path nothing, or a whole
package that its format's own validator accepts.

Moments are counted from when the command's ``main()`` has taken SIGTERM over (its handler shows in
``/proc/<pid>/status``): before that, the process is the interpreter importing code and has written
nothing. Each interruption gets a fresh copy of the workspace at a new path and a fresh per-user
state folder, so the witness of sealed captures starts from what that copy holds.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from archiver.cli.app import main
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Route, Site
from archiver.transfer.cdxj import cdxj_lines
from archiver.watch.runs import run_lock

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/<pid>/status")

BIN = Path(sys.executable).parent
ARCHIVER = ([str(BIN / "archiver")] if (BIN / "archiver").exists()
            else [sys.executable, "-c", "import sys; from archiver.cli.app import main; sys.exit(main())"])
BAGIT, WACZ = BIN / "bagit.py", BIN / "wacz"
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
MOMENTS = 6                 # per signal and command, spread over its duration; then the moments of events
HTML = [("Content-Type", "text/html; charset=utf-8")]


# -- the workspace every interruption starts from ------------------------------------------------


def article_site() -> Site:
    """An article linking 8 pages of 6 images each and showing two 4 MB images: about 60 exchanges
    at 20 ms each, and WARC files big enough that copying and hashing them takes a while."""
    rng = random.Random(11)
    routes: dict[str, Response] = {}
    links = "".join(f'<a href="/p{n}">page {n}</a> ' for n in range(8))
    big = "".join(f'<img src="/big{k}.png">' for k in range(2))
    routes["/"] = Response(200, HTML, (f"<html><head><title>The article</title></head><body><h1>The article</h1>"
                                       f"<p>{'what it said ' * 100}</p>{links}{big}</body></html>").encode())
    for k in range(2):
        routes[f"/big{k}.png"] = Response(200, [("Content-Type", "image/png")], rng.randbytes(4_000_000))
    for n in range(8):
        imgs = "".join(f'<img src="/p{n}/{i}.png">' for i in range(6))
        routes[f"/p{n}"] = Response(200, HTML, (f"<html><head><title>Page {n}</title></head><body>"
                                                f"<p>{'a source ' * 80}</p>{imgs}</body></html>").encode())
        for i in range(6):
            routes[f"/p{n}/{i}.png"] = Response(200, [("Content-Type", "image/png")], bytes([n, i]) * 3000)
    return Site([Host("h", "127.0.0.86", routes=routes)], latency=0.02)


@dataclass(frozen=True)
class Base:
    root: Path                   # ws/ (the workspace), input.warc.gz and input.wacz (to import)
    url: str                     # the article
    sealed: tuple[str, ...]      # the captures sealed in ws/

    @property
    def ws(self) -> Path:
        return self.root / "ws"


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    started = article_site().start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def base(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Base:
    """A signed workspace with two sealed captures of the article (the second all revisits) and a
    schedule that is due; a WARC file and a WACZ file to import."""
    root = tmp_path_factory.mktemp("interrupts")
    env = {**os.environ, "ARCHIVER_STATE_HOME": str(root / "state")}   # module scope: never the user's own
    url = site.url("h", "/")

    def cli(*args: object) -> None:
        done = subprocess.run([*ARCHIVER, "-w", str(root / "ws"), *map(str, args)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    (root / "ws" / "manifests").mkdir(parents=True)     # keygen needs a workspace, not a folder it makes
    cli("keygen")
    cli("capture", url)
    cli("capture", url)
    cli("schedule", "add", url, "--every", "1h", "--name", "article")
    sealed = tuple(sorted(p.stem for p in (root / "ws" / "manifests").glob("*.yaml")))
    assert len(sealed) == 2
    # the WACZ comes from another workspace: an archiver package of captures this one does not hold,
    # imported losslessly (ids and seals kept, an import record sealed here)
    other = [*ARCHIVER, "-w", str(root / "other")]
    for args in (["init", str(root / "other"), "--no-input"], ["keygen", "--no-attest"], ["capture", url]):
        done = subprocess.run([*other, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    (theirs,) = sorted(p.stem for p in (root / "other" / "manifests").glob("*.yaml"))
    done = subprocess.run([*other, "export", "wacz", theirs, "-o", str(root / "input.wacz")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    shutil.copyfile(root / "ws" / "archive" / f"{sealed[0]}-00000.warc.gz", root / "input.warc.gz")
    return Base(root, url, sealed)


# -- one interruption ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A fresh copy of the base workspace at a new path, with its own state and temporary folders."""

    dir: Path

    @property
    def ws(self) -> Path:
        return self.dir / "ws"

    @property
    def out(self) -> Path:         # where exports write
        return self.dir / "out"

    @property
    def tmp(self) -> Path:         # the command's TMPDIR
        return self.dir / "tmp"

    @property
    def state(self) -> Path:       # the command's ARCHIVER_STATE_HOME (the witness)
        return self.dir / "state"

    def manifests(self) -> set[str]:
        return {p.stem for p in (self.ws / "manifests").glob("*.yaml")}


@dataclass(frozen=True)
class Command:
    name: str
    args: Callable[[Base, Case], list[object]]
    seals: bool = False                          # it seals a capture of the article
    output: Callable[[Case], Path] | None = None  # an export: the path it writes
    validate: Callable[[Path], None] | None = None


@dataclass(frozen=True)
class Shot:
    signal: signal.Signals | None                # None: not interrupted (the measuring run)
    moment: str
    returncode: int
    stdout: str                                  # what the command printed when its work was done
    stderr: str
    new: frozenset[str]                          # captures the command sealed
    wrote: bool                                  # an export's output exists
    duration: float = 0.0                        # from main() taking over SIGTERM to the end
    sealed_at: float | None = None               # ... to its seal or its output appearing

    @property
    def done(self) -> bool:
        """It finished its work: exit 0, or the signal ended the interpreter as it exited, after the
        command printed its result (Python restores the default handlers when it shuts down)."""
        return self.returncode == 0 or (self.signal is not None and self.returncode == -self.signal
                                        and self.stdout.strip() != "")

    def landed(self, command: Command) -> str:
        if self.done:
            return "finished"
        if command.seals:
            return "after seal" if self.new else "before seal"
        if command.output is not None:
            return "after output" if self.wrote else "before output"
        return "interrupted"


def sigterm_handled(pid: int) -> bool:
    """True once the process catches SIGTERM: archiver's main() has started."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    found = re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE)
    return bool(found and int(found.group(1), 16) >> (signal.SIGTERM - 1) & 1)


def start(command: Command, base: Base, case: Case) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ARCHIVER_STATE_HOME": str(case.state), "TMPDIR": str(case.tmp)}
    argv = [*ARCHIVER, "-w", str(case.ws), *map(str, command.args(base, case))]
    with open(case.dir / "stdout", "wb") as stdout, open(case.dir / "stderr", "wb") as stderr:
        return subprocess.Popen(argv, env=env, stdout=stdout, stderr=stderr)


def wait_ready(proc: subprocess.Popen[bytes]) -> float:
    deadline = time.monotonic() + 30
    while not sigterm_handled(proc.pid):
        assert proc.poll() is None, "the command ended before its main() handled SIGTERM"
        assert time.monotonic() < deadline, "the command did not start within 30 s"
        time.sleep(0.0005)
    return time.monotonic()


SEAL, WARC = "at its seal or output", "at its WARC file's final name"


def appeared(command: Command, case: Case, before: set[str], event: str) -> bool:
    """Whether ``event`` has happened: the output exists, a new manifest does (the seal), or (WARC) a
    new WARC file has its final name (a capture's after its last record, an import's once copied)."""
    if command.output is not None:
        return command.output(case).exists()
    if event == WARC:
        return any(p.name.endswith(".warc.gz") and not p.name.startswith(tuple(before))
                   for p in (case.ws / "archive").iterdir())
    return bool(case.manifests() - before)


def shoot(command: Command, base: Base, case: Case, sig: signal.Signals | None, delay: float | str) -> Shot:
    """Run the command and send ``sig`` ``delay`` seconds after its main() starts, or the moment the
    event ``delay`` names happens; without ``sig``, let it finish and time it and its seal or output."""
    before = case.manifests()
    proc = start(command, base, case)
    ready = wait_ready(proc)
    sealed_at = None
    if sig is None or isinstance(delay, str):
        event = delay if isinstance(delay, str) else SEAL
        while proc.poll() is None:
            if sealed_at is None and appeared(command, case, before, event):
                sealed_at = time.monotonic() - ready
                if sig is not None:
                    proc.send_signal(sig)
                    break
            time.sleep(0.0005)
    else:
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(sig)
    code = proc.wait(60)
    duration = time.monotonic() - ready
    stdout = (case.dir / "stdout").read_text(errors="replace")
    stderr = (case.dir / "stderr").read_text(errors="replace")
    new = frozenset(case.manifests() - before)
    wrote = command.output is not None and command.output(case).exists()
    moment = delay if isinstance(delay, str) else f"{delay:.3f}s"
    return Shot(sig, moment, code, stdout, stderr, new, wrote, duration, sealed_at)


# -- what must hold after it ---------------------------------------------------------------------


def cli(*args: object) -> tuple[int, str]:
    """The command line in this process (cheaper than a new interpreter for each check): its exit
    code and what it printed on standard output (standard error goes with the test's output)."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = main([str(a) for a in args])
    return code, out.getvalue()


def check(command: Command, base: Base, case: Case, shot: Shot) -> list[str]:
    """Assert what must hold after ``shot``; return the known bugs it showed (see IMPORT_LEAVES_A_WARC)."""
    where = f"{command.name}, {shot.signal.name if shot.signal else 'no signal'} at {shot.moment}: "
    if shot.signal in (signal.SIGINT, signal.SIGTERM):
        # where Python cannot raise (the interpreter's shutdown joining threads, a callback of the
        # import system), it reports the interrupt as "Exception ignored in: ..." and goes on: the
        # signal is lost and the command finishes normally. Only then is a traceback allowed.
        swallowed = shot.done and shot.stderr.startswith("Exception ignored in: ")
        assert "Traceback" not in shot.stderr or swallowed, where + shot.stderr
        assert shot.returncode == 130 or shot.done, where + f"exit {shot.returncode}: {shot.stderr}"
        if shot.returncode == 130:
            assert shot.stderr.strip().splitlines()[-1] == "archiver: interrupted", where + shot.stderr
        assert list(case.tmp.iterdir()) == [], where + "temporary files left behind"
    elif shot.signal is signal.SIGKILL:
        assert shot.returncode in (0, -signal.SIGKILL), where + f"exit {shot.returncode}: {shot.stderr}"
    else:
        assert shot.returncode == 0, where + shot.stderr

    code, text = cli("-w", case.ws, "verify", "--json", "--workers", "1")
    report = json.loads(text)
    assert code == 0 and report["ok"], where + text
    # warnings only: orphans, or (an import killed between sealing its record and moving the seal
    # files in) the seal files waiting, unchanged, in the import's scratch folder
    assert all(p["severity"] == "warning" and ("orphan" in p["message"] or "stopped before its last step" in
                                               p["message"]) for p in report["problems"]), where + text
    assert set(base.sealed) | shot.new <= set(report["captures"]), where + text
    debris = sorted(p for p in new_files(base, case) if p.split("/")[0] in ("archive", "manifests")
                    and not any(p.split("/")[1].startswith(c) for c in report["captures"]))
    unreported = set(debris) - {p["path"] for p in report["problems"]}
    assert not unreported, where + f"debris verify does not report: {sorted(unreported)}"
    known: list[str] = []
    if shot.signal in (signal.SIGINT, signal.SIGTERM):
        # a caught signal leaves no temporary file; as debris at most the checksum list (and signature)
        # of a seal it stopped and, from a capture it stopped, its WARC file (unfinished, or finished
        # but not sealed); an import removes the files of a capture it did not seal
        temporary = [p for p in new_files(base, case) if p.endswith((".tmp", "-journal"))]
        assert not temporary, where + f"temporary files left behind: {temporary}"
        seal_debris = [p for p in debris if p.startswith("manifests/") and p.endswith((".sha256", ".sha256.sig"))]
        warc_debris = [p for p in debris if p.startswith("archive/") and p.endswith((".warc.gz", ".warc.gz.open"))]
        assert sorted(seal_debris + warc_debris) == debris and (command.seals or not debris), where + str(debris)
        if command.name.startswith("import") and warc_debris:
            known.append(where + str(warc_debris))
    for capture_id in base.sealed:           # what was sealed before is byte for byte what it was
        for name in (f"{capture_id}.yaml", f"{capture_id}.sha256", f"{capture_id}.sha256.sig"):
            assert (case.ws / "manifests" / name).read_bytes() == (base.ws / "manifests" / name).read_bytes()
    if command.name == "run":
        with run_lock(Workspace(case.ws)):    # the run lock died with the run
            pass

    code, text = cli("-w", case.ws, "reindex")
    assert code == 0, where + text
    code, text = cli("-w", case.ws, "lookup", base.url, "--json")
    assert code == 0, where + text
    found = {m["capture_id"] for m in json.loads(text)["mementos"]}
    records = {c for c in shot.new if "format: archiver-package" in (case.ws / "manifests" / f"{c}.yaml").read_text()}
    assert set(base.sealed) | (shot.new - records) <= found, where + text     # an import record archives nothing

    if command.output is not None:
        output = command.output(case)
        leftovers = [p.name for p in case.out.iterdir() if p != output]
        if shot.signal is signal.SIGKILL:     # only its hidden temporary file or folder, which it could not remove
            assert all(n.startswith(f".{output.name}.") and n.endswith(".tmp") for n in leftovers), where + str(leftovers)
        else:
            assert leftovers == [], where + f"left in the output folder: {leftovers}"
        if output.exists():              # nothing, or the whole package
            assert command.validate is not None
            command.validate(output)
    return known


def new_files(base: Base, case: Case) -> list[str]:
    """Files in the case's workspace that the base workspace does not have, workspace-relative."""
    before = {p.relative_to(base.ws).as_posix() for p in base.ws.rglob("*")}
    return sorted(rel for p in case.ws.rglob("*") if p.is_file() and (rel := p.relative_to(case.ws).as_posix()) not in before)


# -- many interruptions of one command -------------------------------------------------------------


@dataclass
class Tally:
    command: str
    landed: Counter[tuple[str, str]] = field(default_factory=Counter)   # (signal, where) -> count
    known: list[str] = field(default_factory=list)                      # known bugs shown

    def of(self, where: str) -> int:
        return sum(n for (_, w), n in self.landed.items() if w == where)

    def interrupted(self) -> int:
        return sum(n for (_, w), n in self.landed.items() if w != "finished")


def interrupt_many(command: Command, base: Base, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tally:
    serial = iter(range(1000))

    def new_case() -> Case:
        case = Case(tmp_path / f"case{next(serial):03d}")
        shutil.copytree(base.ws, case.ws, symlinks=True)
        for folder in (case.out, case.tmp, case.state):
            folder.mkdir()
        monkeypatch.setenv("ARCHIVER_STATE_HOME", str(case.state))    # the checks read the same witness
        return case

    runs = []           # measured twice, the quicker taken: one run slowed by a busy machine would put
    for _ in range(2):  # every moment after the command's end, and nothing would be interrupted
        case = new_case()
        runs.append(shoot(command, base, case, None, 0.0))
        assert check(command, base, case, runs[-1]) == []
        if command.seals or command.output is not None:
            assert (runs[-1].new if command.seals else runs[-1].wrote) and runs[-1].sealed_at is not None, runs[-1]
        shutil.rmtree(case.dir)
    measured = min(runs, key=lambda shot: shot.duration)

    tally = Tally(command.name)
    for number, sig in enumerate(SIGNALS):
        delays: list[float | str] = [measured.duration * (k + (number + 1) / 4) / MOMENTS for k in range(MOMENTS)]
        if command.seals:
            delays += [WARC, SEAL]
        elif command.output is not None:
            delays.append(SEAL)
        for delay in delays:
            case = new_case()
            shot = shoot(command, base, case, sig, delay)
            tally.known += check(command, base, case, shot)
            tally.landed[sig.name, shot.landed(command)] += 1
            shutil.rmtree(case.dir)
    print(f"\n{command.name}: {measured.duration:.2f}s after main() starts"
          + (f", seal or output at {measured.sealed_at:.2f}s" if measured.sealed_at is not None else "")
          + "; " + ", ".join(f"{s} {w}: {n}" for (s, w), n in sorted(tally.landed.items())))
    return tally


def wacz_validate(path: Path) -> None:
    done = subprocess.run([str(WACZ), "validate", "-f", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "the passed WACZ is valid" in done.stdout, done.stdout + done.stderr


def bagit_validate(path: Path) -> None:
    done = subprocess.run([sys.executable, str(BAGIT), "--validate", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "is valid" in done.stderr, done.stderr


def cdxj_validate(path: Path) -> None:
    """The whole index of the case's workspace (``<case>/out/index.cdxj``), every line."""
    lines = cdxj_lines(Workspace(path.parent.parent / "ws"))
    assert len(lines) > 100 and path.read_text(encoding="utf-8") == "".join(line + "\n" for line in lines)


# -- the commands --------------------------------------------------------------------------------


# importing._install lists each name it gives in archive/ before giving it, so an interrupt at
# any moment before the seal leaves no WARC file behind.
IMPORT_LEAVES_A_WARC = "an interrupted import left a WARC file it had not sealed in archive/ (importing._install)"


def test_capture_interrupted_at_any_moment_harms_no_sealed_capture(base: Base, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    tally = interrupt_many(Command("capture", lambda b, c: ["capture", b.url], seals=True), base, tmp_path, monkeypatch)
    assert tally.of("before seal") >= 6 and tally.of("after seal") >= 1, tally


def test_import_of_a_warc_interrupted_at_any_moment_harms_no_sealed_capture(base: Base, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    command = Command("import warc.gz", lambda b, c: ["import", b.root / "input.warc.gz"], seals=True)
    tally = interrupt_many(command, base, tmp_path, monkeypatch)
    assert tally.of("before seal") >= 6 and tally.of("after seal") >= 1, tally
    assert not tally.known, f"{IMPORT_LEAVES_A_WARC}: {tally.known}"


def test_import_of_a_wacz_interrupted_at_any_moment_harms_no_sealed_capture(base: Base, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    command = Command("import wacz", lambda b, c: ["import", b.root / "input.wacz"], seals=True)
    tally = interrupt_many(command, base, tmp_path, monkeypatch)
    assert tally.of("before seal") >= 6 and tally.of("after seal") >= 1, tally
    assert not tally.known, f"{IMPORT_LEAVES_A_WARC}: {tally.known}"


def test_run_of_a_due_schedule_interrupted_at_any_moment_harms_no_sealed_capture(
        base: Base, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tally = interrupt_many(Command("run", lambda b, c: ["run"], seals=True), base, tmp_path, monkeypatch)
    assert tally.of("before seal") >= 6 and tally.of("after seal") >= 1, tally


def test_reindex_interrupted_at_any_moment_harms_no_sealed_capture(base: Base, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    tally = interrupt_many(Command("reindex", lambda b, c: ["reindex"]), base, tmp_path, monkeypatch)
    assert tally.interrupted() >= len(SIGNALS) * MOMENTS // 2, tally


def test_wacz_export_interrupted_at_any_moment_leaves_nothing_or_a_valid_package(
        base: Base, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = Command("export wacz", lambda b, c: ["export", "wacz", *b.sealed, "-o", c.out / "captures.wacz"],
                      output=lambda c: c.out / "captures.wacz", validate=wacz_validate)
    tally = interrupt_many(command, base, tmp_path, monkeypatch)
    assert tally.of("before output") >= len(SIGNALS) * MOMENTS // 2, tally


def test_bag_export_interrupted_at_any_moment_leaves_nothing_or_a_valid_bag(
        base: Base, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = Command("export bag", lambda b, c: ["export", "bag", *b.sealed, "-o", c.out / "captures-bag"],
                      output=lambda c: c.out / "captures-bag", validate=bagit_validate)
    tally = interrupt_many(command, base, tmp_path, monkeypatch)
    assert tally.of("before output") >= len(SIGNALS) * MOMENTS // 2, tally


def test_cdxj_export_interrupted_at_any_moment_leaves_nothing_or_the_whole_index(
        base: Base, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command = Command("export cdxj", lambda b, c: ["export", "cdxj", "-o", c.out / "index.cdxj"],
                      output=lambda c: c.out / "index.cdxj", validate=cdxj_validate)
    tally = interrupt_many(command, base, tmp_path, monkeypatch)
    assert tally.of("before output") >= len(SIGNALS) * MOMENTS // 2, tally


# -- Ctrl-C stops a capture within a second (issue #14) -------------------------------------------


class SlowSite:
    """A page with a fast image and one that takes 30 s (the slow route waits on ``release``, set
    when the test ends, so no server thread outlives it); ``entered`` is set once the slow request
    has arrived, i.e. it is in flight."""

    def __init__(self, serve: Callable[..., Site], slow_seed: bool = False) -> None:
        self.release, self.entered = threading.Event(), threading.Event()

        def slow(site: Site, path: str) -> Response:
            self.entered.set()
            self.release.wait(30)
            return Response(200, HTML if slow_seed else [("Content-Type", "image/png")], b"late")

        page = b'<html><body><h1>Going away</h1><img src="/fast.png"><img src="/slow.png"></body></html>'
        routes: dict[str, Route] = {"/fast.png": Response(200, [("Content-Type", "image/png")], b"\x89PNG fast"),
                                    "/slow.png": slow, "/": slow if slow_seed else Response(200, HTML, page)}
        self.site = serve([Host("slow", "127.0.0.87", routes=routes)])
        self.url = self.site.url("slow", "/")


def interrupt_capture(slow: SlowSite, ws: Path, sig: signal.Signals) -> tuple[int, float, str]:
    """Start a capture of the slow site, send ``sig`` once the slow request is in flight; the exit
    code, the seconds from the signal to the exit, and stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "archiver", "-w", str(ws), "capture", slow.url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert slow.entered.wait(30), "the capture never requested the slow URL"
        time.sleep(0.3)                     # the fast requests end meanwhile
        sent = time.monotonic()
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=30)
        return proc.returncode, time.monotonic() - sent, stderr
    finally:
        slow.release.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def verify_clean(ws: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "archiver", "-w", str(ws), "verify", "--json"],
                          capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"] and report["problems"] == [], done.stdout + done.stderr
    return report


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_a_capture_within_a_second_and_seals_what_was_archived_as_interrupted(
        serve: Callable[..., Site], tmp_path: Path, sig: signal.Signals) -> None:
    import yaml

    slow = SlowSite(serve)
    ws = tmp_path / "ws"
    code, took, stderr = interrupt_capture(slow, ws, sig)
    assert code == 130, stderr
    assert took < 2.0, f"exited {took:.1f} s after the signal"
    lines = stderr.strip().splitlines()
    assert lines[-1] == "archiver: interrupted" and "Traceback" not in stderr, stderr
    assert any(line.startswith("archiver: stopping capture ") and "abandoning 1 request(s) in flight" in line
               and "sealing what was archived as an interrupted capture" in line for line in lines), stderr
    assert not [p for p in ws.rglob("*") if p.name.endswith(".open")]
    manifests = list((ws / "manifests").glob("*.yaml"))
    assert len(manifests) == 1, stderr
    manifest = yaml.safe_load(manifests[0].read_text())
    assert manifest["interrupted"] is True
    assert {r["url"] for r in manifest["resources"]} == {slow.url, slow.site.url("slow", "/fast.png")}
    assert [(f["url"], f["kind"]) for f in manifest["failures"]] == [(slow.site.url("slow", "/slow.png"),
                                                                        "interrupted")]
    report = verify_clean(ws)
    assert report["captures"] == [manifest["capture_id"]]


def test_capture_interrupted_before_anything_was_archived_seals_nothing_and_leaves_nothing(
        serve: Callable[..., Site], tmp_path: Path) -> None:
    slow = SlowSite(serve, slow_seed=True)
    ws = tmp_path / "ws"
    code, took, stderr = interrupt_capture(slow, ws, signal.SIGINT)
    assert code == 130 and took < 2.0, (took, stderr)
    assert "nothing archived yet, so nothing will be sealed" in stderr, stderr
    assert stderr.strip().splitlines()[-1] == "archiver: interrupted", stderr
    assert list((ws / "archive").iterdir()) == [] and list((ws / "manifests").glob("*")) == []
    assert not (ws / ".archiver" / "tmp").exists() or list((ws / ".archiver" / "tmp").iterdir()) == []
    verify_clean(ws)


def test_an_interrupt_python_wrapped_in_another_exception_is_told_as_an_interrupt() -> None:
    """Python 3.11 wraps a KeyboardInterrupt raised inside __set_name__ (a class made while a module
    is imported) in a RuntimeError: the command line still says "interrupted" and exits 130 (seen
    under CI: SIGTERM 45 ms into 'export wacz')."""
    from archiver.cli.exiting import interrupted_by_signal

    class Stop:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    try:
        type("Made", (), {"field": Stop()})
    except RuntimeError as wrapped:          # 3.11; 3.12 and later raise the KeyboardInterrupt itself
        assert interrupted_by_signal(wrapped)
    except KeyboardInterrupt:
        pass
    assert not interrupted_by_signal(RuntimeError("a bug"))
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as chained:
        assert not interrupted_by_signal(chained)
