"""The commands of the command line: each reads its arguments, calls the library, prints.
Each imports only what it needs, so that ``archiver --help`` and ``archiver lookup`` start fast."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from ..core.errors import ArchiverError, UsageError

MAX_VERIFY_WORKERS = 256


def capture_options(args: argparse.Namespace, base: Any) -> Any:
    """Flags over the workspace settings' capture options."""
    from dataclasses import replace

    from ..core.capture_options import OptionError, parse_size
    from ..net.request_plan import parse_header

    changes: dict[str, Any] = {}
    for flag in ("depth", "max_resources", "timeout", "concurrency", "per_host", "user_agent", "browser", "browser_tabs"):
        value = getattr(args, flag)
        if value is not None:
            changes[flag] = value
    for flag in ("max_bytes", "max_total_bytes"):
        if getattr(args, flag) is not None:
            try:
                changes[flag] = parse_size(getattr(args, flag))
            except UsageError as exc:
                raise UsageError(f"{flag_of(flag)}: {exc}") from None
    if args.exclude:
        changes["exclude"] = tuple(base.exclude) + tuple(args.exclude)
    if args.ignore_robots:
        changes["ignore_robots"] = True
    if args.header:
        changes["headers"] = tuple(base.headers) + tuple(parse_header(h) for h in args.header)
    if args.cookies is not None:
        changes["cookies_file"] = args.cookies
    if args.keep_secrets:
        changes["keep_secrets"] = True
    if getattr(args, "no_dedup", False):
        changes["dedup"] = False
    if getattr(args, "no_conditional", False):
        changes["conditional"] = False
    for flag in ("allow_private", "deny_private", "insecure"):
        if getattr(args, flag, False):
            changes[flag] = True
    try:
        return replace(base, **changes)       # CaptureOptions checks every bound (capture_options.BOUNDS)
    except OptionError as exc:
        raise UsageError(f"{flag_of(exc.option)} {exc.problem}") from None


_FLAGS = {"headers": "--header", "cookies_file": "--cookies"}


def flag_of(option: str) -> str:
    """The command-line flag of a capture option: 'per_host' -> '--per-host'."""
    return _FLAGS.get(option, "--" + option.replace("_", "-"))


def checked_text(what: str, text: str, limit: int = 4096) -> str:
    """``text`` unless it is too long or has a control character: UsageError naming ``what``."""
    from ..core.capture_options import shown, text_problem

    problem = text_problem(text, limit)
    if problem:
        raise UsageError(f"{what} {shown(text)} {problem}")
    return text


def workspace_root(args: argparse.Namespace) -> tuple[Path, bool]:
    """(root, chosen explicitly by -w or ARCHIVER_WORKSPACE)."""
    if args.workspace is not None:
        if not checked_text("--workspace", args.workspace).strip():
            raise UsageError("--workspace names no folder")
        return Path(args.workspace), True
    env = os.environ.get("ARCHIVER_WORKSPACE")
    if env:
        return Path(checked_text("ARCHIVER_WORKSPACE", env)), True
    return Path.cwd(), False


def moment_of(flag: str, text: str | None) -> Any:
    """The moment given with ``flag`` (an aware UTC datetime), or None; UsageError naming the flag."""
    from ..core.moments import parse_moment

    if text is None:
        return None
    try:
        return parse_moment(text)
    except UsageError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def run_capture(urls: list[str], root: Path, args: argparse.Namespace) -> Any:
    from ..capturing.progress import TerminalProgress
    from ..capturing.run import capture
    from ..core.settings import load_settings
    from ..core.workspace import Workspace

    settings = load_settings(root)
    options = capture_options(args, settings.capture)
    from .distributed_commands import queue_of

    if queue_url := queue_of(args, settings):
        from .distributed_commands import run_queued_capture

        return run_queued_capture(urls, root, options, settings, queue_url, getattr(args, "store", None),
                                  detach=args.detach, outage_limit=args.outage_limit)
    if getattr(args, "store", None):
        raise UsageError(f"--store {args.store}: a store is for captures handed to workers; add --queue REDIS_URL")
    progress = TerminalProgress()
    try:
        return capture(urls, Workspace(root), options, settings=settings, progress=progress)
    finally:
        progress.clear()


def cmd_capture(args: argparse.Namespace) -> int:
    root, _ = workspace_root(args)
    result = run_capture(args.urls, root, args)
    if isinstance(result, str):          # --detach: queued; a worker seals it
        print(json.dumps({"capture_id": result, "queued": True}) if args.json else
              f"capture {result} queued; a worker seals it ('archiver workers' shows it)")
        return 0
    print_result(result, args.json)
    if not result.ok:
        raise ArchiverError(f"not every seed was captured: {result.seed_problems[0]}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile
    from contextlib import ExitStack

    from ..core.interrupts import temporary_folder
    from ..demo.guide import DemoPlan
    from ..demo.sample import SERVE_PORT, sample_site

    root, explicit = workspace_root(args)
    with ExitStack() as stack:      # on any exit: the site stops, then a temporary workspace is removed
        if not explicit:
            root = Path(tempfile.mkdtemp(prefix="archiver-demo-")) if args.keep else \
                stack.enter_context(temporary_folder("archiver-demo-"))
        plan = DemoPlan(root, kept=explicit or args.keep, serving=args.serve)
        port = (SERVE_PORT if args.site_port is None else args.site_port) if args.serve else 0
        if not 0 <= port <= 65535:
            raise UsageError(f"--site-port must be from 0 to 65535, not {port}")
        if args.site_port is not None and not args.serve:
            raise UsageError("--site-port goes with --serve (without it the demo's site takes any free ports)")
        try:
            site = stack.enter_context(sample_site(port=port))
        except OSError as e:
            raise UsageError(f"cannot serve the sample site on port {port} of 127.0.0.11-15 ({e.strerror or e}): "
                             "--site-port PORT picks another (0: any free port)") from None
        shown: list[bool] = []      # set once the site's addresses and "until Ctrl-C" are being printed
        try:
            _show_demo(plan, site, args.json, shown)
            if args.serve:
                _serve_until_interrupted()
        except KeyboardInterrupt:
            if not (args.serve and shown):   # Ctrl-C while serving, however soon after the lines: the way to end it
                raise
    if args.serve:
        print(f"archiver: demo ended: the sample site stopped{'' if plan.kept else f'; {root} removed'}",
              file=sys.stderr)
    return 0


def _show_demo(plan: Any, site: Any, as_json: bool, shown: list[bool]) -> None:
    from ..demo.guide import citation_note, next_commands, next_text, site_lines, workspace_line
    from ..demo.run import run_demo

    report = run_demo(plan.workspace, site)
    commands = next_commands(plan, site, report.result.capture_id)
    if report.ok:
        shown.append(True)
    if as_json:
        data = report.as_json() | {"workspace_kept": plan.kept, "next": [c for c, _ in commands]}
        if plan.serving:
            data["sample_site"] = {h.name: site.origin(h.name) + "/" for h in site.hosts.values() if h.listening}
        print(json.dumps(data, indent=2))
    else:
        parts = [report.text(), "", citation_note(plan), workspace_line(plan)]
        if plan.serving and report.ok:
            parts += ["", *site_lines(site)]
        print("\n".join([*parts, "", next_text(commands)]))
    sys.stdout.flush()
    if not report.ok:
        raise ArchiverError(f"demo failed: {report.problems[0]}")


def _serve_until_interrupted() -> None:
    import time

    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:           # Ctrl-C or SIGTERM: the way to end --serve, not a failure
        pass


def print_result(result: Any, as_json: bool) -> None:
    from ..capturing.summary import summary_json, summary_text

    print(json.dumps(summary_json(result) | {"warnings": list(result.warnings)}, indent=2) if as_json
          else summary_text(result))
    for warning in result.warnings:         # e.g. no timestamp token yet: the capture is sealed all the same
        print(f"archiver: warning: {warning}", file=sys.stderr)


def _witness_file(root: Path) -> Path | None:
    from ..core.settings import load_settings

    return load_settings(root).witness_file


def _tsa_roots(root: Path, given: list[str] | None) -> tuple[Path, ...]:
    """verify's timestamp roots: --tsa-root files (each must be a file), else archiver.yaml's timestamp_roots."""
    from ..core.settings import load_settings

    for name in given or []:
        if not Path(name).is_file():
            raise UsageError(f"--tsa-root {name}: no such file")
    return tuple(Path(name) for name in given) if given else load_settings(root).timestamp_roots


def cmd_verify(args: argparse.Namespace) -> int:
    import re

    from ..fixity.verify import verify

    if args.workers is not None and not 1 <= args.workers <= MAX_VERIFY_WORKERS:
        raise UsageError(f"--workers must be 1 to {MAX_VERIFY_WORKERS}, not {args.workers}")
    trusted = Path(args.trusted_key) if args.trusted_key else None
    if trusted is not None and not trusted.is_file():
        raise UsageError(f"--trusted-key {trusted}: no such file")
    expect = args.expect_head.lower().removeprefix("sha256:") if args.expect_head else None
    if expect is not None and not re.fullmatch(r"[0-9a-f]{64}", expect):
        raise UsageError(f"--expect-head must be a manifest's sha256 (64 hex digits), not {args.expect_head!r}")
    if len(args.capture_ids) == 1 and Path(args.capture_ids[0]).suffix.lower() in (".wacz", "") \
            and Path(args.capture_ids[0]).exists():                  # a package, not a capture id
        from .package_commands import verify_package

        return verify_package(args, trusted, expect)
    ws = existing_workspace(args)
    accept = args.accept_key.lower() if args.accept_key else None
    if accept is not None and not re.fullmatch(r"sha256:[0-9a-f]{64}", accept):
        raise UsageError(f"--accept-key must be a key fingerprint (sha256: and 64 hex digits), not {args.accept_key!r}")
    if accept is not None:
        from ..fixity.signing import fingerprint, load_public_key

        current = fingerprint(load_public_key(ws.public_key_path)) if ws.public_key_path.exists() else None
        if accept != current:
            raise UsageError(f"--accept-key {accept} is not the workspace's public key ({current or 'none'})")
    roots = _tsa_roots(ws.root, args.tsa_root)
    from .distributed_commands import checked_store, store_copies

    store = checked_store(args.store) if args.store else None    # before any hashing: a bad URL or bucket is exit 2
    report = verify(ws, args.capture_ids or None, quick=args.quick, trusted_key=trusted, workers=args.workers,
                    witness_file=_witness_file(ws.root), expect_head=expect, accept_key=accept, tsa_roots=roots)
    from .output import verify_json, verify_text

    stored = store_copies(ws, store, report, args.capture_ids) if store is not None else None
    print(json.dumps({**verify_json(report), **({"store": stored.as_json()} if stored else {})}, indent=2)
          if args.json else verify_text(report) + (f"\n{stored.line()}" if stored else ""))
    return 0 if report.ok else 1


def cmd_head(args: argparse.Namespace) -> int:
    from ..fixity.seal import find_head

    ws = existing_workspace(args)
    head = find_head(ws)
    if head is None:
        raise ArchiverError("no capture has been sealed in this workspace yet")
    if args.json:
        print(json.dumps({"capture_id": head.capture_id, "sequence": head.sequence, "sha256": head.sha256}, indent=2))
    else:
        print(f"capture {head.capture_id}, sequence {head.sequence}, sha256 {head.sha256}")
    return 0


def existing_workspace(args: argparse.Namespace) -> Any:
    """The workspace that -w, $ARCHIVER_WORKSPACE or the current folder names; a UsageError (exit 2),
    one line naming the folder, unless it is one: commands that read a workspace never make one."""
    from ..core.workspace import MANIFESTS_DIR, Workspace

    root, _ = workspace_root(args)
    if not root.exists():
        raise UsageError(f"workspace {root} does not exist")
    if not (root / MANIFESTS_DIR).is_dir():
        raise UsageError(f"{root} is not an archiver workspace (no {MANIFESTS_DIR}/ folder; "
                         "archiver capture or archiver import makes one)")
    return Workspace(root)


def cmd_lookup(args: argparse.Namespace) -> int:
    from ..core.urls import canonical
    from ..index.store import Index, Memento

    ws = existing_workspace(args)
    url = canonical(args.url)
    at = moment_of("--at", args.at)
    found: list[tuple[Memento, float | None]]
    with Index.open(ws) as index:
        if at is None:
            found = [(m, None) for m in index.timemap(url)]
        else:
            nearest = index.nearest(url, at)
            found = [nearest] if nearest else []
    from .output import lookup_json, lookup_text

    print(json.dumps(lookup_json(url, at, found), indent=2) if args.json else lookup_text(url, at, found))
    if not found:
        raise ArchiverError(f"{url} has not been captured in this workspace")
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    from ..citing.citations import cite
    from ..core.settings import load_settings

    ws = existing_workspace(args)
    at = moment_of("--at", args.at)
    out = output_path(args.output) if args.output is not None else None
    settings = load_settings(ws.root)
    render = style_renderer(args.style, settings, ws.root)
    from .cite_fields import checked_sets, keep_sets, warn_about

    changes = checked_sets(args.set)
    if changes is not None:
        keep_sets(ws, args.targets, changes, at)
    items = cite(ws, args.targets, at=at, settings=settings)
    text = render(items)
    warn_about(ws, items)
    note_local_copies(settings)
    if out is not None:
        from ..core.workspace import atomic_write

        atomic_write(out.resolve(), text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return 0


def style_renderer(asked: str | None, settings: Any, root: Path) -> Any:
    """The renderer of --style, else of citation_style in archiver.yaml (a relative .csl path there is
    relative to the workspace), checked before anything is cited."""
    from ..citing.formats import renderer

    if asked is not None:
        return renderer(checked_text("--style", asked, 4096))
    style = settings.citation_style
    if ("/" in style or style.lower().endswith(".csl")) and not Path(style).expanduser().is_absolute():
        style = str(root / style)
    try:
        return renderer(style)
    except UsageError as exc:
        raise UsageError(f"citation_style in archiver.yaml: {exc}") from None


def note_local_copies(settings: Any) -> None:
    """One line on stderr when the citations name archived copies on this machine (the default)."""
    from ..citing.citations import copies_are_local

    if copies_are_local(settings):
        print("archiver: note: these citations name archived copies on localhost (archiver serve on this "
              "machine), which no reader of a publication can open: set public_url in archiver.yaml to "
              "where the archive is published", file=sys.stderr)


def cmd_search(args: argparse.Namespace) -> int:
    from ..core.capture_options import OptionError, check_bound
    from ..index.store import Index

    try:
        check_bound("search_limit", args.limit)
    except OptionError as exc:
        raise UsageError(f"--limit {exc.problem}") from None
    checked_text("the search words", args.query, 1000)
    ws = existing_workspace(args)
    with Index.open(ws) as index:
        hits = index.search(args.query, args.limit)
    if args.cite:
        from ..citing.citations import citation_data, with_overrides
        from ..core.settings import load_settings

        settings = load_settings(ws.root)
        render = style_renderer(args.cite, settings, ws.root)
        sys.stdout.write(render(with_overrides(ws, [citation_data(m, settings) for m, _, _ in hits])) if hits else "")
        if hits:
            note_local_copies(settings)
    else:
        from .output import search_json, search_text

        print(json.dumps(search_json(args.query, hits), indent=2) if args.json else search_text(args.query, hits))
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from ..index.store import rebuild

    ws = existing_workspace(args)
    count = rebuild(ws)
    print(f"index rebuilt from {count} manifest(s): {ws.relative(ws.state_dir / 'index.sqlite')}")
    warn_left_out(ws)
    return 0


def warn_left_out(ws: Any) -> None:
    """What the index could not hold of sealed manifests (odd values): one warning line each, on stderr."""
    from ..watch.report import left_out, left_out_text

    for line in left_out_text(left_out(ws)):
        print(f"warning: {line}", file=sys.stderr)


_CAPTURE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def output_path(text: str) -> Path:
    """The file named by -o/--output: UsageError if it is empty or has control characters."""
    if not checked_text("--output", text).strip():
        raise UsageError("--output names no file")
    return Path(text)


def cmd_export(args: argparse.Namespace) -> int:
    from ..core.settings import load_settings
    from ..transfer.selection import select_captures

    ws = existing_workspace(args)
    out = output_path(args.output)
    for capture_id in args.capture_ids:
        if not _CAPTURE_ID.fullmatch(capture_id):
            raise UsageError(f"not a capture id: {capture_id[:100]!r} (e.g. 20261129T150447Z-bce0ff)")
    since = moment_of("--since", args.since)
    if args.format == "cdxj" and not (args.capture_ids or args.every or since):
        chosen = None                   # the whole index, as before --all existed
    else:
        chosen = select_captures(ws, args.capture_ids, every=args.every, since=since)
    if args.format == "cdxj":
        from ..transfer.cdxj import write_cdxj

        count = write_cdxj(ws, out, chosen)
        print(f"{count} CDXJ lines written to {out}")
        return 0
    assert chosen is not None
    settings = load_settings(ws.root)
    if args.format == "wacz":
        from ..transfer.wacz_export import export_wacz

        written = export_wacz(ws, chosen, out, settings)
    else:
        from ..transfer.bag_export import export_bag

        written = export_bag(ws, chosen, out, settings)
    print(f"{args.format}: {written} ({len(chosen)} capture{'s' if len(chosen) != 1 else ''})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from ..core.settings import load_settings
    from ..core.workspace import Workspace
    from ..transfer.importer import AlreadyImported, import_archive

    root, _ = workspace_root(args)
    source = Path(args.file)
    if not source.is_file() and not (source / "bagit.txt").is_file():      # a bag archiver exported is a folder
        raise UsageError(f"{source}: no such file")
    try:
        result = import_archive(Workspace(root), source, load_settings(root), lenient=args.lenient)
    except AlreadyImported as same:             # nothing written: not a failure
        print(json.dumps({"file": str(source), "already_imported_as": same.capture_id}, indent=2)
              if args.json else str(same))
        return 0
    if not args.json:
        from .output import package_import_text

        text = package_import_text(Workspace(root), result.capture_id, source.name)
        if text is not None:                     # an archiver package: its captures kept as they were
            print(text)
            return 0
    print_result(result, args.json)
    return 0
