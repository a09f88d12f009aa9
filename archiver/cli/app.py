"""The command line: a thin layer over the library. Each command imports only what it needs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import __version__
from ..core.capture_options import bounds_help, shown
from ..core.errors import EXIT_CODES, EXIT_INTERRUPTED, EXIT_PROBLEMS, EXIT_USAGE, ArchiverError, UsageError
from .capture_flags import add_capture_flags
from .cite_fields import add_set_argument
from .commands import (
    MAX_VERIFY_WORKERS,
    cmd_capture,
    cmd_cite,
    cmd_demo,
    cmd_export,
    cmd_head,
    cmd_import,
    cmd_lookup,
    cmd_reindex,
    cmd_search,
    cmd_verify,
)
from .distributed_commands import add_distributed_commands, add_queue_flags, add_store_flag
from .exiting import hold_signals, interrupted_by_signal
from .init_command import EPILOG_INIT, add_init_arguments, cmd_init
from .key_commands import EPILOG_KEYGEN, add_keygen_arguments
from .parser import WORKSPACE_HELP, add_global_options, apply_global_options, exit_codes_text
from .parser import CommandParser as _Parser
from .rescue_command import add_rescue_command


def _later(module: str, name: str) -> Any:
    """The command ``name`` of ``archiver.cli.<module>``, imported only when that command runs (the
    others start faster: a lookup never loads the server's or the schedules' commands)."""
    def command(args: argparse.Namespace) -> int:
        from importlib import import_module

        return int(getattr(import_module(f"{__package__}.{module}"), name)(args))

    command.__name__ = name
    return command


EPILOG_CAPTURE = """example:
  archiver capture https://stopfundamentalism.com/news/irans-persistent-campaign-against-the-mek
  archiver -w ~/sources capture --depth 0 --json https://example.org/a"""
EPILOG_DEMO = """example:
  archiver demo                 # capture the bundled sample site into a temporary workspace, removed after
  archiver demo --keep          # ... and keep that workspace (its path is printed)
  archiver -w ./demo-ws demo    # ... into ./demo-ws, kept afterwards
  archiver demo --serve         # ... then keep the sample site up, to capture its pages yourself, until Ctrl-C"""


EPILOG_VERIFY = """example:
  archiver verify                          # every capture, full fixity check
  archiver verify --quick --json           # presence, sizes, seals and chain, as JSON
  archiver verify 20261129T150447Z-bce0ff --trusted-key colleague.pub.pem
  archiver verify article.wacz             # a package as received: no workspace needed
  archiver verify --expect-head 9f2c...     # the head published earlier is still in the chain"""
EPILOG_TIMESTAMP = """example:
  archiver timestamp                       # every capture still lacking a token from an authority
  archiver timestamp 20261129T150447Z-bce0ff --json"""
EPILOG_HEAD = """example:
  archiver head            # capture 20261129T150447Z-bce0ff, sequence 12, sha256 9f2c...
  archiver verify --expect-head 9f2c...    # later: that head is still in the chain"""


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
EPILOG_SCHEDULE = """example:
  archiver schedule add https://example.org/news/article --every 6h --name article
  archiver schedule add https://example.org/a https://example.org/b --cron '0 6 * * *' --timezone Europe/London
  archiver schedule list
  archiver schedule remove article"""
EPILOG_RUN = """example:
  * * * * *  cd /srv/sources && archiver run      # crontab: every minute; does only what is due
  archiver run --watch                            # or stay in the foreground"""
EPILOG_EXPORT = """example:
  archiver export wacz 20261129T150447Z-bce0ff -o article.wacz
  archiver export bag --since 2026-11-01 -o november-bag
  archiver export wacz --all -o everything.wacz
  archiver export cdxj -o index.cdxj"""
EPILOG_IMPORT = """example:
  archiver import crawl.warc.gz
  archiver import collection.wacz
  archiver import IA-001102.arc.gz
  archiver import --lenient damaged.warc.gz"""
EPILOG_LIST = """example:
  archiver list
  archiver list --json"""
EPILOG_SHOW = """example:
  archiver show                             # the capture sealed last
  archiver show 20261129T150447Z-bce0ff
  archiver show 20261129T150447Z-bce0ff --json"""
EPILOG_EXTRACT = """example:
  archiver extract https://example.org/docs/minutes.pdf -o minutes.pdf
  archiver extract https://example.org/news/article --at 2026-11-29 -o article.html --force"""
EPILOG_SERVE = """example:
  archiver serve                       # http://127.0.0.1:8080/ (UI), http://127.0.0.1:8081/ (replay)
  archiver -w ~/sources serve --port 9000 --replay-port 9001
  ARCHIVER_SERVE_TOKEN=... archiver serve --host 0.0.0.0 --public-url https://archive.example.org"""
EPILOG_REPORT = """example:
  archiver report
  archiver report --since 2026-11-01 --json"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="archiver", description="Preserve web sources and make them citable. -w/--workspace "
                     "and --json may come before or after the command name.",
                     epilog=exit_codes_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"archiver {__version__}")
    parser.add_argument("-w", "--workspace", help=WORKSPACE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    cap = sub.add_parser("capture", help="capture URLs, their requisites and linked sources into WARC files",
                         description="Capture each URL with its requisites (images, CSS, scripts, fonts) and, "
                                     "to --depth, the pages it links to, into gzip WARC 1.1 files and a manifest.",
                         epilog=EPILOG_CAPTURE, formatter_class=argparse.RawDescriptionHelpFormatter)
    cap.add_argument("urls", nargs="+", metavar="URL")
    add_capture_flags(cap)
    add_queue_flags(cap, detach=True)
    add_store_flag(cap, verify=False)
    cap.set_defaults(func=cmd_capture)

    add_distributed_commands(sub, _later)

    demo = sub.add_parser("demo", help="serve the bundled sample site on loopback, capture it, check it",
                          description="Serve a bundled sample news site on loopback addresses (offline), capture "
                                      "the article and its linked sources, check the result and print it.",
                          epilog=EPILOG_DEMO, formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--json", action="store_true", help="print the capture summary as JSON")
    demo.add_argument("--keep", action="store_true",
                      help="keep the demo's workspace (a new folder in the temporary folder; -w chooses another)")
    demo.add_argument("--serve", action="store_true",
                      help="keep the sample site up after the demo, its URLs printed, until Ctrl-C (exit 0)")
    demo.add_argument("--site-port", type=int, metavar="PORT",
                      help="with --serve: the port of the sample site on each of its addresses (default 8000, "
                           "as README.md's walk-through names it; 0: any free port)")
    demo.set_defaults(func=cmd_demo)

    init = sub.add_parser("init", help="make a workspace and its commented archiver.yaml, with who collects",
                          description="Make a workspace (archive/, manifests/) and a commented archiver.yaml in it "
                                      "naming the operator (who collects, recorded in every manifest). On a terminal "
                                      "it asks for the name and contact unless --name/--contact or --no-input are given. "
                                      "An existing archiver.yaml is never overwritten.",
                          epilog=EPILOG_INIT, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_init_arguments(init)
    init.set_defaults(func=cmd_init)

    ver = sub.add_parser("verify", help="check fixity, the manifest chain, seals and signatures",
                         description="Check that every sealed capture is intact: WARC files present with the "
                                     "sha256 the manifest records, every record's digests right, each manifest "
                                     "unedited and chained to the one before, every manifest entry agreeing with "
                                     "its WARC record, signatures valid (once a workspace signs, every later "
                                     "capture must be signed), the key the one you pinned, and no capture the "
                                     "witness saw sealed gone (a rollback). Reports debris of interrupted "
                                     "captures as orphans (warnings). Exit 0 when all is intact, 1 when not, "
                                     "2 on usage errors.",
                         epilog=EPILOG_VERIFY, formatter_class=argparse.RawDescriptionHelpFormatter)
    ver.add_argument("capture_ids", nargs="*", metavar="CAPTURE_ID",
                     help="captures to check (default: all); or one PACKAGE, a .wacz file or a BagIt folder that "
                          "archiver exported, checked on its own with no workspace")
    ver.add_argument("--quick", action="store_true", help="presence, sizes, seals and chain only; no hashing")
    ver.add_argument("--trusted-key", metavar="FILE", help="check signatures against this Ed25519 public key (PEM)")
    ver.add_argument("--workers", type=int, metavar="N",
                     help=f"processes that hash and check in parallel, 1-{MAX_VERIFY_WORKERS} (default: CPU count)")
    ver.add_argument("--expect-head", metavar="SHA256",
                     help="the head manifest's sha256 published earlier (archiver head): it must still be in the chain")
    ver.add_argument("--accept-key", metavar="FINGERPRINT",
                     help="you replaced the workspace's signing key on purpose: pin this new key (sha256:...) instead")
    ver.add_argument("--tsa-root", metavar="PEM", action="append",
                     help="a root certificate timestamp tokens must chain to (repeatable; default: archiver.yaml's "
                          "timestamp_roots)")
    ver.add_argument("--json", action="store_true", help="print the report as JSON")
    add_store_flag(ver, verify=True)
    ver.set_defaults(func=cmd_verify)

    stamp = sub.add_parser("timestamp", help="ask the timestamp authorities for the tokens captures still lack",
                           description="Ask each RFC 3161 timestamp authority (timestamp_authority in archiver.yaml) "
                                       "for the tokens that sealed captures lack: those their manifests list but "
                                       "could not be had at seal time (an authority down), and, for captures sealed "
                                       "before any authority was configured, one from each configured authority. "
                                       "Each reply is checked and stored beside the checksum list it covers "
                                       "(manifests/ID.sha256.tsr, .2.tsr ...). Exit 0 when every token asked for "
                                       "was stored (or none was lacking), 1 when one could not be had.",
                           epilog=EPILOG_TIMESTAMP, formatter_class=argparse.RawDescriptionHelpFormatter)
    stamp.add_argument("capture_ids", nargs="*", metavar="CAPTURE_ID", help="captures to complete (default: all)")
    stamp.add_argument("--json", action="store_true", help="print what was asked and stored as JSON")
    stamp.set_defaults(func=_later("timestamp_command", "cmd_timestamp"))

    hd = sub.add_parser("head", help="print the chain head, to publish or keep elsewhere",
                        description="Print the newest sealed capture and its manifest's sha256: the chain head. Keep "
                                    "it somewhere the workspace is not (a notebook, an email, a repository); later, "
                                    "'archiver verify --expect-head SHA256' proves no capture sealed until then was "
                                    "removed.",
                        epilog=EPILOG_HEAD, formatter_class=argparse.RawDescriptionHelpFormatter)
    hd.add_argument("--json", action="store_true", help="print as JSON")
    hd.set_defaults(func=cmd_head)

    key = sub.add_parser("keygen", help="make an Ed25519 key pair that signs every later capture",
                         description="Make an Ed25519 key pair for the workspace: keys/archiver-signing-key.pem "
                                     "(private, mode 0600; keep it out of anything you publish) and "
                                     "keys/archiver-signing-key.pub.pem (public). Every capture sealed afterwards "
                                     "gets a detached signature of its checksum list. With captures sealed already, "
                                     "it offers to attest them (a new signed statement of the chain head); "
                                     "--rotate replaces the key, keeping the old one and a statement of the change "
                                     "signed by both.",
                         epilog=EPILOG_KEYGEN, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_keygen_arguments(key)
    key.set_defaults(func=_later("key_commands", "cmd_keygen"))

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
    cite.add_argument("--style", metavar="STYLE", help=f"{', '.join(STYLES)}, any CSL style or .csl file (default apa)")
    cite.add_argument("--at", metavar="DATETIME", help="cite the capture nearest this moment")
    add_set_argument(cite)
    cite.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    cite.set_defaults(func=cmd_cite)
    add_rescue_command(sub, _later("rescue_command", "cmd_rescue"))

    find = sub.add_parser("search", help="full-text search over the text of everything archived",
                          description="Search the main text and titles of every archived page (SQLite FTS5): "
                                      "all words must appear; \"a quoted phrase\" matches as a phrase. Ranked.",
                          epilog=EPILOG_SEARCH, formatter_class=argparse.RawDescriptionHelpFormatter)
    find.add_argument("query", metavar="WORDS")
    find.add_argument("--limit", type=int, default=20, metavar="N",
                      help=f"most results, {bounds_help('search_limit')} (default 20)")
    find.add_argument("--cite", metavar="STYLE", help="print the results as citations in STYLE (any --style of cite)")
    find.add_argument("--json", action="store_true", help="print as JSON")
    find.set_defaults(func=cmd_search)

    rex = sub.add_parser("reindex", help="rebuild the index from manifests/ and archive/",
                         description="Rebuild the lookup and search index from scratch, from the manifests and "
                                     "WARC files alone. The index is derived: this never changes a manifest.",
                         epilog=EPILOG_REINDEX, formatter_class=argparse.RawDescriptionHelpFormatter)
    rex.set_defaults(func=cmd_reindex)

    cln = sub.add_parser("clean", help="remove the debris of killed captures (never a sealed file)",
                         description="Remove what captures killed mid-way (kill -9, a power cut) left: unfinished "
                                     ".open WARC files, seal files no manifest owns, "
                                     "stale scratch folders and index temporary files: the orphans 'archiver "
                                     "verify' warns about. Never a manifest or a file a sealed manifest lists; the "
                                     "files of a capture running now are kept. A finished WARC file no manifest "
                                     "lists is kept (archiver import FILE seals it as a capture, after which clean "
                                     "removes it) unless --unsealed. Says what it removed.",
                         epilog="example:\n  archiver clean --dry-run    # what would be removed\n"
                                "  archiver clean              # remove it, listing each file",
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    cln.add_argument("--dry-run", action="store_true", help="only list what would be removed; change nothing")
    cln.add_argument("--unsealed", action="store_true",
                     help="also remove finished WARC files no manifest lists (kept by default: 'archiver import "
                          "FILE' seals what such a file holds as a capture)")
    cln.add_argument("--json", action="store_true", help="print what was removed (and kept, and why) as JSON")
    cln.set_defaults(func=_later("clean_command", "cmd_clean"))

    sch = sub.add_parser("schedule", help="add, list or remove schedules of repeated captures",
                         description="Schedules live in the workspace's archiver.yaml (rewriting it drops YAML "
                                     "comments). Each has URLs and an interval (--every) or a cron expression.",
                         epilog=EPILOG_SCHEDULE, formatter_class=argparse.RawDescriptionHelpFormatter)
    ssub = sch.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    add = ssub.add_parser("add", help="add a schedule")
    add.add_argument("urls", nargs="+", metavar="URL")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", metavar="INTERVAL", help="30m, 6h, 1d, 1w, 1h30m: from 1m to 366d")
    when.add_argument("--cron", metavar="EXPR", help="a 5-field cron expression, e.g. '0 6 * * *'")
    add.add_argument("--timezone", default="UTC", metavar="ZONE", help="for --cron (default UTC), e.g. Europe/London")
    add.add_argument("--name", help="1-64 letters, digits, '.', '_' or '-' (default: derived from the first URL)")
    add.add_argument("--depth", type=int, help=f"capture depth for this schedule, {bounds_help('depth')}")
    add.add_argument("--no-conditional", action="store_true",
                     help="this schedule's re-captures send no If-None-Match / If-Modified-Since")
    add.set_defaults(func=_later("schedule_commands", "cmd_schedule_add"))
    lst = ssub.add_parser("list", help="schedules with last run, next due, last outcome")
    lst.add_argument("--json", action="store_true", help="print as JSON")
    lst.set_defaults(func=_later("schedule_commands", "cmd_schedule_list"))
    rem = ssub.add_parser("remove", help="remove a schedule (its captures stay)")
    rem.add_argument("name")
    rem.set_defaults(func=_later("schedule_commands", "cmd_schedule_remove"))

    run = sub.add_parser("run", help="capture every schedule that is due, once (cron-friendly)",
                         description="Capture every schedule that is due, then exit: safe to call from cron every "
                                     "minute. A second run while one is busy exits at once with code 75. --watch "
                                     "stays in the foreground and runs schedules as they fall due until SIGINT or "
                                     "SIGTERM, finishing the capture in progress.",
                         epilog=EPILOG_RUN, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--watch", action="store_true", help="keep running schedules as they fall due")
    run.add_argument("--json", action="store_true",
                     help='print JSON Lines: one object a line for each schedule run ({"schedule", "capture_id", '
                          '"ok", "detail"}); when nothing is due, one line with "schedule": null, "detail": "nothing due"')
    run.add_argument("--no-conditional", action="store_true",
                     help="send no If-None-Match / If-Modified-Since in this run's captures")
    add_queue_flags(run, detach=False)
    run.set_defaults(func=_later("schedule_commands", "cmd_run"))

    rep = sub.add_parser("report", help="what changed and what disappeared: the rot and drift table",
                         description="For each watched URL: new, unchanged, changed (judged on the extracted main "
                                     "text, with a short diff), gone, moved or recovered, with the citation of the "
                                     "last good capture of each gone, moved or changed source.",
                         epilog=EPILOG_REPORT, formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("--since", metavar="DATE", help="every change since DATE, not only the latest")
    rep.add_argument("--style", metavar="STYLE", help="the last good captures' citation style: any --style of cite "
                                                     "(default: citation_style in archiver.yaml, else apa)")
    rep.add_argument("--json", action="store_true", help="print as JSON")
    rep.set_defaults(func=_later("schedule_commands", "cmd_report"))

    exp = sub.add_parser("export", help="hand captures on: WACZ, BagIt bag, or the index as CDXJ",
                         description="Export captures as a WACZ 1.1.1 package (for ReplayWeb.page and pywb), a "
                                     "BagIt 1.0 bag (for libraries and repositories), or the workspace index as "
                                     "pywb's CDXJ. Packages are self-contained: originals of revisit records go in.",
                         epilog=EPILOG_EXPORT, formatter_class=argparse.RawDescriptionHelpFormatter)
    esub = exp.add_subparsers(dest="format", metavar="FORMAT", parser_class=_Parser, required=True)
    for fmt, what in (("wacz", "a WACZ file"), ("bag", "a folder (must not exist)"),
                      ("cdxj", "a sorted CDXJ file (default: every capture)")):
        e = esub.add_parser(fmt, help=f"captures as {what}")
        e.add_argument("capture_ids", nargs="*", metavar="CAPTURE_ID", help="the captures to export")
        e.add_argument("--all", action="store_true", dest="every", help="every capture in the workspace")
        e.add_argument("--since", metavar="WHEN", help="the captures started at or after WHEN (2026-11-01, ...)")
        e.add_argument("-o", "--output", required=True, metavar="PATH", help=f"{what}")
        e.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="bring in WARC, WACZ or ARC files made by other tools",
                         description="Import a .warc, .warc.gz, .wacz, .arc or .arc.gz made by another tool (wget, pywb, "
                                     "browsertrix, ArchiveWeb.page) as a new sealed capture: every record is "
                                     "checked first (a WACZ's own hashes too); a corrupt input is refused, naming "
                                     "the first bad record, and the workspace is left as it was.",
                         epilog=EPILOG_IMPORT, formatter_class=argparse.RawDescriptionHelpFormatter)
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--json", action="store_true", help="print the summary as JSON")
    imp.add_argument("--lenient", action="store_true", help="import a damaged WARC as it came, defects recorded, never repaired")
    imp.set_defaults(func=cmd_import)
    add_browse_commands(sub)
    return add_global_options(parser)


def add_browse_commands(sub: Any) -> None:
    lst = sub.add_parser("list", help="the captures in this workspace, newest first",
                         description="List every capture, newest first: when it started, its id, seeds, "
                                     "resources archived, failures, fidelity flags, whether it is signed and "
                                     "whether every seed was captured.",
                         epilog=EPILOG_LIST, formatter_class=argparse.RawDescriptionHelpFormatter)
    lst.add_argument("--json", action="store_true", help="print as JSON")
    lst.set_defaults(func=_later("browse_commands", "cmd_list"))

    show = sub.add_parser("show", help="one capture: every resource, failure and flag, its provenance and files",
                          description="Show one capture from its manifest: seeds, every resource (URL, role, "
                                      "status, type, size, via), failures with their reasons, skipped URLs, "
                                      "fidelity flags, provenance (operator, software, settings, times, remote "
                                      "addresses, place in the chain, signing key) and its files. An unknown "
                                      "capture id exits 1.",
                          epilog=EPILOG_SHOW, formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("capture_id", metavar="CAPTURE_ID", nargs="?",
                      help="the capture (default: the one sealed last, the chain head)")
    show.add_argument("--json", action="store_true", help="print as JSON")
    show.set_defaults(func=_later("browse_commands", "cmd_show"))

    ext = sub.add_parser("extract", help="write the archived payload of a URL to a file, exactly as archived",
                         description="Write the archived payload of URL's capture nearest --at (default: the "
                                     "latest) to FILE: the body exactly as the server sent it (chunked framing "
                                     "removed, content coding such as gzip kept), so that its sha256 is the "
                                     "manifest's payload_sha256; a revisit's payload comes from its original. "
                                     "FILE is written under a temporary name, checked, then renamed; an existing "
                                     "FILE is refused unless --force.",
                         epilog=EPILOG_EXTRACT, formatter_class=argparse.RawDescriptionHelpFormatter)
    ext.add_argument("url", metavar="URL")
    ext.add_argument("--at", metavar="DATETIME", help="the capture nearest this moment (2026-11-29, 20261129150447...)")
    ext.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    ext.add_argument("--force", action="store_true", help="replace FILE if it exists")
    ext.set_defaults(func=_later("browse_commands", "cmd_extract"))

    srv = sub.add_parser("serve", help="open the archive in a browser: web UI, replay, Memento, CDX and JSON APIs",
                         description="Serve the workspace until Ctrl-C or SIGTERM: the web UI, JSON API, Memento "
                                     "(TimeGate, TimeMaps) and CDX on --port, and replayed pages on --replay-port "
                                     "(another origin, so nothing archived runs with the UI's). Citations' "
                                     "archived copies (http://localhost:8080/archive/<timestamp>/<url> by default) "
                                     "resolve here. Read-only without a token; a --host other than loopback "
                                     "needs one.",
                         epilog=EPILOG_SERVE, formatter_class=argparse.RawDescriptionHelpFormatter)
    srv.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    srv.add_argument("--port", type=int, default=8080, metavar="PORT", help="the UI's port (default 8080)")
    srv.add_argument("--replay-port", type=int, metavar="PORT", help="the replay origin's port (default: --port + 1)")
    srv.add_argument("--public-url", metavar="URL",
                     help="where the server is published (default: public_url in archiver.yaml): citations "
                          "name archived copies there")
    srv.add_argument("--token", metavar="TOKEN",
                     help="writing requests (capture, verify) must carry it (default: $ARCHIVER_SERVE_TOKEN, "
                          "else serve_token in archiver.yaml); never printed")
    srv.set_defaults(func=_later("browse_commands", "cmd_serve"))


__all__ = ["EXIT_CODES", "build_parser", "main"]


def check_arguments(argv: list[str]) -> None:
    """Every argument is UTF-8 text without NUL (the bytes of a non-UTF-8 argument reach Python as
    lone surrogates, which no URL, header, file name or output can carry faithfully)."""
    for i, arg in enumerate(argv):
        after = f" after {argv[i - 1]}" if i and argv[i - 1].startswith("-") else ""
        if "\0" in arg:
            raise UsageError(f"argument {i + 1}{after} contains a NUL character: {shown(arg)}")
        if not arg.isascii():
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError(f"argument {i + 1}{after} is not valid UTF-8: {shown(arg)}") from None


def _say(message: str) -> None:
    """One line on stderr, whatever ``message`` holds (line breaks, control characters)."""
    line = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in message)
    print(f"archiver: {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (EXIT_CODES). Never a traceback: bad input is one
    line on stderr and exit 2, with nothing written. Output whose reader went away
    (``archiver list | head -1``) is dropped quietly; the command ends with its own code."""
    from .quiet_pipe import quiet_closed_pipe

    code, late = EXIT_INTERRUPTED, True
    try:
        with quiet_closed_pipe():
            code = _run(sys.argv[1:] if argv is None else list(argv))
        late = False
    except KeyboardInterrupt:       # landed while the output was flushed, after the command's own handling
        pass
    finally:
        if argv is None:            # the command line: a signal from here to the exit is too late to act on
            try:
                hold_signals()
            except KeyboardInterrupt:   # one that arrived just before they were held
                late = hold_signals() or True
    if late:
        print("archiver: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED if late else code


def _run(arguments: list[str]) -> int:
    from ..core.interrupts import handle_termination

    signals = handle_termination()  # SIGTERM unwinds like Ctrl-C: cleanups run, one line, exit 130
    try:
        check_arguments(arguments)
        parser = build_parser()
        args = apply_global_options(parser.parse_args(arguments))
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        return int(args.func(args))
    except SystemExit as exc:       # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except ArchiverError as exc:
        _say(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print("archiver: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:          # the workspace's or an output file's disk: one line, not a traceback
        where = f": {exc.filename}" if exc.filename else ""
        _say(f"{exc.strerror or exc}{where}")
        return EXIT_PROBLEMS
    except Exception as exc:        # noqa: BLE001 - a bug: still one line, never a traceback
        # Ctrl-C or SIGTERM that Python wrapped (raised inside __set_name__, say) or turned into another error
        if signals.arrived or interrupted_by_signal(exc):
            print("archiver: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        _say(f"internal error, please report it (archiver {__version__}): {type(exc).__name__}: {exc}")
        return EXIT_PROBLEMS


if __name__ == "__main__":
    sys.exit(main())
