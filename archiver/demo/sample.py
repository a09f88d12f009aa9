"""The bundled sample news site: an article on one loopback host linking sources on others."""

from __future__ import annotations

from pathlib import Path

from .server import Host, Response, Site

SITE_DIR = Path(__file__).parent / "site"
ARTICLE_PATH = "/articles/harbour-contract.html"


def _redirect(site: Site, path: str) -> Response:
    target = site.url("library", "/reports/water-2026.html")
    return Response(301, [("Location", target), ("Content-Type", "text/html; charset=utf-8")],
                    f'<!doctype html><title>Moved</title><a href="{target}">Moved here</a>'.encode())


SERVE_PORT = 8000      # ``archiver demo --serve``: the port README.md's walk-through names on every host


def sample_site(base: str = "127.0.0", first: int = 11, latency: float = 0.0, port: int = 0) -> Site:
    """The sample site, not yet started: news, library, data and legacy hosts, and a dead one; on
    ``port`` of each host's address (0: any free port)."""
    return Site([
        Host("news", f"{base}.{first}", SITE_DIR / "news"),
        Host("library", f"{base}.{first + 1}", SITE_DIR / "library", routes={"/old/report": _redirect}),
        Host("data", f"{base}.{first + 2}", SITE_DIR / "data"),
        Host("legacy", f"{base}.{first + 3}", SITE_DIR / "legacy", charset="windows-1252"),
        Host("dead", f"{base}.{first + 4}", listening=False),
    ], latency=latency, port=port)
