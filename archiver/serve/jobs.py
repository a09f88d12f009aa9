"""Work the server starts for a person and reports on while it runs: a capture, or a verify of one
capture. Each job runs in its own thread; its state is read by polling (``/api/jobs/{id}``).

The last verify result of each capture is kept as a derived file, ``.archiver/verified/<id>.json``
in the workspace's state folder (rebuilt by verifying again; never part of what is sealed)."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import ArchiverError
from ..core.settings import CaptureOptions
from ..core.workspace import Workspace, atomic_write

MAX_JOBS = 200                 # finished jobs kept for polling; the oldest finished are forgotten first
MAX_RUNNING = 4                # jobs at once: a fifth is refused (429), not queued without bound


@dataclass(slots=True)
class Job:
    """A job as the API shows it."""

    id: str
    kind: str                                  # "capture" or "verify"
    state: str = "running"                     # running, done, failed
    started: str = ""
    ended: str | None = None
    done: int = 0                              # resources fetched, or 0/1 for a verify
    queued: int = 0
    message: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return asdict(self)


class TooBusy(ArchiverError):
    exit_code = 2


@dataclass(frozen=True, slots=True)
class VerifyState:
    """The last verify of a capture."""

    ok: bool
    at: str
    problems: tuple[str, ...]
    quick: bool

    def public(self) -> dict[str, Any]:
        return {"ok": self.ok, "at": self.at, "problems": list(self.problems), "quick": self.quick}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _verified_path(workspace: Workspace, capture_id: str) -> Path:
    return workspace.state_dir / "verified" / f"{capture_id}.json"


def last_verify(workspace: Workspace, capture_id: str) -> VerifyState | None:
    """The last verify result kept for ``capture_id`` (None: never verified here, or unreadable)."""
    try:
        data = json.loads(_verified_path(workspace, capture_id).read_text(encoding="utf-8"))
        return VerifyState(bool(data["ok"]), str(data["at"]), tuple(str(p) for p in data["problems"]),
                           bool(data["quick"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class Jobs:
    """The server's jobs. One per server (kept in ``app.state``), shared by the API and the pages."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _start(self, kind: str, work: Any) -> Job:
        with self._lock:
            if sum(j.state == "running" for j in self._jobs.values()) >= MAX_RUNNING:
                raise TooBusy(f"{MAX_RUNNING} jobs are running already; try again when one has finished")
            job = Job(id=secrets.token_hex(8), kind=kind, started=_now())
            self._jobs[job.id] = job
            finished = [j.id for j in self._jobs.values() if j.state != "running"]
            for old in finished[: max(0, len(self._jobs) - MAX_JOBS)]:
                del self._jobs[old]
        threading.Thread(target=self._run, args=(job, work), name=f"archiver-job-{job.id}", daemon=True).start()
        return job

    def _run(self, job: Job, work: Any) -> None:
        try:
            job.result = work(job)
            job.state = "done"
        except ArchiverError as exc:
            job.state, job.message = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - a job's failure is reported on the job, never kills the server
            job.state, job.message = "failed", f"internal error: {type(exc).__name__}: {exc}"
        job.ended = _now()

    def start_capture(self, urls: list[str], options: CaptureOptions) -> Job:
        """Capture ``urls``; progress in ``done``/``queued``, the capture id in ``result``."""
        from ..capturing.run import Progress, capture
        from ..core.settings import load_settings

        settings = load_settings(self.workspace.root)

        def work(job: Job) -> dict[str, Any]:
            def progress(p: Progress) -> None:
                job.done, job.queued = p.done, p.queued
                job.message = f"{p.done} fetched, {p.queued} queued, {p.failures} failed"

            result = capture(urls, self.workspace, options, settings=settings, progress=progress)
            job.message = f"captured {len(result.resources)} resources" + ("" if result.ok else "; " +
                                                                           "; ".join(result.seed_problems))
            return {"capture_id": result.capture_id, "ok": result.ok, "resources": len(result.resources),
                    "failures": len(result.failures), "seed_problems": list(result.seed_problems)}

        return self._start("capture", work)

    def start_verify(self, capture_id: str, quick: bool = False) -> Job:
        """Verify one capture fully (every record's digests); the outcome is kept for the pages."""
        from ..core.settings import load_settings
        from ..fixity.verify import verify

        settings = load_settings(self.workspace.root)

        def work(job: Job) -> dict[str, Any]:
            job.message = "verifying"
            report = verify(self.workspace, [capture_id], quick=quick, workers=1, witness_file=settings.witness_file)
            problems = tuple(p.line() for p in report.problems)
            state = VerifyState(report.ok, _now(), problems, quick)
            path = _verified_path(self.workspace, capture_id)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, json.dumps(state.public()).encode("utf-8"))
            job.done = 1
            job.message = ("intact" if report.ok else f"{len(problems)} problem(s)") + \
                f": {report.records_checked} records, {report.bytes_hashed} bytes checked"
            return {"capture_id": capture_id, **state.public(), "records_checked": report.records_checked}

        return self._start("verify", work)
