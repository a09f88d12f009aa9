"""The commands that keep watch: schedule add, list and remove, run, report."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

from ..core.errors import UsageError
from .commands import checked_text, existing_workspace, moment_of, warn_left_out, workspace_root

MAX_VERIFY_WORKERS = 256
NOTHING_DUE = {"schedule": None, "capture_id": None, "ok": True, "detail": "nothing due"}


def _schedule_names(root: Path) -> list[str]:
    """The schedules' names in the settings file (refused if the file is not valid now)."""
    from ..core.settings import load_settings

    return [sc.name for sc in load_settings(root).schedules]


def _schedule_when(args: argparse.Namespace) -> None:
    """UsageError naming --every, --cron or --timezone unless they make a schedule."""
    from ..core.schedule_times import When, check_timezone, parse_interval

    for flag, value, check in (("--every", args.every, parse_interval), ("--timezone", args.timezone, check_timezone),
                               ("--cron", args.cron, lambda c: When(cron=c))):
        if value is not None:
            try:
                check(value)
            except UsageError as exc:
                raise UsageError(f"{flag}: {exc}") from None


def _schedule_name(args: argparse.Namespace, first_url: str) -> str:
    import re as _re

    from ..core.settings import schedule_name_problem
    from ..core.urls import parse_http_url

    if args.name is not None:
        problem = schedule_name_problem(args.name)
        if problem:
            raise UsageError(f"--name {problem}")
        return str(args.name)
    parsed = parse_http_url(first_url)
    return _re.sub(r"[^A-Za-z0-9._-]+", "-", parsed.host + parsed.target).strip("-")[:64] or "schedule"


def cmd_schedule_add(args: argparse.Namespace) -> int:
    from ..core.capture_options import CaptureOptions, OptionError
    from ..core.urls import canonical

    root, _ = workspace_root(args)
    urls = [canonical(u) for u in args.urls]
    _schedule_when(args)
    if args.depth is not None:
        try:
            CaptureOptions(depth=args.depth)
        except OptionError as exc:
            raise UsageError(f"--depth {exc.problem}") from None
    name = _schedule_name(args, urls[0])
    entry: dict[str, Any] = {"name": name, "urls": urls}
    entry.update({"every": args.every} if args.every else {"cron": args.cron, "timezone": args.timezone})
    if args.depth is not None:
        entry["capture"] = {"depth": args.depth}
    if args.no_conditional:
        entry.setdefault("capture", {})["conditional"] = False
    from ..core.settings_file import edited_settings

    exists = UsageError(f"a schedule named {name!r} exists already (remove it first, or choose --name)")
    if name in _schedule_names(root):      # before the workspace is made: a refusal changes nothing
        raise exists
    with edited_settings(root) as data:    # comments, layout and mode kept; under the settings lock
        if name in _schedule_names(root):
            raise exists
        data.setdefault("schedules", []).append(entry)
    if args.cron:                          # due at its first fire time after now, whoever looks next
        from datetime import UTC, datetime

        from ..core.settings import load_settings
        from ..core.workspace import Workspace
        from ..watch.runs import note_added

        added = next(s for s in load_settings(root).schedules if s.name == name)
        note_added(Workspace(root), added, datetime.now(UTC))
    print(f"schedule {name}: {len(urls)} URL(s), " + (f"every {args.every}" if args.every else f"cron {args.cron!r} ({args.timezone})"))
    return 0


def cmd_schedule_remove(args: argparse.Namespace) -> int:
    from ..core.errors import NotArchivedError
    from ..core.settings_file import edited_settings, remove_entry

    root = existing_workspace(args).root
    with edited_settings(root) as data:    # comments, layout and mode kept; under the settings lock
        names = _schedule_names(root)
        if args.name not in names:         # not found: exit 1, as for a URL or capture id
            raise NotArchivedError(f"no schedule named {args.name!r}", target=args.name)
        remove_entry(data, "schedules", names.index(args.name))
    print(f"schedule {args.name} removed (its captures stay in the workspace)")
    return 0


def cmd_schedule_list(args: argparse.Namespace) -> int:
    from datetime import datetime

    from ..core.settings import load_settings
    from ..watch.runs import states

    ws = existing_workspace(args)
    settings = load_settings(ws.root)
    now = datetime.now(UTC)
    found = states(ws, settings, now) if settings.schedules else []
    rows: list[dict[str, Any]] = [{"name": st.schedule.name, "urls": list(st.schedule.urls), "urls_file": st.schedule.urls_file,
             "every": st.schedule.when.spelled or str(st.schedule.when.every) if st.schedule.when.every else None,
             "cron": st.schedule.when.cron, "timezone": st.schedule.when.timezone,
             "last_run": st.last_run.strftime("%Y-%m-%dT%H:%M:%SZ") if st.last_run else None,
             "last_outcome": st.last_outcome, "failures_in_a_row": st.failures,
             "next_due": st.next_due.strftime("%Y-%m-%dT%H:%M:%SZ")} for st in found]
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("no schedules (archiver schedule add URL --every 6h)")
    else:
        for st, r in zip(found, rows, strict=True):
            last = f"{r['last_run']} ({r['last_outcome']})" if r["last_run"] else "never"
            print(f"{r['name']}: {len(r['urls'])} URL(s), {st.schedule.when}; last run {last}; next due {r['next_due']}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import signal

    from ..core.settings import load_settings
    from ..watch.runs import run_due, run_lock, watch
    from .distributed_commands import queue_of, run_due_queued

    ws = existing_workspace(args)
    settings = load_settings(ws.root)
    if args.no_conditional:                # this run only: the schedules' settings stay as they are
        from dataclasses import replace

        settings = replace(settings, schedules=tuple(replace(s, options=replace(s.options, conditional=False))
                                                     for s in settings.schedules))
    queue_url = queue_of(args, settings)

    def due(ws: Any, settings: Any, now: Any = None, stop: Any = lambda: False) -> Any:
        if queue_url:                      # the due schedules go to the pool (docs/distributed.md)
            return run_due_queued(ws, settings, queue_url, stop, now, args.outage_limit)
        return run_due(ws, settings, now, stop)

    def show(outcomes: list[Any]) -> None:
        for o in outcomes:
            if args.json:
                print(json.dumps({"schedule": o.schedule, "capture_id": o.capture_id, "ok": o.ok, "detail": o.detail}))
            else:
                print(f"{o.schedule}: {'ok' if o.ok else 'FAILED'}, capture {o.capture_id or '-'} ({o.detail})")
        sys.stdout.flush()

    with run_lock(ws):
        if not args.watch:
            outcomes = due(ws, settings)
            show(outcomes)
            if not outcomes:               # --json: one line of the same keys, so that a run always says something
                print(json.dumps(NOTHING_DUE) if args.json else "nothing due")
            return 0 if all(o.ok for o in outcomes) else 1
        stopping = {"now": False}

        def stop_handler(signum: int, frame: object) -> None:
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop_handler)
        signal.signal(signal.SIGINT, stop_handler)
        watch(ws, settings, stop=lambda: stopping["now"], report=show, due=due)
        print("stopped", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ..core.settings import load_settings
    from ..watch.report import drift_report, report_json, report_text

    ws = existing_workspace(args)
    since = None
    if args.since is not None:
        from ..core.moments import iso

        since = iso(moment_of("--since", args.since))
    settings = load_settings(ws.root)
    style = checked_text("--style", args.style, 4096) if args.style is not None else settings.citation_style
    if args.style is None and ("/" in style or style.lower().endswith(".csl")) and not Path(style).is_absolute():
        style = str(ws.root / style)            # a .csl file archiver.yaml names: relative to the workspace
    lines = drift_report(ws, settings, since=since, style=style)
    print(json.dumps(report_json(lines), indent=2, ensure_ascii=False) if args.json else report_text(lines))
    warn_left_out(ws)
    return 0
