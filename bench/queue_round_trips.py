"""What one URL costs in Redis round trips, per queue library, against Redis on loopback.

Measures, over ``--n`` messages: redis-py alone (RPUSH + LPOP), archiver's own scripts (add, claim,
release the host, report: archiver/distributed/queue.py), RQ (enqueue + dequeue_any), Dramatiq
(send + consume/ack) and Celery (send_task only: consuming needs a worker process). Needs a venv
with redis>=5, rq, dramatiq[redis] and celery (not archiver's dependencies):

    python3 -m venv /tmp/q && /tmp/q/bin/pip install -q -e . 'redis>=5' rq 'dramatiq[redis]' celery
    /tmp/q/bin/python bench/queue_round_trips.py --redis redis://127.0.0.1:6379/15

Every key it makes carries a random tag and is deleted at the end.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from typing import Any


def per_message(work: Callable[[int], None], n: int) -> float:
    started = time.perf_counter()
    work(n)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    import redis

    from archiver.distributed.queue import Queue, QueueAddress

    r = redis.Redis.from_url(args.redis)
    tag = f"bench{uuid.uuid4().hex[:8]}"
    results: dict[str, float] = {}

    def plain(n: int) -> None:
        for _ in range(n):
            r.rpush(f"{tag}:list", b"x" * 100)
        for _ in range(n):
            r.lpop(f"{tag}:list")

    queue = Queue(QueueAddress(args.redis, tag), client=r)

    def ours(n: int) -> None:
        for i in range(n):
            url = f"http://h{i % 8}.example/{i}"
            entry = {"url": url, "role": "source", "depth": 1, "via": None, "hops": 0, "host": f"h{i % 8}"}
            queue.add("c", url, entry, 10**6, {})
        for _ in range(n):
            got: Any = queue.claim("c", "w1", 2, 30_000)
            queue.release_host("w1", got["url"], got["host"])
            queue.report("c", "w1", [got["url"]], {})

    results["redis-py RPUSH + LPOP"] = per_message(plain, args.n)
    results["archiver add + claim + release host + report"] = per_message(ours, args.n)
    results.update(_libraries(r, args.redis, tag, args.n))
    for name, micros in results.items():
        print(f"{micros:8.1f} µs per message  {name}")
    keys = [k for k in r.scan_iter(count=1000) if tag.encode() in k or k.startswith((b"rq:", b"_kombu", b"unacked"))]
    if keys:
        r.delete(*keys)


def _libraries(r: Any, url: str, tag: str, n: int) -> dict[str, float]:
    import dramatiq
    import rq
    from celery import Celery
    from dramatiq.brokers.redis import RedisBroker

    results: dict[str, float] = {}
    rq_queue = rq.Queue(tag, connection=r)

    def rq_round(n: int) -> None:
        for _ in range(n):
            rq_queue.enqueue("os.getpid")
        for _ in range(n):
            rq.Queue.dequeue_any([rq_queue], None, connection=r)

    broker = RedisBroker(url=url, namespace=tag)
    dramatiq.set_broker(broker)
    actor = dramatiq.actor(lambda: None, actor_name=f"{tag}_noop", queue_name=tag)

    def dramatiq_round(n: int) -> None:
        for _ in range(n):
            actor.send()
        consumer, got = broker.consume(tag, prefetch=1, timeout=1000), 0
        for message in consumer:
            if message is not None:
                consumer.ack(message)
                got += 1
                if got == n:
                    break
        consumer.close()

    app = Celery(broker=url)
    app.conf.task_default_queue = tag

    def celery_send(n: int) -> None:
        for _ in range(n):
            app.send_task("bench.noop")

    results["RQ enqueue + dequeue_any"] = per_message(rq_round, n)
    results["Dramatiq send + consume/ack (prefetch 1)"] = per_message(dramatiq_round, n)
    results["Celery send_task (enqueue only)"] = per_message(celery_send, n)
    return results


if __name__ == "__main__":
    main()
