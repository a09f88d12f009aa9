"""The command line: a thin layer over the library. Each command imports only what it needs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from . import __version__
from .errors import ArchiverError, UsageError

EPILOG_CAPTURE = """example:
  archiver capture https://stopfundamentalism.com/news/irans-persistent-campaign-against-the-mek
  archiver -w ~/sources capture --depth 0 --json https://example.org/a"""
EPILOG_DEMO = """example:
  archiver demo                 # capture the bundled sample site into a temporary workspace
  archiver -w ./demo-ws demo    # ... into ./demo-ws, kept afterwards"""


EPILOG_VERIFY = """example:
  archiver verify                          # every capture, full fixity check
  archiver verify --quick --json           # presence, sizes, seals and chain, as JSON
  archiver verify 20261129T150447Z-bce0ff --trusted-key colleague.pub.pem"""
EPILOG_KEYGEN = """example:
  archiver keygen && archiver capture https://example.org/a    # the capture is signed"""


STYLES = ["bibtex", "csl-json", "ris", "apa", "mla", "chicago", "robust-link", "markdown"]
EPILOG_LOOKUP = """example:
  archiver lookup https://example.org/news/article
  archiver lookup https://example.org/news/article --at 2026-11-29T12:00Z --json"""
EPILOG_CITE = """example:
  archiver cite https://example.org/news/article --style apa
  archiver cite 20261129T150447Z-bce0ff --style bibtex -o sources.bib   # article and linked sources"""
EPILOG_SEARCH = """example:
  archiver search 'dredging contract'
  archiver search '"eleven votes to four"' --cite apa"""
EPILOG_REINDEX = """example:
  archiver reindex"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line on stderr, exit 2
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="archiver", description="Preserve web sources and make them citable.")
    parser.add_argument("--version", action="version", version=f"archiver {__version__}")
    parser.add_argument("-w", "--workspace", help="workspace folder (default: $ARCHIVER_WORKSPACE or the current folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    cap = sub.add_parser("capture", help="capture URLs, their requisites and linked sources into WARC files",
                         description="Capture each URL with its requisites (images, CSS, scripts, fonts) and, "
                                     "to --depth, the pages it links to, into gzip WARC 1.1 files and a manifest.",
                         epilog=EPILOG_CAPTURE, formatter_class=argparse.RawDescriptionHelpFormatter)
    cap.add_argument("urls", nargs="+", metavar="URL")
    add_capture_flags(cap)
    cap.set_defaults(func=cmd_capture)

    demo = sub.add_parser("demo", help="serve the bundled sample site on loopback, capture it, check it",
                          description="Serve a bundled sample news site on loopback addresses (offline), capture "
                                      "the article and its linked sources, check the result and print it.",
                          epilog=EPILOG_DEMO, formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--json", action="store_true", help="print the capture summary as JSON")
    demo.set_defaults(func=cmd_demo)

    ver = sub.add_parser("verify", help="check fixity, the manifest chain, seals and signatures",
                         description="Check that every sealed capture is intact: WARC files present with the "
                                     "sha256 the manifest records, every record's digests right, each manifest "
                                     "unedited and chained to the one before, signatures valid. Reports debris "
                                     "of interrupted captures as orphans (warnings). Exit 0 when all is intact, "
                                     "1 when not, 2 on usage errors.",
                         epilog=EPILOG_VERIFY, formatter_class=argparse.RawDescriptionHelpFormatter)
    ver.add_argument("capture_ids", nargs="*", metavar="CAPTURE_ID", help="captures to check (default: all)")
    ver.add_argument("--quick", action="store_true", help="presence, sizes, seals and chain only; no hashing")
    ver.add_argument("--trusted-key", metavar="FILE", help="check signatures against this Ed25519 public key (PEM)")
    ver.add_argument("--workers", type=int, metavar="N", help="files hashed in parallel (default: CPU count)")
    ver.add_argument("--json", action="store_true", help="print the report as JSON")
    ver.set_defaults(func=cmd_verify)

    key = sub.add_parser("keygen", help="make an Ed25519 key pair that signs every later capture",
                         description="Make an Ed25519 key pair for the workspace: keys/archiver-signing-key.pem "
                                     "(private, mode 0600; keep it out of anything you publish) and "
                                     "keys/archiver-signing-key.pub.pem (public). Every capture sealed afterwards "
                                     "gets a detached signature of its checksum list.",
                         epilog=EPILOG_KEYGEN, formatter_class=argparse.RawDescriptionHelpFormatter)
    key.set_defaults(func=cmd_keygen)

    look = sub.add_parser("lookup", help="every capture of a URL, or the one nearest a moment",
                          description="List every capture of URL in this workspace (a TimeMap), oldest first; "
                                      "with --at, the capture nearest that moment (absolute distance, a tie goes "
                                      "to the earlier capture). Any spelling of the URL finds it (SURT keys).",
                          epilog=EPILOG_LOOKUP, formatter_class=argparse.RawDescriptionHelpFormatter)
    look.add_argument("url", metavar="URL")
    look.add_argument("--at", metavar="DATETIME", help="2026-11-29, 2026-11-29T15:04Z, 20261129150447, ...")
    look.add_argument("--json", action="store_true", help="print as JSON")
    look.set_defaults(func=cmd_lookup)

    cite = sub.add_parser("cite", help="citations that name the live URL, the archived copy and the capture time",
                          description="Cite archived sources: a URL (its latest capture, or the one nearest --at) "
                                      "or a capture id (the article and each linked source: a bibliography).",
                          epilog=EPILOG_CITE, formatter_class=argparse.RawDescriptionHelpFormatter)
    cite.add_argument("targets", nargs="+", metavar="URL|CAPTURE_ID")
    cite.add_argument("--style", required=True, choices=STYLES, help="output style")
    cite.add_argument("--at", metavar="DATETIME", help="cite the capture nearest this moment")
    cite.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    cite.set_defaults(func=cmd_cite)

    find = sub.add_parser("search", help="full-text search over the text of everything archived",
                          description="Search the main text and titles of every archived page (SQLite FTS5): "
                                      "all words must appear; \"a quoted phrase\" matches as a phrase. Ranked.",
                          epilog=EPILOG_SEARCH, formatter_class=argparse.RawDescriptionHelpFormatter)
    find.add_argument("query", metavar="WORDS")
    find.add_argument("--limit", type=int, default=20, metavar="N", help="most results (default 20)")
    find.add_argument("--cite", choices=STYLES, metavar="STYLE", help="print the results as citations in STYLE")
    find.add_argument("--json", action="store_true", help="print as JSON")
    find.set_defaults(func=cmd_search)

    rex = sub.add_parser("reindex", help="rebuild the index from manifests/ and archive/",
                         description="Rebuild the lookup and search index from scratch, from the manifests and "
                                     "WARC files alone. The index is derived: this never changes a manifest.",
                         epilog=EPILOG_REINDEX, formatter_class=argparse.RawDescriptionHelpFormatter)
    rex.set_defaults(func=cmd_reindex)
    return parser


def add_capture_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=int, help="0: the pages and their requisites; 1 (default): also linked sources")
    p.add_argument("--exclude", action="append", metavar="REGEX", help="skip found URLs matching REGEX (repeatable)")
    p.add_argument("--max-resources", type=int, metavar="N", help="most URLs in one capture (default 5000)")
    p.add_argument("--max-bytes", metavar="SIZE", help="largest body kept per resource, e.g. 200MB (default)")
    p.add_argument("--max-total-bytes", metavar="SIZE", help="stop queueing once a capture holds SIZE (default 4GB)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="wall-clock limit per exchange (default 30)")
    p.add_argument("--concurrency", type=int, metavar="N", help="exchanges in flight at once (default 16)")
    p.add_argument("--per-host", type=int, metavar="N", help="exchanges in flight per host (default 2)")
    p.add_argument("--user-agent", metavar="TEXT", help="User-Agent header (default names archiver and its version)")
    p.add_argument("--ignore-robots", action="store_true", help="fetch what robots.txt disallows")
    p.add_argument("--header", action="append", metavar="'NAME: VALUE'", help="send this header (repeatable)")
    p.add_argument("--cookies", metavar="FILE", help="send cookies from a Netscape cookies.txt file")
    p.add_argument("--keep-secrets", action="store_true",
                   help="archive Cookie and secret --header values instead of redacting them")
    p.add_argument("--no-dedup", action="store_true",
                   help="store every payload again, even when identical to an earlier capture of the URL")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def capture_options(args: argparse.Namespace, base: Any) -> Any:
    """Flags over the workspace settings' capture options."""
    from dataclasses import replace

    from .requests_plan import parse_header
    from .settings import parse_size

    changes: dict[str, Any] = {}
    for flag in ("depth", "max_resources", "timeout", "concurrency", "per_host", "user_agent"):
        value = getattr(args, flag)
        if value is not None:
            changes[flag] = value
    for flag in ("max_bytes", "max_total_bytes"):
        if getattr(args, flag) is not None:
            changes[flag] = parse_size(getattr(args, flag))
    if args.exclude:
        changes["exclude"] = tuple(base.exclude) + tuple(args.exclude)
    if args.ignore_robots:
        changes["ignore_robots"] = True
    if args.header:
        changes["headers"] = tuple(base.headers) + tuple(parse_header(h) for h in args.header)
    if args.cookies:
        changes["cookies_file"] = args.cookies
    if args.keep_secrets:
        changes["keep_secrets"] = True
    if getattr(args, "no_dedup", False):
        changes["dedup"] = False
    return replace(base, **changes)


def workspace_root(args: argparse.Namespace) -> tuple[Path, bool]:
    """(root, chosen explicitly by -w or ARCHIVER_WORKSPACE)."""
    if args.workspace:
        return Path(args.workspace), True
    env = os.environ.get("ARCHIVER_WORKSPACE")
    if env:
        return Path(env), True
    return Path.cwd(), False


def run_capture(urls: list[str], root: Path, args: argparse.Namespace) -> Any:
    from .capturing import capture
    from .progress import TerminalProgress
    from .settings import load_settings
    from .workspace import Workspace

    settings = load_settings(root)
    options = capture_options(args, settings.capture)
    progress = TerminalProgress()
    try:
        return capture(urls, Workspace(root), options, settings=settings, progress=progress)
    finally:
        progress.clear()


def cmd_capture(args: argparse.Namespace) -> int:
    root, _ = workspace_root(args)
    result = run_capture(args.urls, root, args)
    print_result(result, args.json)
    if not result.ok:
        raise ArchiverError(f"not every seed was captured: {result.seed_problems[0]}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from .demo.run import run_demo

    root, explicit = workspace_root(args)
    if not explicit:
        root = Path(tempfile.mkdtemp(prefix="archiver-demo-"))
    report = run_demo(root)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(report.text())
    if not report.ok:
        raise ArchiverError(f"demo failed: {report.problems[0]}")
    return 0


def print_result(result: Any, as_json: bool) -> None:
    from .summary import summary_json, summary_text

    print(json.dumps(summary_json(result), indent=2) if as_json else summary_text(result))


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify
    from .workspace import Workspace

    root, _ = workspace_root(args)
    if not root.is_dir():
        raise UsageError(f"workspace {root} does not exist")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be 1 or more")
    trusted = Path(args.trusted_key) if args.trusted_key else None
    if trusted is not None and not trusted.is_file():
        raise UsageError(f"--trusted-key {trusted}: no such file")
    report = verify(Workspace(root), args.capture_ids or None, quick=args.quick, trusted_key=trusted,
                    workers=args.workers)
    from .summary import verify_json, verify_text

    print(json.dumps(verify_json(report), indent=2) if args.json else verify_text(report))
    return 0 if report.ok else 1


def cmd_keygen(args: argparse.Namespace) -> int:
    from .signing import generate_key_pair
    from .workspace import Workspace

    root, _ = workspace_root(args)
    ws = Workspace(root).ensure()
    generate_key_pair(ws.private_key_path, ws.public_key_path)
    print(f"private key  {ws.relative(ws.private_key_path)} (mode 0600: keep it secret, do not publish it)")
    print(f"public key   {ws.relative(ws.public_key_path)} (give this to whoever checks your captures)")
    return 0


def _existing_workspace(args: argparse.Namespace) -> Any:
    from .workspace import Workspace

    root, _ = workspace_root(args)
    if not (root / "manifests").is_dir():
        raise UsageError(f"{root} is not an archiver workspace (no manifests/ folder)")
    return Workspace(root)


def cmd_lookup(args: argparse.Namespace) -> int:
    from .index import Index
    from .timeparse import parse_moment
    from .urls import canonical

    ws = _existing_workspace(args)
    url = canonical(args.url)
    at = parse_moment(args.at) if args.at else None
    with Index.open(ws) as index:
        if at is None:
            found = [(m, None) for m in index.timemap(url)]
        else:
            nearest = index.nearest(url, at)
            found = [nearest] if nearest else []
    from .summary import lookup_json, lookup_text

    print(json.dumps(lookup_json(url, at, found), indent=2) if args.json else lookup_text(url, at, found))
    if not found:
        raise ArchiverError(f"{url} has not been captured in this workspace")
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    from .cite import FORMATS
    from .citing import cite
    from .timeparse import parse_moment

    ws = _existing_workspace(args)
    at = parse_moment(args.at) if args.at else None
    text = FORMATS[args.style](cite(ws, args.targets, at=at))
    if args.output:
        from .workspace import atomic_write

        atomic_write(Path(args.output).resolve(), text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from .index import Index

    ws = _existing_workspace(args)
    if args.limit < 1:
        raise UsageError("--limit must be 1 or more")
    with Index.open(ws) as index:
        hits = index.search(args.query, args.limit)
    if args.cite:
        from .cite import FORMATS
        from .citing import citation_data
        from .settings import load_settings

        settings = load_settings(ws.root)
        sys.stdout.write(FORMATS[args.cite]([citation_data(m, settings) for m, _, _ in hits]) if hits else "")
    else:
        from .summary import search_json, search_text

        print(json.dumps(search_json(args.query, hits), indent=2) if args.json else search_text(args.query, hits))
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from .index import rebuild

    ws = _existing_workspace(args)
    count = rebuild(ws)
    print(f"index rebuilt from {count} manifest(s): {ws.relative(ws.state_dir / 'index.sqlite')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args))
    except ArchiverError as exc:
        print(f"archiver: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("archiver: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
