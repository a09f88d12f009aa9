"""The captures pages: the list (``/``), one capture (``/captures/{id}``), its files and its exports.
What they show comes from ``index.catalog``, as ``archiver list`` and ``archiver show`` print it.

A capture's files are served only by the names its own manifest lists (its WARC files) and its
seal files (manifest, checksum list, signature): a name from the request is looked up, never joined
to a path."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..core.errors import NotArchivedError, UsageError
from ..core.models import BrowserRecord, Manifest
from ..index.catalog import CaptureDetail, CaptureSummary, captures_page, show_capture
from .jobs import VerifyState, last_verify
from .pages_view import View, capture_id_of, param

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

PER_PAGE = 50
ROLE_ORDER = {"seed": 0, "source": 1, "requisite": 2, "robots": 3}


@dataclass(frozen=True, slots=True)
class Listed:
    """One capture as the list shows it: what ``index.catalog`` says of it, and its last verify."""

    capture: CaptureSummary
    verify: VerifyState | None

    @property
    def flag_names(self) -> tuple[str, ...]:
        """Its fidelity flags, each once (the catalog lists them as 'flag: url')."""
        return tuple(dict.fromkeys(line.split(":", 1)[0] for line in self.capture.flags))


def routes(view: View) -> list[BaseRoute]:
    def captures(request: Request) -> Response:
        return _captures(view, request)

    def capture(request: Request) -> Response:
        return _capture(view, request)

    def file(request: Request) -> Response:
        return _file(view, request)

    def wacz(request: Request) -> Response:
        return _export(view, request, "wacz")

    def bag(request: Request) -> Response:
        return _export(view, request, "bag")

    def rendered(request: Request) -> Response:
        return _rendered(view, request)

    return [
        view.route("/", captures),
        view.route("/captures/{capture_id}", capture),
        view.route("/captures/{capture_id}/files/{name}", file),
        view.route("/captures/{capture_id}/export.wacz", wacz),
        view.route("/captures/{capture_id}/export-bag.zip", bag),
        view.route("/captures/{capture_id}/rendered/{page:int}/{kind}", rendered),
    ]


# -- the list ------------------------------------------------------------------------------------

def _captures(view: View, request: Request) -> Response:
    page_text = param(request, "page", 10) or "1"
    if not page_text.isdigit() or int(page_text) < 1:
        raise UsageError("the parameter 'page' must be a whole number from 1")
    page = int(page_text)
    ws = view.ctx.workspace
    found = captures_page(ws, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    lines = [Listed(c, last_verify(ws, c.capture_id)) for c in found.captures]
    pages = max(1, -(-found.total // PER_PAGE))
    return view.page(request, "captures.html", lines=lines, total=found.total, page=page, pages=pages,
                     may_write=_may_write(view, request))


def _may_write(view: View, request: Request) -> bool:
    from .security import may_write

    return may_write(request, view.ctx)


# -- one capture ---------------------------------------------------------------------------------

def _capture(view: View, request: Request) -> Response:
    detail = show_capture(view.ctx.workspace, capture_id_of(request))
    m = detail.manifest
    resources = sorted(m.resources, key=lambda r: ROLE_ORDER.get(str(r.role), 9))
    addresses: dict[str, set[str]] = {}
    for r in m.resources:
        if r.remote_address:
            addresses.setdefault(_host(r.url), set()).add(r.remote_address)
    return view.page(request, "capture.html", m=m, capture_id=m.capture_id, resources=resources,
                     addresses={host: sorted(a) for host, a in sorted(addresses.items())},
                     files=_downloads(view, detail), signed=detail.signed,
                     verify=last_verify(view.ctx.workspace, m.capture_id), may_write=_may_write(view, request))


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


@dataclass(frozen=True, slots=True)
class Download:
    name: str               # the last part of its link, /captures/{id}/files/{name}
    what: str
    path: Path | None       # None: listed, but not (or no longer) a file inside the workspace
    bytes: int | None
    sha256: str | None


WHAT = {"warc": "WARC file", "manifest": "manifest", "checksums": "checksum list",
        "signature": "signature of the checksum list", "timestamp": "RFC 3161 timestamp token of the checksum list"}


def _downloads(view: View, detail: CaptureDetail) -> list[Download]:
    """The files of a capture that may be downloaded: those ``index.catalog`` lists (its WARC files
    and seal files) and the WARC files its manifest names for text records, each by its name."""
    out: dict[str, Download] = {}
    for f in detail.files:
        name = PurePosixPath(f.path).name
        out.setdefault(name, Download(name, WHAT.get(f.kind, f.kind), _inside(view, f.path), f.bytes, f.sha256))
    for r in detail.manifest.resources:
        if r.text is not None and r.text.warc:
            name = PurePosixPath(r.text.warc).name
            path = _inside(view, r.text.warc)
            out.setdefault(name, Download(name, "WARC file (text records)", path,
                                          path.stat().st_size if path else None, None))
    return list(out.values())


def _inside(view: View, relative: str) -> Path | None:
    """The file a manifest's relative path names, if it is a file inside the workspace."""
    rel = PurePosixPath(relative)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        return None
    root = view.ctx.workspace.root.resolve()
    path = (root / rel).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


def _file(view: View, request: Request) -> Response:
    from starlette.responses import FileResponse

    detail = show_capture(view.ctx.workspace, capture_id_of(request))
    name = str(request.path_params["name"])
    found = {d.name: d for d in _downloads(view, detail)}.get(name)
    if found is None or found.path is None:
        raise NotArchivedError(f"capture {detail.manifest.capture_id} has no file named {name[:100]!r}")
    kind = ("text/plain; charset=utf-8" if name.endswith((".yaml", ".sha256")) else
            "application/warc" if ".warc" in name else "application/octet-stream")
    inline = kind.startswith("text/")
    return FileResponse(found.path, media_type=kind, filename=name,
                        content_disposition_type="inline" if inline else "attachment",
                        headers={"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"})


# -- what the browser showed ----------------------------------------------------------------------

RENDERED_KINDS = {"screenshot": "image/png", "screenshot-full-page": "image/png", "pdf": "application/pdf"}
MAX_RENDERED_BYTES = 64 * 2**20


def rendered_record(manifest: Manifest, url: str, kind: str) -> tuple[int, BrowserRecord] | None:
    """(the page's place in ``browser_pages``, its record of ``kind``) for a page rendered in the browser."""
    for n, page in enumerate(manifest.browser_pages):
        if page.url == url:
            for record in page.records:
                if record.kind == kind:
                    return n, record
    return None


def _rendered(view: View, request: Request) -> Response:
    """A screenshot or the PDF the browser made of a page (``--browser``), read from its WARC record.
    Only these kinds, each with its own type: the DOM after scripts is archived HTML and is never served
    from the UI's origin (replay serves pages)."""
    from starlette.responses import Response as Plain

    from ..warc.reader import read_block

    detail = show_capture(view.ctx.workspace, capture_id_of(request))
    n, kind = int(request.path_params["page"]), str(request.path_params["kind"])
    pages = detail.manifest.browser_pages
    record = next((r for r in pages[n].records if r.kind == kind), None) if 0 <= n < len(pages) else None
    path = _inside(view, record.warc) if record is not None else None
    if record is None or kind not in RENDERED_KINDS or path is None:
        raise NotArchivedError(f"capture {detail.manifest.capture_id} has no {kind[:40]!r} of a rendered page {n}")
    body = read_block(path, record.offset, record.length, MAX_RENDERED_BYTES)
    return Plain(body, media_type=RENDERED_KINDS[kind], headers={
        "Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline" if kind != "pdf" else f'attachment; filename="{kind}-{n}.pdf"'})


# -- exports -------------------------------------------------------------------------------------

def _export(view: View, request: Request, kind: str) -> Response:
    """A WACZ file or a zipped BagIt bag of one capture, made now in a temporary folder of the
    workspace's state folder, streamed, then removed."""
    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse

    from ..transfer.bag_export import export_bag
    from ..transfer.wacz_export import export_wacz

    capture_id = show_capture(view.ctx.workspace, capture_id_of(request)).manifest.capture_id
    ws = view.ctx.workspace
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=ws.state_dir))
    try:
        if kind == "wacz":
            out = export_wacz(ws, [capture_id], folder / f"{capture_id}.wacz", view.ctx.settings)
            media = "application/wacz"
        else:
            bag = export_bag(ws, [capture_id], folder / f"{capture_id}-bag", view.ctx.settings)
            out = _zip_folder(bag, folder / f"{capture_id}-bag.zip")
            media = "application/zip"
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(out, media_type=media, filename=out.name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def _zip_folder(folder: Path, out: Path) -> Path:
    """``folder`` as a zip file whose entries start with the folder's name (WARC files stored as
    they are: they are compressed already)."""
    with zipfile.ZipFile(out, "x", allowZip64=True) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = f"{folder.name}/{path.relative_to(folder).as_posix()}"
            stored = path.name.endswith(".gz")
            zf.write(path, name, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return out
