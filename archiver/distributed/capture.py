"""``archiver capture --queue``: queue a capture for the workers, wait until its frontier is
exhausted (nothing pending, no lease held), then seal it here, once, under the workspace lock, with
every worker's WARC file listed: the chain stays linear however many captures seal at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from ..capturing.run import Progress
from ..core.errors import CaptureError, ManifestError, UsageError
from ..core.models import ArchivedResource, CaptureResult, Failure, Role, Skipped, Target, WarcFile
from ..core.settings import CaptureOptions, Settings
from ..core.urls import canonical
from ..core.workspace import Workspace, new_capture_id
from ..fixity.debris import running_capture
from ..fixity.manifest import build_manifest, manifest_of
from ..fixity.seal import seal, signing_key
from ..index.store import index_sealed
from .queue import Queue
from .spec import CaptureSpec, check_options
from .store import Store
from .store_copies import fetch_reported, push_sealed
from .worker import add_target

POLL = 0.2      # seconds between looks at the frontier


def queued_capture(seeds: list[str], workspace: Workspace, queue: Queue, options: CaptureOptions | None = None, *,
                   settings: Settings | None = None, progress: Callable[[Progress], None] | None = None,
                   store: Store | None = None) -> CaptureResult:
    """With ``store`` (checked by the caller), workers put their files there and need no shared folder:
    each is copied here and checked against its report before the manifest names it."""
    settings = settings or Settings()
    options = options or settings.capture
    if not seeds:
        raise UsageError("no URL to capture")
    check_options(options)
    seed_urls = list(dict.fromkeys(canonical(s) for s in seeds))
    workspace.ensure()
    signing_key(workspace, settings.witness_file)
    started = datetime.now(UTC)
    capture_id = new_capture_id(started)
    spec = CaptureSpec(capture_id, "" if store else str(workspace.root.resolve()), tuple(seed_urls), options,
                       store.url if store else None)
    with running_capture(workspace, capture_id):
        queue.open_capture(capture_id, spec.data())
        try:
            for url in seed_urls:
                add_target(queue, capture_id, Target(url, Role.SEED, 0), options.max_resources)
            while not queue.idle(capture_id):
                if progress:
                    reports = queue.results(capture_id)
                    progress(Progress(done=sum(len(r.get("resources", ())) for r in reports)))
                time.sleep(POLL)
            result = _gathered(queue, spec)
            if store is not None:
                fetch_reported(store, workspace, capture_id, result.warc_files)
        except BaseException:       # Ctrl-C while waiting, a report or a stored file that does not check:
            queue.close_capture(capture_id)         # the workers stop claiming it; nothing is sealed
            raise
        manifest = build_manifest(result, started=started, ended=datetime.now(UTC), options=options,
                                  operator=settings.operator, redacted=[])
        sealed = seal(workspace, manifest, witness_file=settings.witness_file,
                      authorities=settings.timestamp_authorities, roots=settings.timestamp_roots)
        index_sealed(workspace, sealed.document or manifest)
        queue.close_capture(capture_id)
    stored = push_sealed(store, workspace, capture_id) if store is not None else ()
    from dataclasses import replace

    return replace(result, manifest_path=workspace.relative(sealed.manifest), warnings=sealed.warnings + stored)


def _gathered(queue: Queue, spec: CaptureSpec) -> CaptureResult:
    """Every worker's report, read back through the manifest's checks."""
    warcs: list[WarcFile] = []
    resources: list[ArchivedResource] = []
    failures: list[Failure] = []
    skipped: list[Skipped] = []
    for i, report in enumerate(queue.results(spec.capture_id)):
        try:
            part = manifest_of({**report, "sequence": 1, "started": "x", "ended": "x"}, f"report {i + 1} in the queue")
        except ManifestError as exc:
            raise CaptureError(f"capture {spec.capture_id}: a worker's report cannot be read: {exc}",
                               capture_id=spec.capture_id) from None
        warcs += part.warc_files
        resources += part.resources
        failures += part.failures
        skipped += part.skipped
    skipped += [Skipped(str(s["url"])[:8192], Role(s["role"]), s.get("via"), str(s["reason"])[:1000])
                for s in queue.skipped(spec.capture_id)]
    archived = {r.url for r in resources}
    problems = [f"{seed}: not captured" for seed in spec.seeds if seed not in archived]
    return CaptureResult(capture_id=spec.capture_id, manifest_path="", seeds=spec.seeds, warc_files=tuple(warcs),
                         resources=tuple(resources), failures=tuple(failures), skipped=tuple(skipped),
                         flags=(), seed_problems=tuple(problems))
