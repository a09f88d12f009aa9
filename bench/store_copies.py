"""What the object store adds to a distributed capture, per WARC file: the worker's upload (with its
size read back) and the sealing process's copy into the workspace (streamed, sha256 and length
checked, renamed), against a folder store and against moto's S3 server on loopback (the S3 REST
protocol through s3fs; moto keeps objects in memory, so this is archiver's and s3fs's cost, not a
network's). Needs the test extra (fsspec, s3fs, moto[server]):

    .venv/bin/python bench/store_copies.py --mb 64 --files 4
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time
from pathlib import Path

from archiver.core.models import WarcFile
from archiver.core.workspace import Workspace
from archiver.distributed.store import Store, open_store
from archiver.distributed.store_copies import fetch_reported, file_digest


def measure(store: Store, files: list[Path], ws: Workspace) -> tuple[float, float]:
    """Seconds to upload every file, seconds to copy them all back checked."""
    started = time.perf_counter()
    reported = []
    for path in files:
        store.put(path, f"archive/{path.name}")
        sha256, length = file_digest(path)
        reported.append(WarcFile(f"archive/{path.name}", length, sha256))
    uploaded = time.perf_counter() - started
    started = time.perf_counter()
    fetch_reported(store, ws, "bench", tuple(reported))
    return uploaded, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=64, help="size of each file in MB")
    ap.add_argument("--files", type=int, default=4)
    args = ap.parse_args()
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_EC2_METADATA_DISABLED="true")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            files = []
            for n in range(args.files):
                path = root / f"bench-w1-{n:05d}.warc.gz"
                path.write_bytes(os.urandom(args.mb << 20))
                files.append(path)
            total = args.files * args.mb
            s3 = open_store("s3://bench-bucket/ws")
            s3.fs.mkdir("bench-bucket")          # type: ignore[attr-defined]
            for name, store in (("folder", open_store(str(root / "store"))), ("s3 (moto)", s3)):
                store.check()
                ws = Workspace(root / f"ws-{name.split()[0]}").ensure()
                up, down = measure(store, files, ws)
                print(f"{name:10} {total} MB in {args.files} files: upload {up:.2f} s ({total / up:.0f} MB/s), "
                      f"copy back checked {down:.2f} s ({total / down:.0f} MB/s)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
