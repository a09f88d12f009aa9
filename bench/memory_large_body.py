"""Benchmark: archiver's peak memory while it captures one very large body.

A loopback HTTP server in a separate process serves one URL whose body is ``--gigabytes`` GB
(1 GB = 10^9 bytes; default 2). It generates the body on the fly from a repeating 1 MiB block of
random bytes (random data does not compress, so the WARC is as large as the body), hashes it with
sha256 while sending, and reports the digest when the body has been sent. By default the response
has a Content-Length; with ``--chunked`` it uses ``Transfer-Encoding: chunked`` (1 MiB chunks).

``archiver -w <tmp> capture --max-bytes 3GB --max-total-bytes 4GB --timeout 600 --json URL`` runs
as a child process. The script takes the child's peak RSS (``ru_maxrss``, KiB on Linux) from
``os.wait4`` and its wall time, and derives the throughput. It then checks the capture:
``archiver verify`` must exit 0, and the manifest's ``payload_sha256`` (and ``payload_bytes``) of
the URL must equal what the server sent. While the capture runs, a thread samples the
filesystem's used bytes (WARC, spooled body, WARC fragment; the spooled files are unlinked,
so ``du`` would miss them) and the script prints the most the capture took.

Target: peak RSS below 150 MB.

Run:  /work/venv/bin/python bench/memory_large_body.py [--gigabytes 2] [--chunked] [--dir DIR] [--json]
Disk: the WARC alone is about as large as the body, and while archiver works the body also sits in
its scratch folder; have at least 3x the body size free where ``--dir`` (default: the system temp
folder) points. The workspace is deleted at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from capture_vs_wget import archiver_command  # bench/ is on sys.path when run as a script

BLOCK = 2**20                 # the repeating random block, and the chunk size in --chunked mode
GB = 10**9
TARGET_RSS_MB = 150
PATH = "/large.bin"


# --------------------------------------------------------------------------- the server process

def _serve(size: int, chunked: bool, ready: Any, results: Any) -> None:
    """Runs in the server process: serve ``size`` bytes at PATH; put (sha256, bytes sent) on results."""
    block = random.Random(20261129).randbytes(BLOCK)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "archiver-bench-large"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != PATH:
                body = b"not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(size))
            self.send_header("Connection", "close")
            self.end_headers()
            digest, sent = hashlib.sha256(), 0
            view = memoryview(block)
            try:
                while sent < size:
                    part = view[: min(BLOCK, size - sent)]
                    if chunked:
                        self.wfile.write(f"{len(part):x}\r\n".encode())
                        self.wfile.write(part)
                        self.wfile.write(b"\r\n")
                    else:
                        self.wfile.write(part)
                    digest.update(part)
                    sent += len(part)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            except OSError as exc:
                results.put({"path": self.path, "sha256": None, "bytes": sent, "error": str(exc)})
                raise
            results.put({"path": self.path, "sha256": digest.hexdigest(), "bytes": sent, "error": None})
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ready.put(server.server_address[1])
    server.serve_forever()


class LargeBodyServer:
    def __init__(self, size: int, chunked: bool) -> None:
        ctx = mp.get_context("spawn")
        self._ready, self.results = ctx.Queue(), ctx.Queue()
        self._proc = ctx.Process(target=_serve, args=(size, chunked, self._ready, self.results),
                                 daemon=True, name="large-body-server")

    def __enter__(self) -> LargeBodyServer:
        self._proc.start()
        self.port = self._ready.get(timeout=30)
        self.url = f"http://127.0.0.1:{self.port}{PATH}"
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.join(10)


# --------------------------------------------------------------------------- measuring archiver

@dataclass
class Figures:
    body_bytes: int
    chunked: bool
    exit_code: int
    wall_s: float
    cpu_s: float
    peak_rss_kib: int
    throughput_mb_s: float
    warc_bytes: int
    peak_disk_bytes: int
    verify_exit: int
    verify_s: float
    server_sha256: str | None
    archived_sha256: str | None
    archived_bytes: int | None
    truncated: Any
    sha256_match: bool
    rss_target_met: bool

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_kib * 1024 / 10**6


def used_bytes(path: Path) -> int:
    """Bytes in use on the filesystem holding ``path`` (as ``df`` counts them)."""
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


class DiskSampler(threading.Thread):
    """The most disk the capture took while it ran: growth of the filesystem's used bytes over
    the level before it started. Counts what a walk of the workspace would miss: archiver's
    spooled bodies are unlinked temporary files. Other writers on the same filesystem add noise."""

    def __init__(self, root: Path, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.base = used_bytes(root)
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, used_bytes(self.root) - self.base)
            self._halt.wait(self.every)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, used_bytes(self.root) - self.base)
        return self.peak


def run_bench(size: int, chunked: bool, base: Path | None, keep: bool) -> Figures:
    exe = archiver_command()
    tmp = Path(tempfile.mkdtemp(prefix="archiver-bench-large-", dir=base))
    ws = tmp / "ws"
    try:
        with LargeBodyServer(size, chunked) as server:
            argv = [exe, "-w", str(ws), "capture", "--max-bytes", "3GB", "--max-total-bytes", "4GB",
                    "--timeout", "600", "--json", server.url]
            ws.mkdir()
            sampler = DiskSampler(ws)
            sampler.start()
            with open(tmp / "capture.stdout", "wb") as out, open(tmp / "capture.stderr", "wb") as err:
                started = time.perf_counter()
                proc = subprocess.Popen(argv, stdout=out, stderr=err)
                _, status, usage = os.wait4(proc.pid, 0)
                wall = time.perf_counter() - started
            peak_disk = sampler.stop()
            code = os.waitstatus_to_exitcode(status)
            stdout = (tmp / "capture.stdout").read_text(errors="replace")
            stderr = (tmp / "capture.stderr").read_text(errors="replace")
            try:
                sent = server.results.get(timeout=30)
            except queue.Empty:
                sent = {"sha256": None, "bytes": 0, "error": "the server reported nothing"}
        if code != 0:
            print(f"archiver capture exited {code}\n--- stderr ---\n{stderr}\n--- stdout ---\n{stdout}",
                  file=sys.stderr)
        summary = json.loads(stdout) if code == 0 else {}
        archived: dict[str, Any] = {}
        warc_bytes = 0
        if summary:
            manifest = yaml.safe_load((ws / summary["manifest"]).read_text())
            archived = next((r for r in manifest["resources"] if r["url"] == server.url), {})
            warc_bytes = sum(int(w["bytes"]) for w in manifest["warc_files"])
        v_started = time.perf_counter()
        check = subprocess.run([exe, "-w", str(ws), "verify"], check=False, capture_output=True, text=True)
        verify_s = time.perf_counter() - v_started
        if check.returncode != 0:
            print(f"archiver verify exited {check.returncode}\n{check.stdout}{check.stderr}", file=sys.stderr)
        match = bool(sent.get("sha256")) and sent.get("sha256") == archived.get("payload_sha256") \
            and archived.get("payload_bytes") == size
        return Figures(
            body_bytes=size, chunked=chunked, exit_code=code, wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime, peak_rss_kib=usage.ru_maxrss,
            throughput_mb_s=size / 10**6 / wall, warc_bytes=warc_bytes, peak_disk_bytes=peak_disk,
            verify_exit=check.returncode, verify_s=verify_s, server_sha256=sent.get("sha256"),
            archived_sha256=archived.get("payload_sha256"), archived_bytes=archived.get("payload_bytes"),
            truncated=archived.get("truncated"), sha256_match=match,
            rss_target_met=usage.ru_maxrss * 1024 < TARGET_RSS_MB * 10**6)
    finally:
        if keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def table(f: Figures) -> str:
    def met(ok: bool) -> str:
        return "MET" if ok else "NOT MET"
    mode = "chunked (1 MiB chunks)" if f.chunked else "Content-Length"
    rows = [
        f"body: {f.body_bytes:,} bytes ({f.body_bytes / GB:g} GB) of random data, {mode}, one URL on 127.0.0.1",
        "",
        f"{'archiver capture exit code':<34}{f.exit_code:>16}",
        f"{'wall time (s)':<34}{f.wall_s:>16.1f}",
        f"{'CPU (s, user+sys)':<34}{f.cpu_s:>16.1f}",
        f"{'throughput (MB/s of body)':<34}{f.throughput_mb_s:>16.1f}",
        f"{'peak RSS (MB)':<34}{f.peak_rss_mb:>16.1f}   target < {TARGET_RSS_MB} MB: {met(f.rss_target_met)}",
        f"{'WARC bytes':<34}{f.warc_bytes:>16,}",
        (f"{'peak disk taken (df, bytes)':<34}{f.peak_disk_bytes:>16,}   "
         f"({f.peak_disk_bytes / max(1, f.body_bytes):.2f}x the body)"),
        (f"{'archiver verify exit code':<34}{f.verify_exit:>16}   ({f.verify_s:.1f} s)   "
         f"expected 0: {met(f.verify_exit == 0)}"),
        f"{'payload_sha256 = served sha256':<34}{f.sha256_match!s:>16}   {met(f.sha256_match)}",
        f"  served   {f.server_sha256}",
        f"  archived {f.archived_sha256} ({f.archived_bytes} bytes, truncated: {f.truncated})",
    ]
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gigabytes", type=float, default=2.0, help="body size in GB of 10^9 bytes (default 2)")
    ap.add_argument("--chunked", action="store_true", help="send the body with Transfer-Encoding: chunked")
    ap.add_argument("--dir", type=Path, help="where the temporary workspace goes (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    ap.add_argument("--json", action="store_true", help="also print the figures as JSON")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = int(args.gigabytes * GB)
    where = args.dir or Path(tempfile.gettempdir())
    free = shutil.disk_usage(where).free
    if free < 3 * size:
        print(f"warning: {where} has {free / GB:.1f} GB free; the run may need about {3 * size / GB:.1f} GB",
              file=sys.stderr)
    figures = run_bench(size, args.chunked, args.dir, args.keep)
    print(table(figures))
    if args.json:
        print(json.dumps({**asdict(figures), "peak_rss_mb": figures.peak_rss_mb}, indent=2))
    ok = figures.exit_code == 0 and figures.verify_exit == 0 and figures.sha256_match
    return 0 if ok and figures.rss_target_met else 1


if __name__ == "__main__":
    sys.exit(main())
