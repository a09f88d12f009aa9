"""What a capture tells its workers (``CaptureSpec``, JSON in Redis) and what a worker tells back
(a partial manifest: its WARC file and what it holds, read back with the manifest's own checks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.capture_options import CaptureOptions
from ..core.errors import ManifestError, UsageError
from ..core.models import ArchivedResource, BrowserPage, Failure, Manifest, PageFlag, Role, ServerSeen, Skipped, WarcFile
from ..core.store_url import check_store_url
from ..page.fidelity import broken_requisites

MAX_URL = 65_536      # characters of a URL read back from the queue

# the options a worker needs (bounds checked by CaptureOptions when read back); cookies stay on one machine
SHARED = ("depth", "exclude", "max_resources", "max_bytes", "timeout", "per_host", "user_agent", "ignore_robots",
          "headers", "max_redirects", "compress_level", "allow_private", "deny_private", "insecure", "dedup",
          "conditional", "browser", "browser_tabs")


@dataclass(frozen=True, slots=True)
class CaptureSpec:
    capture_id: str
    workspace: str          # the queuing workspace: every worker reaches it (a shared filesystem), or with a
                            # store only the workers that may seal it do (an older archiver wrote "" then)
    seeds: tuple[str, ...]
    options: CaptureOptions
    store: str | None = None    # where workers put their WARC files instead (distributed.store)

    def data(self) -> dict[str, Any]:
        opts = {name: getattr(self.options, name) for name in SHARED}
        return {"capture_id": self.capture_id, "workspace": self.workspace, "seeds": list(self.seeds),
                "options": opts, **({"store": self.store} if self.store else {})}

    @classmethod
    def of(cls, data: Any) -> CaptureSpec:
        """Read back, bounds checked by CaptureOptions; UsageError when the queue holds something else."""
        try:
            opts = dict(data["options"])
            if set(opts) - set(SHARED):
                raise ValueError(f"unknown options {sorted(set(opts) - set(SHARED))}")
            opts["exclude"] = tuple(opts["exclude"])
            opts["headers"] = tuple(tuple(h) for h in opts["headers"])
            store = check_store_url(data["store"]) if data.get("store") is not None else None
            if not store and not data["workspace"]:
                raise ValueError("it names neither a workspace nor a store")
            return cls(str(data["capture_id"]), str(data["workspace"]), tuple(str(s) for s in data["seeds"]),
                       CaptureOptions(**opts), store)
        except (KeyError, TypeError, ValueError, UsageError) as exc:
            raise UsageError(f"a capture in the queue has a spec this archiver cannot read: {exc}") from None


def check_options(options: CaptureOptions) -> None:
    """Refuse what workers cannot do in this version, before anything is queued."""
    if options.cookies_file:
        raise UsageError("--cookies is not sent to workers (it would put secrets in Redis): capture without --queue")


def partial_manifest(spec: CaptureSpec, warc: WarcFile, resources: list[ArchivedResource],
                     failures: list[Failure], skipped: list[Skipped], flags: list[PageFlag] | None = None,
                     browser_pages: list[BrowserPage] | None = None,
                     servers: tuple[ServerSeen, ...] = ()) -> Manifest:
    return Manifest(capture_id=spec.capture_id, seeds=spec.seeds, started="", ended="", software={}, settings={},
                    warc_files=(warc,), resources=tuple(resources), failures=tuple(failures),
                    skipped=tuple(skipped), flags=tuple(flags or ()), browser_pages=tuple(browser_pages or ()),
                    servers=servers)


def report_pages(report: dict[str, Any], resources: int) -> list[str]:
    """The URLs a worker parsed as pages (read from the queue: checked, at most one per resource)."""
    pages = report.get("pages", [])
    if not isinstance(pages, list) or len(pages) > resources or \
            not all(isinstance(p, str) and len(p) <= MAX_URL for p in pages):
        raise ManifestError("field 'pages' is not a list of the URLs of its resources")
    return pages


def requisite_flags(pages: list[str], resources: list[ArchivedResource], failures: list[Failure]) -> list[PageFlag]:
    """``requisites-failed`` over the whole capture: a page's requisites may come from any worker
    (the workers flag what needs only the page themselves)."""
    roles = {r.url: r.role for r in resources}
    broken = broken_requisites(set(pages), resources, failures)
    return [flag for url in dict.fromkeys(pages) if roles.get(url) in (Role.SEED, Role.SOURCE)
            for flag in broken.get(url, [])]
