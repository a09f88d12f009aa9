"""archiver init: make a workspace and its commented settings file, with who collects (the operator)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.errors import UsageError
from .commands import checked_text, workspace_root

EPILOG_INIT = """example:
  archiver init ~/sources --name 'Ada Researcher' --contact ada@example.org
  archiver init                  # this folder; asks for the name and contact on a terminal
  archiver init sources --no-input   # asks nothing (scripts, CI): set the operator in archiver.yaml later"""


def add_init_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", nargs="?", metavar="DIR", help="the workspace folder (default: -w, $ARCHIVER_WORKSPACE or this folder)")
    p.add_argument("--name", help="who collects, recorded in every manifest as the operator (e.g. 'Ada Researcher')")
    p.add_argument("--contact", help="how to reach them (e.g. an e-mail address)")
    p.add_argument("--no-input", action="store_true", help="ask nothing, even on a terminal (without a terminal nothing is asked anyway)")


def cmd_init(args: argparse.Namespace) -> int:
    from ..core.capture_options import MAX_TEXT
    from ..core.settings import SETTINGS_FILE, Operator
    from ..core.settings_file import create_settings_file
    from ..core.workspace import MANIFESTS_DIR, Workspace

    root = _root(args)
    if (root / SETTINGS_FILE).exists():           # before asking anything
        raise UsageError(f"{root / SETTINGS_FILE} exists already; archiver init never overwrites it")
    answers = {flag: value if value is None else checked_text(flag, value, MAX_TEXT["operator"])
               for flag, value in (("--name", args.name), ("--contact", args.contact))}
    asking = not args.no_input and sys.stdin.isatty()
    name = answers["--name"] if answers["--name"] is not None else _ask("Your name (the operator, in every manifest)", asking)
    contact = answers["--contact"] if answers["--contact"] is not None else _ask("How to reach you (e.g. e-mail)", asking)
    existed = (root / MANIFESTS_DIR).is_dir()
    Workspace(root).ensure()
    path = create_settings_file(root, Operator(name=name.strip(), contact=contact.strip()))
    print(f"{'workspace ' + str(root) + ' (kept as it was)' if existed else 'made workspace ' + str(root)}")
    print(f"wrote {path} (commented; readable by you only)")
    if name.strip() or contact.strip():
        print(f"operator: {name.strip()}" + (f" <{contact.strip()}>" if contact.strip() else ""))
    else:
        print(f"operator not set: edit operator: name and contact in {path} (recorded in every later capture)")
    where = "" if root.resolve() == Path.cwd().resolve() else f"-w {_quoted(str(root))} "
    print(f"next: archiver {where}capture https://example.org/article")
    return 0


def _root(args: argparse.Namespace) -> Path:
    """DIR, else -w / $ARCHIVER_WORKSPACE / this folder; both DIR and -w only when they agree."""
    if args.dir is None:
        return workspace_root(args)[0]
    if not checked_text("DIR", args.dir).strip():
        raise UsageError("DIR names no folder")
    root = Path(args.dir)
    if args.workspace is not None and Path(args.workspace).resolve() != root.resolve():
        raise UsageError(f"two workspaces named: DIR {args.dir} and -w {args.workspace}; give one")
    return root


def _ask(question: str, asking: bool) -> str:
    """The answer typed on the terminal ('' for none, or when not ``asking``)."""
    if not asking:
        return ""
    try:
        return input(f"{question}, or Enter to leave it empty: ")
    except EOFError:
        print(file=sys.stderr)
        return ""


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)
