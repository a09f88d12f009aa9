"""What a Redis restart loses of the queue, per persistence setting, and what each setting costs.

For each setting, starts its own ``redis-server`` on a spare loopback port with its data in a
temporary folder, has ``--threads`` clients add URLs to one capture's frontier through archiver's
own script (``Queue.add``: SADD seen + HSET entries + RPUSH pending) as fast as they can for
``--seconds``, SIGKILLs the server while they write, starts it again on the same port and folder,
and counts the adds Redis had acknowledged that are gone. Prints adds per second (the cost of the
setting) and acknowledged adds lost (what a restart costs).

    python bench/redis_restart.py            # needs redis-server and archiver[distributed]

SIGKILL stops the process, not the machine: what Redis had written to the file survives in the
page cache whatever ``appendfsync`` says. A power cut or kernel crash would lose, with
``everysec``, up to about a second of acknowledged writes (Redis's documentation; not measured here).
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

SETTINGS = {
    "appendonly yes, appendfsync always": ("--appendonly", "yes", "--appendfsync", "always", "--save", ""),
    "appendonly yes, appendfsync everysec": ("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
    "snapshots only (save 3600 1 300 100 60 10000)": ("--appendonly", "no", "--save", "3600 1 300 100 60 10000"),
    "nothing (appendonly no, save '')": ("--appendonly", "no", "--save", ""),
}


def spare_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(port: int, folder: Path, config: tuple[str, ...]) -> tuple[subprocess.Popen, float]:
    began = time.perf_counter()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                             *config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not answers(port):
        time.sleep(0.005)
    return proc, time.perf_counter() - began


def one(config: tuple[str, ...], threads: int, seconds: float) -> tuple[float, int, int, float]:
    from archiver.core.models import Role, Target
    from archiver.distributed.outage import Patience
    from archiver.distributed.queue import Queue, QueueAddress
    from archiver.distributed.worker import add_target

    port = spare_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc, _ = start(port, Path(tmp), config)
        acked = [0] * threads
        stop = threading.Event()

        def write(i: int) -> None:
            url = f"redis://127.0.0.1:{port}/0"
            queue = Queue(QueueAddress(url, "bench"), patience=Patience(url, limit=0))   # no waiting out
            n = 0
            while not stop.is_set():
                try:
                    add_target(queue, "c", Target(f"http://h{i}.example/{n}", Role.SOURCE, 1), 10**9)
                except Exception:       # noqa: BLE001 -- the server was killed under this call: not acknowledged
                    return
                n += 1
                acked[i] = n

        pool = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        time.sleep(seconds)
        proc.send_signal(signal.SIGKILL)      # while they write
        proc.wait()
        stop.set()
        for t in pool:
            t.join()
        total = sum(acked)
        proc, reload_s = start(port, Path(tmp), config)
        import redis

        kept = int(redis.StrictRedis(host="127.0.0.1", port=port).scard("bench:cap:c:seen"))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return total / seconds, total, max(0, total - kept), reload_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    print("| persistence | adds/s | adds acknowledged | lost to SIGKILL + restart | restart until PONG, s |")
    print("|---|---|---|---|---|")
    for name, config in SETTINGS.items():
        rate, total, lost, reload_s = one(config, args.threads, args.seconds)
        print(f"| {name} | {rate:.0f} | {total} | {lost} | {reload_s:.2f} |")


if __name__ == "__main__":
    main()
