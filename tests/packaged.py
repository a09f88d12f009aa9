"""A workspace for the package tests: a first capture unsigned, then a key, then two signed captures
of the sample site; the last one's payloads are all revisits of the first's."""

from __future__ import annotations

import time
from pathlib import Path

from archiver import capture
from archiver.core.settings import CaptureOptions, Operator, Settings
from archiver.core.workspace import Workspace
from archiver.demo.sample import ARTICLE_PATH, sample_site
from archiver.fixity.signing import generate_key_pair

SETTINGS = Settings(operator=Operator(name="Saltmarsh Town Library", contact="archive@saltmarsh.example"))


def three_captures(root: Path) -> tuple[Workspace, list[str], str]:
    """(the workspace, its capture ids oldest first, the article's URL)."""
    workspace = Workspace(root)
    ids = []
    with sample_site() as site:
        article = site.url("news", ARTICLE_PATH)
        for n in range(3):
            if n == 1:
                generate_key_pair(workspace.private_key_path, workspace.public_key_path)
            result = capture([article], workspace, CaptureOptions(timeout=5), settings=SETTINGS)
            assert result.ok, result.seed_problems
            ids.append(result.capture_id)
            time.sleep(1.1)           # each capture its own 14-digit timestamp
    return workspace, ids, article
