"""``archiver timestamp [CAPTURE_ID ...] [--json]``: ask the authorities for the tokens sealed captures
still lack (fixity.timestamps.stamp_missing), and say what was stored and what could not be had."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from ..core.errors import ManifestError, UsageError
from .commands import existing_workspace

if TYPE_CHECKING:
    from ..fixity.timestamps import Stamp


def cmd_timestamp(args: argparse.Namespace) -> int:
    from ..core.settings import load_settings
    from ..fixity.manifest import read_manifest
    from ..fixity.timestamps import stamp_missing

    ws = existing_workspace(args)
    settings = load_settings(ws.root)
    manifests = {}
    for path in ws.manifest_paths():
        try:
            manifest = read_manifest(path)
        except ManifestError as exc:
            print(f"archiver: warning: skipped: {exc}", file=sys.stderr)
            continue
        manifests[manifest.capture_id] = manifest
    listing = any(m.timestamp_authorities for m in manifests.values())
    if not settings.timestamp_authorities and not listing:
        raise UsageError("no timestamp authority is configured: add timestamp_authority: URL to archiver.yaml")
    stamps = stamp_missing(ws, manifests, args.capture_ids or None, settings.timestamp_authorities,
                           settings.timestamp_roots)
    failed = [s for s in stamps if s.problem is not None]
    if args.json:
        print(json.dumps({"asked": len(stamps), "stored": len(stamps) - len(failed),
                          "stamps": [s.as_json() for s in stamps]}, indent=2))
    else:
        print(_text(stamps, len(args.capture_ids or manifests)))
    return 1 if failed else 0


def _text(stamps: list[Stamp], captures: int) -> str:
    if not stamps:
        return f"nothing to ask: every one of {captures} capture(s) has the tokens it should have"
    lines = []
    for s in stamps:
        if s.problem is None and s.info is None:
            lines.append(f"capture {s.capture_id}: token from {s.authority}: stored meanwhile by another process ({s.path})")
        elif s.problem is None and s.info is not None:
            lines.append(f"capture {s.capture_id}: token from {s.authority} stored as {s.path} "
                         f"({s.info.gen_time:%Y-%m-%d %H:%M:%S} UTC by {s.info.tsa}, serial {s.info.serial})")
        else:
            lines.append(f"capture {s.capture_id}: no token from {s.authority}: {s.problem}")
    stored = sum(1 for s in stamps if s.problem is None)
    lines.append(f"{stored} of {len(stamps)} token(s) stored")
    return "\n".join(lines)
