"""``archiver verify PACKAGE``: a WACZ file or a BagIt folder checked with no workspace
(transfer.package_check). Imported only when verify is given a package."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core.errors import UsageError


def verify_package(args: argparse.Namespace, trusted: Path | None, expect: str | None) -> int:
    """``cmd_verify`` once it has checked the options both share: ``trusted`` key, ``expect``-ed head."""
    from ..fixity.trust_rules import judge_expected_head
    from ..transfer.package_check import check_package, package_kind
    from .output import verify_json, verify_text

    package = Path(args.capture_ids[0])
    kind = package_kind(package)
    if kind is None:
        raise UsageError(f"{package}: not a package (a .wacz file, or a BagIt folder with bagit.txt)")
    if args.accept_key:
        raise UsageError("--accept-key pins a workspace's key; a package has none to pin")
    for name in args.tsa_root or []:
        if not Path(name).is_file():
            raise UsageError(f"--tsa-root {name}: no such file")
    roots = tuple(Path(name) for name in args.tsa_root or [])
    report = check_package(package, trusted_key=trusted, quick=args.quick, workers=args.workers, tsa_roots=roots)
    if expect is not None:
        for finding in judge_expected_head(expect, {cid: m.sha256 for cid, m in report.loaded.items()}):
            report.error(finding.message)
    if args.json:
        print(json.dumps({"package": str(package), "kind": kind, **verify_json(report)}, indent=2))
    else:
        print(f"package {package} ({'WACZ' if kind == 'wacz' else 'BagIt bag'})")
        print(verify_text(report))
    return 0 if report.ok else 1
