"""What a person reads: spans in words, times with their zone; --json keeps exact values."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from archiver import capture
from archiver.core.humane import moment, span
from archiver.core.settings import CaptureOptions
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response


@pytest.mark.parametrize("seconds,words", [
    (0, "less than a second"), (0.4, "less than a second"), (1, "1 second"), (59, "59 seconds"),
    (61, "1 minute 1 second"), (3600, "1 hour"), (3661, "1 hour 1 minute"), (90061, "1 day 1 hour"),
    (86400 * 3 + 3600 * 4 + 5, "3 days 4 hours"), (86400 + 5, "1 day"), (-7200, "2 hours"),
    (86400 * 400, "1 year 35 days"),
])
def test_span_gives_the_two_largest_units_that_matter(seconds: float, words: str) -> None:
    assert span(seconds) == words


def test_moment_names_the_zone_and_leaves_what_is_not_a_time() -> None:
    assert moment("2026-11-30T17:18:50.022000Z") == "2026-11-30 17:18:50 UTC"
    assert moment("2026-11-30T18:18:50+01:00") == "2026-11-30 17:18:50 UTC"
    assert moment("not a time") == "not a time"


def test_lookup_says_how_far_in_words_and_json_keeps_the_seconds(serve, workspace: Workspace) -> None:
    page = Response(200, [("Content-Type", "text/html")], b"<!doctype html><title>t</title><p>text</p>")
    site = serve([Host("h", "127.0.0.191", routes={"/": page})])
    url = site.url("h", "/")
    capture([url], workspace, CaptureOptions(depth=0, timeout=10))
    at = (datetime.now(UTC) - timedelta(days=3, hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = [sys.executable, "-m", "archiver", "-w", str(workspace.root), "lookup", "--at", at, url]
    text = subprocess.run(run, capture_output=True, text=True, check=True).stdout
    assert "(3 days 4 hours away)" in text and " UTC" in text and "T" not in text.splitlines()[1].split()[1]
    data = json.loads(subprocess.run([*run, "--json"], capture_output=True, text=True, check=True).stdout)
    assert 3 * 86400 + 4 * 3600 - 60 < data["distance_seconds"] < 3 * 86400 + 4 * 3600 + 60
    assert data["mementos"][0]["datetime"].endswith("Z")


def test_show_and_report_give_times_with_zone_age_and_spans(serve, workspace: Workspace) -> None:
    page = Response(200, [("Content-Type", "text/html")], b"<!doctype html><title>t</title><p>text</p>")
    site = serve([Host("h", "127.0.0.192", routes={"/": page})])
    url = site.url("h", "/")
    first = capture([url], workspace, CaptureOptions(depth=0, timeout=10))
    second = capture([url], workspace, CaptureOptions(depth=0, timeout=10))
    base = [sys.executable, "-m", "archiver", "-w", str(workspace.root)]
    shown = subprocess.run([*base, "show", first.capture_id], capture_output=True, text=True, check=True).stdout
    started = next(line for line in shown.splitlines() if line.strip().startswith("started"))
    ended = next(line for line in shown.splitlines() if line.strip().startswith("ended"))
    assert " UTC (" in started and started.endswith(" ago)") and "T" not in started.split()[1]
    assert " UTC (took " in ended
    report = subprocess.run([*base, "report"], capture_output=True, text=True, check=True).stdout
    seen = [line.strip() for line in report.splitlines() if line.strip().startswith("seen ")]
    assert seen and all(" UTC (" in line and " ago) in capture " in line for line in seen)
    assert any(second.capture_id in line and "after the capture before" in line for line in seen), report
    data = json.loads(subprocess.run([*base, "report", "--json"], capture_output=True, text=True, check=True).stdout)
    assert all(item["datetime"].endswith("Z") and "T" in item["datetime"] for item in data)
