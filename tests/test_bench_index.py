"""bench/index_writers.py in its quick mode, run as bench/README.md writes it: it captures the
sample site on loopback, seals recaptures, indexes them from 1 and 2 writer processes into SQLite
(as archiver opens it, and in WAL mode) and checks that every capture landed. No figure is
asserted (speed is bench/'s): only that it ran, wrote every capture, and printed its table."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from test_readme import BENCH_README, ROOT, command_lines, sh_blocks


def test_the_quick_index_bench_runs_as_written(tmp_path: Path) -> None:
    line = next(line for block in sh_blocks(BENCH_README.read_text()) for line in command_lines(block)
                if "index_writers.py --quick" in line)
    words = shlex.split(line)
    run = subprocess.run([sys.executable, *words[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "TMPDIR": str(tmp_path)})
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [line.split() for line in run.stdout.splitlines() if line.startswith(("sqlite ", "sqlite-wal "))]
    assert [(r[0], r[1]) for r in rows] == [("sqlite", "1"), ("sqlite", "2"), ("sqlite-wal", "1"),
                                            ("sqlite-wal", "2")], run.stdout
    assert "INCOMPLETE" not in run.stdout
    assert "12 captures of the demo sample site" in run.stdout
    assert "archiver reindex of the 12 captures" in run.stdout
    assert list(tmp_path.iterdir()) == []          # its workspace is gone
