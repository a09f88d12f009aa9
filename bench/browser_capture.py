"""Benchmark: capture through the browser (``--browser``) against the static capture.

The site (served on loopback by ``archiver.demo.server``): 5 hosts on 127.0.0.61-127.0.0.65, an
index page on host 1 linking ``--pages`` pages spread round-robin over the hosts. Each page names
its requisites the ways pages do: a stylesheet (which names a web font and a background image), a
font preload, a script, an image, a native lazy image far down the page and a ``data-src`` lazy
image that the script swaps in; the script also fetches a JSON file that nothing names. Every
response is delayed by ``--latency`` seconds.

archiver captures the index and its pages (depth 1) twice, as a child process each time:
statically, then with ``--browser --browser-tabs N``. Reported side by side: wall time, CPU
seconds (archiver and every process below it: Playwright's driver, Chromium) and peak memory (the
proportional set size of archiver's whole process tree, sampled every 20 ms) per page, and the share of the
browser's requests each capture archived: all of them, and those for URLs the page's HTML or CSS
names (the JSON is named nowhere; the browser's own favicon requests are not a page's requests). The browser's requests
are counted from the browser capture's manifest (``browser_pages``: requested, and what static
extraction did not find).

Run:  .venv/bin/python bench/browser_capture.py [--pages N] [--tabs N] [--latency SECONDS] [--json]
Needs Debian's Chromium (apt-get install -y chromium) or ARCHIVER_CHROMIUM, and Playwright.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from archiver.demo.server import Host, Response, Site

HOSTS = 5
FIRST_ADDRESS = 61
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
NAMED = ("/css/", "/js/", "/img/", "/fonts/", "/page-")        # paths the HTML or CSS names
SAMPLE_SECONDS = 0.02
TARGET_BROWSER_ALL = 1.0        # the browser capture archives every request the browser made
TARGET_STATIC_NAMED = 0.95      # the static capture finds at least 95% of those the HTML or CSS names


def _ok(kind: str, body: bytes) -> Response:
    return Response(200, [("Content-Type", kind)], body)


def page_routes(i: int) -> dict[str, Response]:
    text = " ".join(f"Sentence {n} of page {i} about river sediment and gauging stations." for n in range(30))
    html = f"""<!doctype html><html><head><meta charset="utf-8"><title>Page {i}</title>
<link rel="stylesheet" href="/css/p{i}.css"><link rel="preload" as="font" type="font/woff2" href="/fonts/p{i}.woff2" crossorigin>
<script src="/js/p{i}.js" defer></script></head><body><h1>Page {i}</h1><p class="f">{text}</p>
<img src="/img/p{i}-a.png" width="20" height="20" alt=""><div style="height: 2400px"></div>
<img loading="lazy" src="/img/p{i}-b.png" width="20" height="20" alt="">
<img class="lazy" data-src="/img/p{i}-c.png" width="20" height="20" alt=""></body></html>"""
    css = (f"@font-face {{ font-family: f{i}; src: url(/fonts/p{i}.woff2) format('woff2') }}\n"
           f".f {{ font-family: f{i}, serif }} body {{ background: url(/img/p{i}-bg.png) }}")
    js = (f"fetch('/api/p{i}.json');\n"
          "for (const img of document.querySelectorAll('img[data-src]')) img.src = img.dataset.src;")
    routes = {f"/page-{i}.html": _ok("text/html; charset=utf-8", html.encode()),
              f"/css/p{i}.css": _ok("text/css", css.encode()), f"/js/p{i}.js": _ok("text/javascript", js.encode()),
              f"/fonts/p{i}.woff2": _ok("font/woff2", f"wOF2 font {i}".encode() * 50),
              f"/api/p{i}.json": _ok("application/json", json.dumps({"page": i}).encode())}
    for name in ("a", "b", "c", "bg"):
        routes[f"/img/p{i}-{name}.png"] = _ok("image/png", PNG + f"{i}{name}".encode())
    return routes


def build_site(pages: int, latency: float) -> Site:
    hosts = [Host(f"h{n}", f"127.0.0.{FIRST_ADDRESS + n}",
                  routes={"/robots.txt": _ok("text/plain", b"User-agent: *\nDisallow:\n")}) for n in range(HOSTS)]
    for i in range(pages):
        hosts[i % HOSTS].routes.update(page_routes(i))
    site = Site(hosts, latency=latency, keep_alive=True)
    links = "".join(f'<li><a href="{{{{h{i % HOSTS}}}}}/page-{i}.html">page {i}</a></li>' for i in range(pages))
    index = f"<!doctype html><html><head><title>Index</title></head><body><ul>{links}</ul></body></html>"
    hosts[0].routes["/index.html"] = lambda s, path: _ok("text/html; charset=utf-8", s.fill(index).encode())
    return site


def tree_pss(root: int) -> int:
    """Proportional set size, in bytes, of ``root`` and every process below it: memory shared
    between Chromium's processes counted once, split between them (a sum of RSS counts it in each)."""
    from archiver.browser.processes import descendants

    total = 0
    for pid in [root, *descendants(root)]:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


@dataclass
class Run:
    mode: str
    pages: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    resources: int
    manifest: dict[str, Any]

    def per_page(self) -> dict[str, float]:
        return {"wall_s": self.wall_s / self.pages, "cpu_s": self.cpu_s / self.pages,
                "peak_rss_mb": self.peak_rss_mb}


def run_capture(mode: str, url: str, work: Path, pages: int, tabs: int) -> Run:
    root = work / f"ws-{mode}"
    archiver = Path(sys.executable).parent / "archiver"
    command = [str(archiver) if archiver.exists() else "archiver", "-w", str(root), "capture", url, "--json",
               "--depth", "1", "--timeout", "15"]
    if mode == "browser":
        command += ["--browser", "on", "--browser-tabs", str(tabs)]
    before = os.times()
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_pss(proc.pid))
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.monotonic() - started
    sampler.join()
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"archiver capture ({mode}) exited {proc.returncode}: {err.strip()[-500:]}")
    summary = json.loads(out)
    manifest = yaml.safe_load((root / summary["manifest"]).read_text())
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return Run(mode, pages + 1, wall, cpu, peak[0] / 1e6, summary["resources"], manifest)


def shares(static: Run, browser: Run) -> dict[str, dict[str, float]]:
    """Share of the browser's requests each capture archived: all, and those the HTML or CSS names."""
    static_urls = {r["url"] for r in static.manifest["resources"]}
    requested = named = missed_all = missed_named = archived = 0
    for page in browser.manifest.get("browser_pages", []):
        requested += page["requested"]
        archived += page["archived"]
        not_named = [u for u in page.get("not_found_statically", []) if not any(p in u for p in NAMED)]
        named += page["requested"] - len(not_named)
        for url in page.get("not_found_statically", []):
            if url not in static_urls:
                missed_all += 1
                missed_named += any(p in url for p in NAMED)
    return {"browser": {"all": archived / requested if requested else 0.0,
                        "named": archived / requested if requested else 0.0},
            "static": {"all": (requested - missed_all) / requested if requested else 0.0,
                       "named": (named - missed_named) / named if named else 0.0},
            "requests": {"all": requested, "named": named}}


def table(static: Run, browser: Run, share: dict[str, dict[str, float]]) -> str:
    s, b = static.per_page(), browser.per_page()
    rows = [("", "static", "browser"),
            ("pages", str(static.pages), str(browser.pages)),
            ("resources archived", str(static.resources), str(browser.resources)),
            ("wall time per page", f"{s['wall_s'] * 1000:.0f} ms", f"{b['wall_s'] * 1000:.0f} ms"),
            ("CPU per page", f"{s['cpu_s'] * 1000:.0f} ms", f"{b['cpu_s'] * 1000:.0f} ms"),
            ("peak memory (process tree, PSS)", f"{s['peak_rss_mb']:.0f} MB", f"{b['peak_rss_mb']:.0f} MB"),
            (f"browser's requests archived ({share['requests']['all']})",
             f"{share['static']['all']:.1%}", f"{share['browser']['all']:.1%}"),
            (f"... named in HTML or CSS ({share['requests']['named']})",
             f"{share['static']['named']:.1%}", f"{share['browser']['named']:.1%}")]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{r[0]:<{width}}  {r[1]:>10}  {r[2]:>10}" for r in rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Capture through the browser against the static capture.")
    p.add_argument("--pages", type=int, default=50, help="pages linked from the index (default 50)")
    p.add_argument("--tabs", type=int, default=2, help="--browser-tabs of the browser capture (default 2)")
    p.add_argument("--latency", type=float, default=0.005, help="seconds added to every response (default 0.005)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON after the table")
    args = p.parse_args(argv)
    if not 1 <= args.pages <= 1000 or not 1 <= args.tabs <= 16 or not 0 <= args.latency <= 5:
        p.error("--pages 1 to 1000, --tabs 1 to 16, --latency 0 to 5")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="archiver-bench-browser-"))
    try:
        with build_site(args.pages, args.latency).start() as site:
            url = site.url("h0", "/index.html")
            static = run_capture("static", url, work, args.pages, args.tabs)
            browser = run_capture("browser", url, work, args.pages, args.tabs)
        share = shares(static, browser)
        print(f"{args.pages} pages + index on {HOSTS} loopback hosts, {args.latency * 1000:g} ms latency, "
              f"{args.tabs} tab(s)\n")
        print(table(static, browser, share))
        print()
        for what, value, target in (("browser capture archives every browser request", share["browser"]["all"],
                                     TARGET_BROWSER_ALL),
                                    ("static capture finds >= 95% of the requests for URLs named in HTML or CSS",
                                     share["static"]["named"], TARGET_STATIC_NAMED)):
            print(f"{'MET' if value >= target else 'NOT MET':>7}  {what}: {value:.1%}")
        if args.json:
            print(json.dumps({"static": {**asdict(static), "manifest": None, **static.per_page()},
                              "browser": {**asdict(browser), "manifest": None, **browser.per_page()},
                              "shares": share}, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
