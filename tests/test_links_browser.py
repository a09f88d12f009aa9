"""Static extraction against what a real browser requests (issue #17, "static capture learns from the
browser"): a page naming its requisites in every way modern pages do is loaded in Chromium, scrolled,
and every URL Chromium requested must be among those archiver's static extraction finds in the page
and its stylesheets."""

from __future__ import annotations

import base64
import time

from archiver.core.models import Role
from archiver.demo.server import Host, Response
from archiver.page.links import css_links, html_links

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg"><symbol id="i" viewBox="0 0 10 10">'
       b'<rect width="10" height="10"/></symbol></svg>')

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>t</title>
<link rel="preload" as="image" href="/img/hero.png" imagesrcset="/img/hero-1x.png 1x, /img/hero-2x.png 2x">
<link rel="preload" as="font" type="font/woff2" href="/fonts/pre.woff2" crossorigin>
<link rel="modulepreload" href="/js/mod.js">
<link rel="icon" href="/favicon.png">
<link rel="stylesheet" href="/css/site.css">
<style>@font-face { font-family: inline; src: url(/fonts/inline.woff2) format("woff2") }
.inline-font { font-family: inline }
.set { width: 10px; height: 10px; background-image: image-set("/img/set-1x.png" 1x, "/img/set-2x.png" 2x) }</style>
<script type="module" src="/js/mod.js"></script>
</head><body>
<p class="inline-font">text in the inline font</p><p class="site-font">text in the stylesheet's font</p>
<div class="set"></div><div class="sheet-bg"></div>
<picture><source srcset="/img/pic-wide.png" media="(min-width: 10px)"><img src="/img/pic.png" alt=""></picture>
<svg width="10" height="10"><use href="/img/sprite.svg#i"></use></svg>
<div style="height: 3000px"></div>
<img class="lazy" src="/img/placeholder.png" data-src="/img/lazy.png" alt="">
<img loading="lazy" src="/img/native-lazy.png" alt="">
<div class="lazy-bg" data-bg="/img/lazy-bg.png" style="width: 10px; height: 10px"></div>
<noscript><img src="/img/noscript.png" alt=""></noscript>
<script>
for (const img of document.querySelectorAll("img[data-src]")) img.src = img.dataset.src;
for (const el of document.querySelectorAll("[data-bg]")) el.style.backgroundImage = `url(${el.dataset.bg})`;
</script>
</body></html>"""

SITE_CSS = """@import "/css/more.css";
@font-face { font-family: site; src: url(/fonts/site.woff2) format("woff2") }
.site-font { font-family: site }
.sheet-bg { width: 10px; height: 10px; background: -webkit-image-set(url(/img/sheet-1x.png) 1x) }"""
MORE_CSS = ".more { color: red } body { background-image: url(/img/body-bg.png) }"


def routes() -> dict[str, Response]:
    def ok(body: bytes, kind: str) -> Response:
        return Response(200, [("Content-Type", kind)], body)

    found: dict[str, Response] = {"/": ok(PAGE.encode(), "text/html; charset=utf-8"),
                                  "/css/site.css": ok(SITE_CSS.encode(), "text/css"),
                                  "/css/more.css": ok(MORE_CSS.encode(), "text/css"),
                                  "/js/mod.js": ok(b"export const x = 1;", "text/javascript"),
                                  "/img/sprite.svg": ok(SVG, "image/svg+xml"),
                                  "/favicon.png": ok(PNG, "image/png")}
    for name in ("hero", "hero-1x", "hero-2x", "set-1x", "set-2x", "pic-wide", "pic", "placeholder", "lazy",
                 "native-lazy", "lazy-bg", "noscript", "sheet-1x", "body-bg"):
        found[f"/img/{name}.png"] = ok(PNG, "image/png")
    for name in ("pre", "inline", "site"):
        found[f"/fonts/{name}.woff2"] = ok(b"wOF2 not a real font", "font/woff2")
    return found


def test_static_extraction_finds_every_url_chromium_requests_that_the_page_names(chromium: str, serve) -> None:
    from playwright.sync_api import sync_playwright

    site = serve([Host("page", "127.0.0.193", routes=routes())])
    start = site.url("page", "/")
    requested: set[str] = set()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 600})
            page.on("request", lambda request: requested.add(request.url.split("#", 1)[0]))
            page.goto(start, wait_until="networkidle")
            for y in range(0, 3600, 400):                       # scroll in steps, as lazy content needs
                page.evaluate(f"window.scrollTo(0, {y})")
                time.sleep(0.05)
            page.wait_for_load_state("networkidle")
        finally:
            browser.close()

    found = {link.url for link in html_links(PAGE, start).links if link.role is Role.REQUISITE} | {start}
    queue = [u for u in found if u.endswith(".css")]
    while queue:                                                # stylesheets and what they import
        url = queue.pop()
        for link in css_links(routes()[url.removeprefix(site.origin("page"))].body.decode(), url):
            if link.url not in found:
                found.add(link.url)
                if link.url.endswith(".css"):
                    queue.append(link.url)
    requested = {u for u in requested if u.startswith(site.origin("page"))}
    assert len(requested) >= 15, sorted(requested)              # the browser did load the page's requisites
    missed = requested - found
    assert not missed, f"Chromium requested what static extraction did not find: {sorted(missed)}"
    # lazy images that only a script or scrolling loads were requested too, and found statically
    assert {site.url("page", p) for p in ("/img/lazy.png", "/img/lazy-bg.png", "/img/native-lazy.png")} <= requested
