from __future__ import annotations

from archiver.core.models import Role
from archiver.page.links import charset_of, css_links, decode, html_links, srcset_urls


def urls(links, role=None) -> list[str]:
    return [l.url for l in links if role is None or l.role is role]


def test_html_links_roles_and_base() -> None:
    html = """<html><head><base href="http://cdn.example/assets/"><link rel="stylesheet" href="s.css">
    <link rel="alternate" href="feed.xml"><link rel="preload" as="font" href="f.woff2"></head>
    <body background="bg.gif"><a href="/page">p</a><area href="map.html"><iframe src="frame.html"></iframe>
    <embed src="e.swf"><object data="o.svg"></object><input type="image" src="btn.png">
    <audio src="a.mp3"></audio><track src="subs.vtt"></body></html>"""
    found = html_links(html, "http://site.example/article")
    assert urls(found.links, Role.SOURCE) == ["http://cdn.example/page", "http://cdn.example/assets/map.html"]
    assert set(urls(found.links, Role.REQUISITE)) == {
        "http://cdn.example/assets/" + p for p in
        ("s.css", "f.woff2", "bg.gif", "frame.html", "e.swf", "o.svg", "btn.png", "a.mp3", "subs.vtt")}
    assert "http://cdn.example/assets/feed.xml" not in urls(found.links)


def test_srcset_parsing() -> None:
    assert srcset_urls("a.png 1x, b.png 2x") == ["a.png", "b.png"]
    assert srcset_urls("a.png 480w,b.png 800w") == ["a.png", "b.png"]
    assert srcset_urls("img,with,commas.png 1x, plain.png") == ["img,with,commas.png", "plain.png"]
    assert srcset_urls("  ") == []


def test_css_url_and_import() -> None:
    css = r"""@import "a.css"; @import url('b.css') screen; /* url(no.png) */
    .x { background: url(  "c.png" ) } .y { src: url(d\2e woff) } .z { background: url(data:image/png;base64,AA) }"""
    assert urls(css_links(css, "http://h.example/css/main.css")) == [
        "http://h.example/css/a.css", "http://h.example/css/b.css", "http://h.example/css/c.png",
        "http://h.example/css/d.woff"]


def test_meta_refresh_and_page_facts() -> None:
    found = html_links('<meta http-equiv="refresh" content="0; url=/moved"><title> A  title </title>'
                       "<script>1</script><p>Some text</p>", "http://h.example/x")
    assert found.refresh == "http://h.example/moved"
    assert found.title == "A title" and found.scripts == 1 and found.text_chars == len("Some text")


def test_charset_detection_order() -> None:
    cp = "<meta charset=windows-1252><p>café</p>".encode("cp1252")
    assert charset_of(cp, "text/html") == "cp1252"
    assert charset_of(cp, "text/html; charset=utf-8") == "utf-8"
    assert "café" in decode(cp, None)
    assert charset_of(b"\xef\xbb\xbf<p>x", "text/html; charset=latin-1") == "utf-8"
    assert charset_of(b"<p>x", "text/html; charset=bogus") == "utf-8"


LEARNED = """<!doctype html><html><head>
<link rel="preload" as="image" href="hero.jpg" imagesrcset="hero-1x.jpg 1x, hero-2x.jpg 2x">
<link rel="modulepreload" href="mod.js"><link rel="prefetch" href="next.js"><link rel="manifest" href="app.webmanifest">
<style>@font-face { font-family: x; src: url(f.woff2) format("woff2") }
.h { background-image: image-set("bg-1x.png" 1x, url(bg-2x.png) 2x) }
.k { background: -webkit-image-set('wk.png' 1x) }</style></head>
<body><noscript><img src="ns.png"></noscript>
<img class="lazyload" data-src="lazy.jpg" data-srcset="l1.jpg 1x, l2.jpg 2x" src="placeholder.gif">
<div data-bg="bgdiv.jpg"></div><div data-src="{&quot;json&quot;: 1}"></div><div data-original="not a url at all"></div>
<svg><use href="sprite.svg#i"></use><use xlink:href="#local"></use><image xlink:href="im.png"></image></svg>
</body></html>"""


def test_static_extraction_finds_what_browsers_are_led_to_by_html_and_css() -> None:
    """Preload image sets, module preloads, prefetches, fonts and image-set() in inline styles, lazy-image
    attributes, <noscript> images and SVG sprites (issue #17: what static capture learns from the browser)."""
    found = urls(html_links(LEARNED, "http://h.example/p/").links, Role.REQUISITE)
    expected = ["hero.jpg", "hero-1x.jpg", "hero-2x.jpg", "mod.js", "next.js", "app.webmanifest", "f.woff2",
                "bg-1x.png", "bg-2x.png", "wk.png", "ns.png", "placeholder.gif", "lazy.jpg", "l1.jpg", "l2.jpg",
                "bgdiv.jpg", "sprite.svg", "im.png"]
    assert sorted(found) == sorted(f"http://h.example/p/{name}" for name in expected)
    assert not any("json" in u or "not%20a" in u or "local" in u for u in found)
    css = '.a { background: image-set("x.avif" type("image/avif"), "y.png") }'
    assert urls(css_links(css, "http://h.example/")) == ["http://h.example/x.avif", "http://h.example/y.png"]
