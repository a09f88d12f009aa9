"""``archiver clean``: remove the debris of killed captures (archiver.fixity.debris), saying what."""

from __future__ import annotations

import argparse
import json

from .commands import existing_workspace


def cmd_clean(args: argparse.Namespace) -> int:
    from ..fixity.debris import clean

    ws = existing_workspace(args)
    done = clean(ws, dry_run=args.dry_run, unsealed=args.unsealed)
    if args.json:
        print(json.dumps({"dry_run": done.dry_run, "bytes": done.bytes,
                          "removed": [{"path": d.path, "what": d.what, "bytes": d.bytes} for d in done.removed],
                          "kept": [{"path": k.path, "why": k.why} for k in done.kept]}, indent=2))
        return 0
    verb = "would remove" if done.dry_run else "removed"
    for item in done.removed:
        print(f"{verb}  {item.path}{'/' if item.folder else ''}  ({item.what}, {item.bytes} bytes)")
    for kept in done.kept:
        print(f"kept  {kept.path}  ({kept.why})")
    if not done.removed:
        print("nothing to clean: no debris of killed captures" + (" (dry run)" if done.dry_run else ""))
    else:
        print(f"{len(done.removed)} item(s), {done.bytes} bytes {verb}"
              + ("; run without --dry-run to remove them" if done.dry_run else "")
              + "; no sealed file touched")
    return 0
