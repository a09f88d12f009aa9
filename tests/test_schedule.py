"""Scheduled archiving end to end: a site whose sources change between runs; dedup; the report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pywbkit import fetch, wayback

from archiver.core.settings import load_settings
from archiver.core.workspace import Workspace
from archiver.demo.server import Host, Response, Site
from archiver.watch.drift import Verdict
from archiver.watch.report import drift_report
from archiver.watch.runs import RunBusy, run_due, run_lock

ARCHIVER = [sys.executable, "-m", "archiver"]
HTML = [("Content-Type", "text/html; charset=utf-8")]
PARAGRAPHS = {
    "s1": "The water board said the reservoir stood at sixty per cent of capacity in October.",
    "s4": "Volunteers planted four hundred oak saplings along the northern bank of the river.",
    "s5": "The library will open on Sundays from January, the council confirmed this week.",
    "s2": "Bus route nine will be withdrawn in spring after a consultation found few riders.",
    "s3": "The old footbridge closes for repairs on Monday and reopens after three weeks.",
}


def page(title: str, text: str, run: int, links: str = "") -> bytes:
    """A page; with ``run`` > 0 its advert and footer timestamp change every time it is served."""
    stamp = f"Page generated {datetime.now(UTC):%H:%M:%S.%f}" if run else "Page generated daily"
    return (f"<html lang='en'><head><title>{title}</title></head><body><header><nav>Home | News</nav></header>"
            f"<aside class='ad'>Advert {run * 7919 % 1000}: buy shoes now</aside><article><h1>{title}</h1>"
            f"<p>{text}</p><p>{text.replace('.', ', reporters were told.')}</p>{links}</article>"
            f"<footer>{stamp}</footer></body></html>").encode()


class Changing:
    """The site's state for run 1, 2, 3."""

    def __init__(self) -> None:
        self.run = 1

    def route(self, name: str):
        def respond(site: Site, path: str) -> Response:
            r = self.run
            if name == "a":
                links = "".join(f'<a href="/{s}">{s}</a> ' for s in PARAGRAPHS)
                return Response(200, HTML, page("Weekly round-up", "Five local stories this week, in brief.", 0, links))
            if name == "s2" and r >= 2:
                return Response(404, HTML, b"<h1>Not found</h1>")
            if name == "s3" and r >= 3:
                return Response(301, [("Location", site.url("h", "/s3-new"))] + HTML, b"moved")
            text = PARAGRAPHS[name] if name != "s3-new" else PARAGRAPHS["s3"]
            if name == "s1" and r >= 3:
                text = text.replace("sixty", "forty-five")
            return Response(200, HTML, page(name, text, r if name == "s4" else 0))
        return respond


@pytest.fixture
def watched(serve, workspace: Workspace):
    state = Changing()
    routes = {f"/{n}": state.route(n) for n in ["a", *PARAGRAPHS, "s3-new"]}
    site = serve([Host("h", "127.0.0.95", routes=routes)])
    workspace.ensure()
    (workspace.root / "archiver.yaml").write_text(
        f"collection: watch\nschedules:\n  - name: roundup\n    urls: [{site.url('h', '/a')}]\n    every: 1h\n"
        f"    capture:\n      ignore_robots: true\n")
    return site, workspace, state


def three_runs(site: Site, ws: Workspace, state: Changing) -> list:
    settings = load_settings(ws.root)
    start = datetime.now(UTC)
    outcomes = []
    for run in (1, 2, 3):
        state.run = run
        with run_lock(ws):
            done = run_due(ws, settings, now=start + timedelta(hours=2 * (run - 1), seconds=1))
        assert len(done) == 1 and done[0].ok, done
        outcomes.append(done[0])
        nothing = run_due(ws, settings, now=datetime.now(UTC))      # not due again at once
        assert nothing == []
    return outcomes


def test_three_runs_report_exactly_what_changed(watched) -> None:
    site, ws, state = watched
    outcomes = three_runs(site, ws, state)
    lines = drift_report(ws, load_settings(ws.root))
    verdicts = {l.change.url: l.change.verdict for l in lines}
    assert verdicts[site.url("h", "/s1")] is Verdict.CHANGED
    assert verdicts[site.url("h", "/s2")] is Verdict.GONE
    assert verdicts[site.url("h", "/s3")] is Verdict.MOVED
    for unchanged in ("/a", "/s4", "/s5"):          # s4: only the advert and the timestamp changed
        assert verdicts[site.url("h", unchanged)] is Verdict.UNCHANGED, unchanged
    flagged = {u for u, v in verdicts.items() if v in (Verdict.CHANGED, Verdict.GONE, Verdict.MOVED)}
    assert flagged == {site.url("h", p) for p in ("/s1", "/s2", "/s3")}
    changed = next(l for l in lines if l.change.url == site.url("h", "/s1"))
    assert any("forty-five" in d for d in changed.change.diff) and any("sixty" in d for d in changed.change.diff)
    gone = next(l for l in lines if l.change.url == site.url("h", "/s2"))
    assert gone.citation and outcomes[0].capture_id in gone.citation       # last good capture, cited
    proc = subprocess.run([*ARCHIVER, "-w", str(ws.root), "report", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert {r["url"] for r in json.loads(proc.stdout) if r["verdict"] in ("changed", "gone", "moved")} == flagged
    assert subprocess.run([*ARCHIVER, "-w", str(ws.root), "verify"], capture_output=True).returncode == 0


def test_unchanged_payloads_are_stored_once_and_replay_from_every_capture(watched, tmp_path: Path) -> None:
    site, ws, state = watched
    outcomes = three_runs(site, ws, state)
    import yaml

    manifests = [yaml.safe_load((ws.manifests_dir / f"{o.capture_id}.yaml").read_text()) for o in outcomes]
    s5 = [next(r for r in m["resources"] if r["url"] == site.url("h", "/s5")) for m in manifests]
    assert "revisit_of" not in s5[0]
    assert s5[1]["revisit_of"]["record_id"] == s5[0]["record_id"] == s5[2]["revisit_of"]["record_id"]
    served = site.served_for(site.url("h", "/s5")).body
    # pywb resolves the revisits: each capture time replays the original bytes
    warcs = sorted(ws.archive_dir.glob("*.warc.gz"))
    with wayback(warcs, tmp_path / "pywb", collection="watch") as base:
        for res in s5:
            ts = "".join(c for c in res["date"] if c.isdigit())[:14]
            assert fetch(f"{base}/watch/{ts}id_/{res['url']}")[0] == served


def test_cli_run_is_cron_safe(watched) -> None:
    site, ws, state = watched
    first = subprocess.run([*ARCHIVER, "-w", str(ws.root), "run"], capture_output=True, text=True)
    assert first.returncode == 0 and "roundup: ok" in first.stdout
    again = subprocess.run([*ARCHIVER, "-w", str(ws.root), "run"], capture_output=True, text=True)
    assert again.returncode == 0 and "nothing due" in again.stdout
    listed = json.loads(subprocess.run([*ARCHIVER, "-w", str(ws.root), "schedule", "list", "--json"],
                                       capture_output=True, text=True).stdout)
    assert listed[0]["last_outcome"] == "ok" and listed[0]["next_due"] > listed[0]["last_run"]
    with run_lock(ws):
        start = time.monotonic()
        busy = subprocess.run([*ARCHIVER, "-w", str(ws.root), "run"], capture_output=True, text=True)
        assert busy.returncode == 75 and "busy" in busy.stderr and time.monotonic() - start < 5
    with run_lock(ws), pytest.raises(RunBusy):
        with run_lock(ws):
            pass


def test_watch_stops_cleanly_on_sigterm(watched) -> None:
    import signal

    site, ws, state = watched
    proc = subprocess.Popen([*ARCHIVER, "-w", str(ws.root), "run", "--watch"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not list(ws.manifests_dir.glob("*.yaml")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "roundup: ok" in out and "stopped" in err
    assert subprocess.run([*ARCHIVER, "-w", str(ws.root), "verify"], capture_output=True).returncode == 0


def test_malformed_schedules_name_file_line_and_key(tmp_path: Path) -> None:
    from archiver.core.errors import SettingsError

    cases = [("schedules:\n  - name: x\n    urls: [http://a/]\n    every: 5 minutes\n", 4, "schedules.0.every"),
             ("schedules:\n  - name: x\n    urls: [http://a/]\n    every: 1h\n    colour: red\n", 5,
              "schedules.0.colour"),
             ("schedules:\n  - name: x\n    urls: [http://a/]\n    cron: '61 * * * *'\n", 4, "schedules.0.cron")]
    for text, line, key in cases:
        (tmp_path / "archiver.yaml").write_text(text)
        with pytest.raises(SettingsError) as err:
            load_settings(tmp_path)
        assert err.value.key == key and err.value.line == line, (text, err.value)


def test_report_follows_manual_captures_of_watched_urls_even_after_schedule_remove(watched) -> None:
    """The report covers every capture of a watched URL, manual or scheduled; a URL no schedule ever
    covered stays out once there are schedules; removing the schedule keeps its URLs watched."""
    site, ws, state = watched
    with run_lock(ws):
        done = run_due(ws, load_settings(ws.root), now=datetime.now(UTC))
    assert len(done) == 1 and done[0].ok, done
    state.run = 3                                    # s1's text changes
    manual = {}
    for path in ("/s1", "/s3-new"):
        proc = subprocess.run([*ARCHIVER, "-w", str(ws.root), "capture", site.url("h", path), "--json"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        manual[path] = json.loads(proc.stdout)["capture_id"]

    def report() -> dict[str, dict]:
        proc = subprocess.run([*ARCHIVER, "-w", str(ws.root), "report", "--json"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return {r["url"]: r for r in json.loads(proc.stdout)}

    for step in ("scheduled", "removed"):
        rows = report()
        s1 = rows[site.url("h", "/s1")]
        assert (s1["verdict"], s1["capture_id"], s1["previous_capture_id"]) == \
            ("changed", manual["/s1"], done[0].capture_id), step
        assert any("forty-five" in line for line in s1["diff"]), step
        assert site.url("h", "/s3-new") not in rows, step          # never watched: a manual capture only
        assert rows[site.url("h", "/s5")]["verdict"] == "new", step
        if step == "scheduled":
            removed = subprocess.run([*ARCHIVER, "-w", str(ws.root), "schedule", "remove", "roundup"],
                                     capture_output=True, text=True)
            assert removed.returncode == 0, removed.stderr
    assert load_settings(ws.root).schedules == ()


def test_a_cron_schedule_counts_from_when_it_was_added_not_from_the_next_listing(workspace: Workspace) -> None:
    """Added now and first looked at two days later: its first 06:00 has passed, so it is due."""
    workspace.ensure()
    proc = subprocess.run([*ARCHIVER, "-w", str(workspace.root), "schedule", "add", "http://127.0.0.1:9/a",
                           "--cron", "0 6 * * *", "--name", "morning"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    added = datetime.now(UTC)
    from archiver.watch.runs import states

    later = added + timedelta(days=2)
    due = {s.schedule.name: s.next_due for s in states(workspace, load_settings(workspace.root), later)}
    first_six = added.replace(hour=6, minute=0, second=0, microsecond=0)
    first_six += timedelta(days=1) if first_six <= added - timedelta(seconds=30) else timedelta()
    assert abs(due["morning"] - first_six) < timedelta(minutes=1) and due["morning"] <= later


def test_schedule_list_in_the_users_units_and_a_new_cron_waits_for_its_time(serve, workspace: Workspace) -> None:
    site = serve([Host("h", "127.0.0.153", routes={"/a": Response(200, HTML, page("A", PARAGRAPHS["s1"], 0))})])
    workspace.ensure()
    for args in (("--every", "6h", "--name", "six"), ("--cron", "0 6 * * *", "--name", "morning")):
        proc = subprocess.run([*ARCHIVER, "-w", str(workspace.root), "schedule", "add", site.url("h", "/a"), *args],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    listed = subprocess.run([*ARCHIVER, "-w", str(workspace.root), "schedule", "list"], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    six, morning = listed.stdout.splitlines()
    assert "every 6h;" in six and "6:00:00" not in six
    assert "cron 0 6 * * * (UTC)" in morning
    for line in (six, morning):
        assert "last run never;" in line and "never run" not in line
    as_json = json.loads(subprocess.run([*ARCHIVER, "-w", str(workspace.root), "schedule", "list", "--json"],
                                        capture_output=True, text=True).stdout)
    assert as_json[0]["every"] == "6h" and as_json[1]["cron"] == "0 6 * * *"
    # noted when it was added: the cron schedule is due at the next 06:00 UTC after that
    listed_at = datetime.now(UTC)
    sixam = listed_at.replace(hour=6, minute=0, second=0, microsecond=0)
    sixam += timedelta(days=1) if sixam <= listed_at - timedelta(seconds=30) else timedelta()
    settings = load_settings(workspace.root)
    later = listed_at + timedelta(days=3)       # a fixed clock: states and runs take ``now``
    from archiver.watch.runs import states

    due = {s.schedule.name: s.next_due for s in states(workspace, settings, later)}
    assert abs(due["morning"] - sixam) < timedelta(minutes=1) and due["six"] == later
    with run_lock(workspace):
        before = run_due(workspace, settings, now=sixam - timedelta(minutes=1))
        assert [o.schedule for o in before] == ["six"]                          # not the cron one, not yet
        at = {o.schedule: o for o in run_due(workspace, settings, now=sixam + timedelta(minutes=1))}
        assert "morning" in at and at["morning"].ok             # ("six" too when 06:00 is 6 hours away)
