"""The reference CSL processor, citeproc-js (npm package ``citeproc``) run by the machine's Node.js,
renders the CSL-JSON ``archiver cite --style csl-json`` prints, with the same style and locale files:
its text equals what ``archiver cite --style apa|mla|chicago`` prints, entry for entry and in the
same order, for every source of the demo and of a site of authored, unauthored, dated, undated, PDF,
blog, dataset and non-English pages. docs/citations.md's examples are what cite prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import need
from pdf_files import one_page_pdf

from archiver import capture
from archiver.citing.formats import FORMATS
from archiver.citing.formats.csl_styles import BUILT_IN, locales_folder, styles_folder
from archiver.citing.formats.data import CitationData, Name
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response

CITEPROC_VERSION = "2.4.63"          # the version vendored in archiver/citing/formats/citeproc-js/
ARCHIVER = [sys.executable, "-m", "archiver"]
HUMAN = ("apa", "mla", "chicago")
DOCS = Path(__file__).parent.parent / "docs" / "citations.md"

# citeproc-js as Zotero calls it: an engine from a style and a sys object, then a bibliography
NODE_RENDER = r"""
const [citeprocPath, stylePath, localeDir, itemsPath] = process.argv.slice(2);
const CSL = require(citeprocPath);
const fs = require("fs");
const path = require("path");
const style = fs.readFileSync(stylePath, "utf8");
const items = JSON.parse(fs.readFileSync(itemsPath, "utf8"));
const byId = {};
for (const item of items) byId[item.id] = item;
const sys = {
  retrieveLocale(lang) {
    const file = path.join(localeDir, "locales-" + lang + ".xml");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : false;
  },
  retrieveItem(id) { return byId[id]; },
};
const lang = (style.match(/default-locale="([^"]+)"/) || [null, "en-US"])[1];
const engine = new CSL.Engine(sys, style, lang);
engine.setOutputFormat("text");
engine.updateItems(items.map((item) => item.id));
const [, entries] = engine.makeBibliography();
process.stdout.write(JSON.stringify(entries.map((entry) => entry.trim())));
"""


@pytest.fixture(scope="module")
def citeproc_node(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """Node.js and the npm package citeproc, installed into this run's temporary folder."""
    node = shutil.which("node")
    need("Node.js", node, "apt-get install -y nodejs npm")
    npm = shutil.which("npm")
    need("npm", npm, "apt-get install -y npm")
    prefix = tmp_path_factory.mktemp("npm-citeproc")
    done = subprocess.run([str(npm), "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                           f"citeproc@{CITEPROC_VERSION}"], capture_output=True, text=True, timeout=300)
    need(f"the npm package citeproc@{CITEPROC_VERSION}", done.returncode == 0,
         f"npm install --prefix DIR citeproc@{CITEPROC_VERSION} ({done.stderr.strip()[-200:]})")
    return str(node), prefix / "node_modules" / "citeproc"


def node_bibliography(citeproc: tuple[str, Path], style: str, csl_json: str, tmp: Path) -> list[str]:
    node, package = citeproc
    items = tmp / f"items-{style}.json"
    items.write_text(csl_json, encoding="utf-8")
    script = tmp / "render.js"
    script.write_text(NODE_RENDER, encoding="utf-8")
    style_file = styles_folder() / f"{BUILT_IN[style]}.csl"
    done = subprocess.run([node, str(script), str(package), str(style_file), str(locales_folder()), str(items)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def cite(workspace: Path, target: str, style: str) -> str:
    done = subprocess.run([*ARCHIVER, "-w", str(workspace), "cite", target, "--style", style],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def agree(citeproc: tuple[str, Path], workspace: Path, target: str, tmp: Path) -> dict[str, list[str]]:
    csl_json = cite(workspace, target, "csl-json")
    ours = {}
    for style in HUMAN:
        mine = cite(workspace, target, style).splitlines()
        theirs = node_bibliography(citeproc, style, csl_json, tmp)
        assert mine == theirs, (style, [(a, b) for a, b in zip(mine, theirs) if a != b][:2])
        ours[style] = mine
    return ours


# --- a site of every kind of source -------------------------------------------------------------

def html(body: str, head: str = "", lang: str = "en") -> Response:
    text = f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'
    return Response(200, [("Content-Type", "text/html; charset=utf-8")], text.encode("utf-8"))


def jsonld(data: dict[str, object]) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def small_pdf(title: str, author: str) -> bytes:
    """A one-page PDF with an info dictionary (title, author, creation date)."""
    return one_page_pdf([(18, "Minutes of the harbour committee")],
                        {"Title": title, "Author": author, "CreationDate": "D:20261104090000Z"})


def every_kind_site() -> Host:
    links = "".join(f'<p>See <a href="{p}">{p}</a>.</p>' for p in (
        "/about.html", "/notice.html", "/fr/article.html", "/ja/page.html", "/blog/post.html",
        "/docs/minutes.pdf", "/data/table.html", "/reports/water.html"))
    news = jsonld({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Harbour tender reopened",
                   "datePublished": "2026-11-20T09:30:00+01:00",
                   "author": [{"@type": "Person", "name": "Morwenna Treloar"}, {"@type": "Person", "name": "Jory Pascoe"}],
                   "publisher": {"@type": "Organization", "name": "The Saltmarsh Courier"}})
    routes = {
        "/news/harbour.html": html(f"<article><h1>Harbour tender reopened</h1>{links}</article>",
                                   f'<title>Harbour tender reopened</title>{news}'
                                   '<meta property="og:site_name" content="The Saltmarsh Courier">'),
        "/about.html": html("<h1>About us</h1>", "<title>About us</title>"),
        "/notice.html": html("<h1>Public notice</h1>", '<title>Public notice: closure of Quay Street</title>'
                             '<meta name="citation_title" content="Public notice: closure of Quay Street">'
                             '<meta name="citation_publication_date" content="1998/03/02">'),
        "/fr/article.html": html("<h1>Le port</h1>", '<title>Le port de Saltmarsh et ses pêcheurs</title>'
                                 '<meta name="author" content="Jean de La Fontaine">'
                                 '<meta property="article:published_time" content="2026-10-05">', lang="fr"),
        "/ja/page.html": html("<h1>港</h1>", "<title>港の浚渫工事について</title>"
                              '<meta name="author" content="山田 花子">', lang="ja"),
        "/blog/post.html": html("<h1>Dredging, again</h1>", "<title>Dredging, again</title>" + jsonld(
            {"@context": "https://schema.org", "@type": "BlogPosting", "headline": "Dredging, again",
             "datePublished": "2026-11-02", "author": {"@type": "Person", "name": "Anna van der Berg"}})),
        "/docs/minutes.pdf": Response(200, [("Content-Type", "application/pdf")],
                                      small_pdf("Harbour committee minutes", "Saltmarsh Town Council")),
        "/data/table.html": html("<h1>Contracts</h1>", "<title>Harbour contracts 2020-2026</title>" + jsonld(
            {"@context": "https://schema.org", "@type": "Dataset", "name": "Harbour contracts 2020-2026",
             "creator": {"@type": "Organization", "name": "Saltmarsh Open Data"}})),
        "/reports/water.html": html("<h1>Water quality</h1>", "<title>Inner harbour water quality 2026</title>"
                                    '<meta name="citation_title" content="Inner harbour water quality 2026">'
                                    '<meta name="citation_technical_report_institution" content="Saltmarsh Town Council">'
                                    '<meta name="citation_date" content="2026">'),
    }
    return Host("kinds", "127.0.0.71", routes=routes)


def test_citeproc_js_agrees_on_every_source_of_a_site_of_every_kind(serve, tmp_path: Path, citeproc_node) -> None:
    site = serve([every_kind_site()])
    workspace = Workspace(tmp_path / "ws")
    result = capture([site.url("kinds", "/news/harbour.html")], workspace, CaptureOptions(timeout=10))
    assert result.ok, result.seed_problems
    ours = agree(citeproc_node, workspace.root, result.capture_id, tmp_path)
    assert all(len(entries) == 9 for entries in ours.values())
    apa = "\n".join(ours["apa"])
    assert "Http" not in "\n".join(ours["chicago"]) and "archived 20" in apa
    assert not re.search(r"[0-9a-f]{64}", "\n".join(e for entries in ours.values() for e in entries))


def test_citeproc_js_agrees_on_every_source_of_the_demo(tmp_path: Path, citeproc_node) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([*ARCHIVER, "demo", "--keep"], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode == 0, done.stderr
    workspace = Path(re.findall(r"workspace kept: (.+)", done.stdout)[0].strip())
    capture_id = next(workspace.joinpath("manifests").glob("*.yaml")).stem
    ours = agree(citeproc_node, workspace, capture_id, tmp_path)
    assert len(ours["apa"]) >= 5


# --- docs/citations.md: one real example per style ----------------------------------------------

def example_sources() -> list[CitationData]:
    archived = "https://archive.example.org/archive/20261129150447/https://news.example/articles/harbour.html"
    at = datetime(2026, 11, 29, 15, 4, 47, tzinfo=UTC)
    article = CitationData(
        url="https://news.example/articles/harbour.html", title="Council awards £4.2m harbour dredging contract",
        archived_url=archived, archived_at=at, capture_id="20261129T150447Z-bce0ff",
        payload_sha256="4063636aa3619d89ea8f68815dad789a6f117da611bf912a46378fadea0451ae",
        authors=(Name.parse("Morwenna Treloar"),), issued=(2026, 11, 20), site="The Saltmarsh Courier",
        kind="article-newspaper")
    notice = CitationData(
        url="https://council.example/notices/quay-street.html", title="Public notice: closure of Quay Street",
        archived_url=archived.replace("news.example/articles/harbour", "council.example/notices/quay-street"),
        archived_at=at, capture_id="20261129T150447Z-bce0ff",
        payload_sha256="a1c54b05111d8a31bc5123c66473f137d575250594e7ceedf92074ad3203c4a5", kind="webpage")
    return [article, notice]


def docs_examples() -> dict[str, str]:
    sources = example_sources()
    return {style: FORMATS[style](sources).rstrip("\n") for style in
            ("apa", "mla", "chicago", "markdown", "bibtex", "ris", "csl-json")}


def test_docs_examples_are_what_cite_prints() -> None:
    text = DOCS.read_text(encoding="utf-8")
    examples = docs_examples()
    rewritten = text
    for style, example in examples.items():
        block = re.compile(rf"(<!-- example:{style} -->\n```[a-z-]*\n)(.*?)(^```$)", re.S | re.M)
        assert block.search(text), f"docs/citations.md has no example for {style}"
        rewritten = block.sub(lambda m, e=example: m.group(1) + e + "\n" + m.group(3), rewritten)
    if os.environ.get("ARCHIVER_WRITE_DOCS"):
        DOCS.write_text(rewritten, encoding="utf-8")
    assert rewritten == text, "docs/citations.md's examples differ: ARCHIVER_WRITE_DOCS=1 pytest tests/test_citeproc_js.py -k docs"
