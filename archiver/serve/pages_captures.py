"""The captures pages: the list (``/``), one capture (``/captures/{id}``), its files and its exports.

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

from ..core.errors import ManifestError, NotArchivedError, UsageError
from ..core.models import Manifest
from ..index.store import Index
from .jobs import VerifyState, last_verify
from .pages_view import View, capture_id_of, param

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import BaseRoute

PER_PAGE = 50
ROLE_ORDER = {"seed": 0, "source": 1, "requisite": 2, "robots": 3}


@dataclass(frozen=True, slots=True)
class CaptureLine:
    """One capture as the list shows it."""

    capture_id: str
    started: str | None
    ended: str | None
    seeds: tuple[str, ...]
    resources: int
    failures: int
    flags: tuple[str, ...]          # fidelity flags, each once
    signed: bool
    ok: bool                        # every seed was captured
    warc_bytes: int
    verify: VerifyState | None
    problem: str | None = None      # the manifest could not be read


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

    return [
        view.route("/", captures),
        view.route("/captures/{capture_id}", capture),
        view.route("/captures/{capture_id}/files/{name}", file),
        view.route("/captures/{capture_id}/export.wacz", wacz),
        view.route("/captures/{capture_id}/export-bag.zip", bag),
    ]


# -- the list ------------------------------------------------------------------------------------

def _captures(view: View, request: Request) -> Response:
    page_text = param(request, "page", 10) or "1"
    if not page_text.isdigit() or int(page_text) < 1:
        raise UsageError("the parameter 'page' must be a whole number from 1")
    page = int(page_text)
    ws = view.ctx.workspace
    with Index.open(ws) as index:
        rows = index.captures()[::-1]
        left_out = [(cid, reason) for cid, item, reason in index.left_out() if item == "capture"]
    shown = rows[(page - 1) * PER_PAGE: page * PER_PAGE]
    lines = [capture_line(view, row.capture_id) for row in shown]
    pages = max(1, -(-len(rows) // PER_PAGE))
    return view.page(request, "captures.html", lines=lines, total=len(rows), page=page, pages=pages,
                     left_out=left_out if page == 1 else [], may_write=_may_write(view, request))


def capture_line(view: View, capture_id: str) -> CaptureLine:
    ws = view.ctx.workspace
    verify = last_verify(ws, capture_id)
    try:
        m = read(view, capture_id)
    except (ManifestError, NotArchivedError) as exc:
        return CaptureLine(capture_id, None, None, (), 0, 0, (), False, False, 0, verify, problem=str(exc))
    return CaptureLine(capture_id, m.started, m.ended, m.seeds, len(m.resources), len(m.failures),
                       tuple(dict.fromkeys(f.flag for f in m.flags)), signed(view, capture_id), not m.seed_problems,
                       m.warc_bytes, verify)


def read(view: View, capture_id: str) -> Manifest:
    from ..fixity.manifest import read_manifest

    path = view.ctx.workspace.manifest_path(capture_id)
    if not path.is_file():
        raise NotArchivedError(f"no capture {capture_id} in this workspace")
    return read_manifest(path)


def signed(view: View, capture_id: str) -> bool:
    return view.ctx.workspace.signature_path(capture_id).is_file()


def _may_write(view: View, request: Request) -> bool:
    from .security import may_write

    return may_write(request, view.ctx)


# -- one capture ---------------------------------------------------------------------------------

def _capture(view: View, request: Request) -> Response:
    capture_id = capture_id_of(request)
    m = read(view, capture_id)
    resources = sorted(m.resources, key=lambda r: ROLE_ORDER.get(str(r.role), 9))
    addresses: dict[str, set[str]] = {}
    for r in m.resources:
        if r.remote_address:
            addresses.setdefault(_host(r.url), set()).add(r.remote_address)
    return view.page(request, "capture.html", m=m, capture_id=capture_id, resources=resources,
                     addresses={host: sorted(a) for host, a in sorted(addresses.items())},
                     files=_downloads(view, capture_id, m), signed=signed(view, capture_id),
                     verify=last_verify(view.ctx.workspace, capture_id), may_write=_may_write(view, request))


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).netloc or url
    except ValueError:
        return url


@dataclass(frozen=True, slots=True)
class Download:
    name: str           # the last part of its link, /captures/{id}/files/{name}
    what: str
    path: Path
    bytes: int | None
    sha256: str | None


def _downloads(view: View, capture_id: str, m: Manifest) -> list[Download]:
    """The files of a capture that may be downloaded: its WARC files (as the manifest lists them,
    and the files holding its text records) and its seal files, each inside the workspace."""
    ws = view.ctx.workspace
    out: dict[str, Download] = {}
    for w in m.warc_files:
        path = _inside(view, w.path)
        if path is not None:
            out.setdefault(path.name, Download(path.name, "WARC file", path, w.bytes, w.sha256))
    for r in m.resources:
        if r.text is not None and r.text.warc:
            path = _inside(view, r.text.warc)
            if path is not None:
                out.setdefault(path.name, Download(path.name, "WARC file (text records)", path, None, None))
    for path, what in ((ws.manifest_path(capture_id), "manifest"), (ws.checksum_path(capture_id), "checksum list"),
                       (ws.signature_path(capture_id), "signature of the checksum list")):
        if path.is_file():
            out.setdefault(path.name, Download(path.name, what, path, path.stat().st_size, None))
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

    capture_id = capture_id_of(request)
    name = str(request.path_params["name"])
    found = {d.name: d for d in _downloads(view, capture_id, read(view, capture_id))}.get(name)
    if found is None:
        raise NotArchivedError(f"capture {capture_id} has no file named {name[:100]!r}")
    kind = ("text/plain; charset=utf-8" if name.endswith((".yaml", ".sha256")) else
            "application/warc" if ".warc" in name else "application/octet-stream")
    inline = kind.startswith("text/")
    return FileResponse(found.path, media_type=kind, filename=name,
                        content_disposition_type="inline" if inline else "attachment",
                        headers={"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"})


# -- exports -------------------------------------------------------------------------------------

def _export(view: View, request: Request, kind: str) -> Response:
    """A WACZ file or a zipped BagIt bag of one capture, made now in a temporary folder of the
    workspace's state folder, streamed, then removed."""
    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse

    from ..transfer.bag_export import export_bag
    from ..transfer.wacz_export import export_wacz

    capture_id = capture_id_of(request)
    read(view, capture_id)
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
