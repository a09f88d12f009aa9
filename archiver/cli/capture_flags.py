"""The options of ``archiver capture`` (and of the commands that capture), with their bounds."""

from __future__ import annotations

import argparse

from ..core.capture_options import BROWSER_MODES, bounds_help


def add_capture_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--depth", type=int,
                   help=f"0: the pages and their requisites; 1 (default): also linked sources; {bounds_help('depth')}")
    p.add_argument("--exclude", action="append", metavar="REGEX", help="skip found URLs matching REGEX (repeatable)")
    p.add_argument("--max-resources", type=int, metavar="N",
                   help=f"most URLs in one capture, {bounds_help('max_resources')} (default 5000)")
    p.add_argument("--max-bytes", metavar="SIZE",
                   help=f"largest body kept per resource, e.g. 200MB (default), {bounds_help('max_bytes')}")
    p.add_argument("--max-total-bytes", metavar="SIZE",
                   help=f"stop queueing once a capture holds SIZE, {bounds_help('max_total_bytes')} (default 4GB)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help=f"wall-clock limit per exchange, {bounds_help('timeout')} (default 30)")
    p.add_argument("--concurrency", type=int, metavar="N",
                   help=f"exchanges in flight at once, {bounds_help('concurrency')} (default 16)")
    p.add_argument("--per-host", type=int, metavar="N", help=f"exchanges in flight per host, {bounds_help('per_host')} (default 2)")
    p.add_argument("--user-agent", metavar="TEXT",
                   help="User-Agent header, printable ISO-8859-1 (default names archiver and its version)")
    p.add_argument("--ignore-robots", action="store_true", help="fetch what robots.txt disallows")
    p.add_argument("--header", action="append", metavar="'NAME: VALUE'", help="send this header (repeatable)")
    p.add_argument("--cookies", metavar="FILE", help="send cookies from a Netscape cookies.txt file")
    p.add_argument("--keep-secrets", action="store_true",
                   help="archive Cookie and secret --header values instead of redacting them")
    p.add_argument("--allow-private", action="store_true",
                   help="let found URLs reach private, loopback and link-local addresses")
    p.add_argument("--deny-private", action="store_true",
                   help="keep found URLs off private addresses even when the seeds are private")
    p.add_argument("--insecure", action="store_true",
                   help="archive over TLS even when the certificate cannot be verified (the manifest says so)")
    p.add_argument("--browser", nargs="?", const="on", choices=BROWSER_MODES, help="render pages in Chromium: on (all), auto (JS shells)")
    p.add_argument("--browser-tabs", type=int, metavar="N", help=f"pages rendered at once, {bounds_help('browser_tabs')} (default 1)")
    p.add_argument("--no-dedup", action="store_true",
                   help="store every payload again, even when identical to an earlier capture of the URL")
    p.add_argument("--no-conditional", action="store_true",
                   help="send no If-None-Match / If-Modified-Since on re-captures (always fetch whole bodies)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
