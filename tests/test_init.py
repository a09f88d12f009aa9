"""archiver init: a workspace and a commented archiver.yaml naming the operator; schedule add/remove
keep that file's comments, layout and mode."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from archiver.core.settings import Settings, load_settings
from archiver.demo.server import Host, Response

ARCHIVER = [sys.executable, "-m", "archiver"]
HTML = [("Content-Type", "text/html; charset=utf-8")]


def run(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHIVER, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_init_with_flags_then_capture_records_the_operator(tmp_path: Path, serve) -> None:
    ws = tmp_path / "sources"
    done = run("init", str(ws), "--name", "Ada Researcher", "--contact", "ada@example.org")
    assert done.returncode == 0, done.stderr
    assert "made workspace" in done.stdout and "next: archiver -w" in done.stdout
    assert (ws / "manifests").is_dir() and (ws / "archive").is_dir()
    assert stat.S_IMODE((ws / "archiver.yaml").stat().st_mode) == 0o600
    site = serve([Host("h", "127.0.0.151", routes={"/a": Response(200, HTML, b"<html><body><p>hello</p></body></html>")})])
    cap = run("-w", str(ws), "capture", "--depth", "0", site.url("h", "/a"))
    assert cap.returncode == 0, cap.stderr
    [manifest] = sorted((ws / "manifests").glob("*.yaml"))
    assert yaml.safe_load(manifest.read_text())["operator"] == {"name": "Ada Researcher", "contact": "ada@example.org"}


def test_init_without_a_terminal_asks_nothing_and_says_how_to_set_the_operator(tmp_path: Path) -> None:
    done = run("init", cwd=tmp_path, timeout=20)       # stdin is /dev/null: no prompt may wait on it
    assert done.returncode == 0, done.stderr
    assert "operator not set" in done.stdout and "archiver.yaml" in done.stdout
    assert "next: archiver capture" in done.stdout    # the folder it ran in: no -w needed
    assert load_settings(tmp_path).operator.name == ""


def test_the_written_file_loads_its_comments_are_there_and_its_defaults_are_true(tmp_path: Path) -> None:
    assert run("init", str(tmp_path), "--no-input", "--name", "Ada").returncode == 0
    text = (tmp_path / "archiver.yaml").read_text()
    assert load_settings(tmp_path).operator.name == "Ada"
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) > 25
    for key in ("public_url", "collection", "replay_url", "serve_token", "witness", "capture", "depth", "per_host"):
        assert re.search(rf"^#\s+{key}:", text, re.M), key
    # the values shown commented out are the defaults: uncommented, they load as the defaults do
    uncommented = "\n".join(re.sub(r"^# (\s*[a-z_]+:( |$))", r"\1", line) for line in text.splitlines())
    uncommented = re.sub(r"^(public_url|witness|serve_token):.*$", "", uncommented, flags=re.M)
    loaded = yaml.safe_load(uncommented)
    assert loaded["capture"]["depth"] == 1 and "replay_url" in loaded
    (tmp_path / "archiver.yaml").write_text(uncommented)
    settings = load_settings(tmp_path)
    assert settings.capture == Settings().capture and settings.replay_url == Settings().replay_url
    assert settings.collection == Settings().collection


def test_init_refuses_an_existing_settings_file(tmp_path: Path) -> None:
    (tmp_path / "archiver.yaml").write_text("collection: mine\n")
    done = run("init", str(tmp_path), "--name", "Ada")
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "exists already" in done.stderr
    assert (tmp_path / "archiver.yaml").read_text() == "collection: mine\n"


def test_init_bad_values_exit_2_in_one_line_and_write_nothing(tmp_path: Path) -> None:
    for args in (["--name", "Ada\x1b[31m"], ["--contact", "x" * 1001], ["", "--name", "Ada"]):
        done = run("init", str(tmp_path / "ws"), *args) if args[0] else run("init", "", *args[1:])
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
        assert not (tmp_path / "ws").exists()


COMMENTED = """\
# my sources, kept by hand
collection: watch   # the path prefix

operator:
    name: "Ada"     # me
    contact: ""
# schedules follow
schedules:
  - name: first   # the first one
    urls: [http://example.org/a]
    every: 1h
  # between first and second
  - name: second
    urls:
      - http://example.org/b
    every: 2h
  # after second
# the end
"""


def test_schedule_add_then_remove_keeps_every_comment_the_layout_and_the_mode(tmp_path: Path) -> None:
    assert run("init", str(tmp_path), "--no-input").returncode == 0
    path = tmp_path / "archiver.yaml"
    path.write_text(COMMENTED)
    path.chmod(0o600)
    comments = [line.strip() for line in COMMENTED.splitlines() if "#" in line]
    added = run("-w", str(tmp_path), "schedule", "add", "http://example.org/c", "--every", "3h", "--name", "third")
    assert added.returncode == 0, added.stderr
    text = path.read_text()
    assert [line.strip() for line in text.splitlines() if "#" in line] == comments
    assert "  - name: third" in text and '    name: "Ada"     # me' in text     # the file's indentation and quotes
    assert [s.name for s in load_settings(tmp_path).schedules] == ["first", "second", "third"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run("-w", str(tmp_path), "schedule", "remove", "third").returncode == 0
    assert path.read_text() == COMMENTED
    for name in ("second", "first"):           # a comment that followed a removed schedule stays too
        assert run("-w", str(tmp_path), "schedule", "remove", name).returncode == 0, name
        text = path.read_text()
        assert all(c in text for c in comments if "the first one" not in c), text
    assert load_settings(tmp_path).schedules == ()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_schedule_add_to_the_init_file_keeps_its_comments(tmp_path: Path) -> None:
    assert run("init", str(tmp_path), "--no-input", "--name", "Ada").returncode == 0
    path = tmp_path / "archiver.yaml"
    before = path.read_text()
    assert run("-w", str(tmp_path), "schedule", "add", "http://example.org/a", "--every", "6h", "--name", "a").returncode == 0
    assert path.read_text().startswith(before.rstrip("\n"))
    assert run("-w", str(tmp_path), "schedule", "remove", "a").returncode == 0
    after = path.read_text()
    assert [ln for ln in after.splitlines() if ln.startswith("#")] == [ln for ln in before.splitlines() if ln.startswith("#")]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and load_settings(tmp_path).operator.name == "Ada"
