"""Benchmark: single-flight access tokens under load (issue 3, R-MENU-04).

50 accounts; 32 concurrent callers spread over several processes ask for tokens
for 60 s while the sandbox (in this process, on loopback) gives tokens a short
life so that they expire several times during the run. Prints:

- upstream token fetches vs the ideal (exactly one per account per expiry),
  and duplicate fetches (two fetches for the same account within one token life);
- callers that received a token the sandbox rejected (each distinct token a
  process receives is checked, plus a 1 % sample of all calls);
- p50/p99 latency of a cached get_token() and of a bare Redis GET measured in
  the same threads, and their ratio (target ≤ 3×).

Run: .venv/bin/python bench/token_single_flight.py [--seconds 60] [--quick]
Starts a private redis-server on a free loopback port (so that nobody else's
FLUSHDB disturbs the run), or uses $BENCH_REDIS_URL if set, under a private key
prefix that is deleted afterwards.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
import requests

from wechat.tokens import TokenStore
from wechat_sandbox import Sandbox

_local = threading.local()


class InstrumentedStore(TokenStore):
    """Marks calls that left the cached fast path, so latency is reported for cache hits."""

    def _single_flight(self, *args, **kwargs):
        _local.slow = True
        return super()._single_flight(*args, **kwargs)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def caller_process(index, redis_url, prefix, base_url, apps, threads, seconds, margin, start_at, results):
    client = redis.Redis.from_url(redis_url)
    stats = {
        "calls": 0,
        "slow": 0,
        "errors": 0,
        "validated": 0,
        "rejected": 0,
        "cached_us": [],
        "redis_us": [],
        "tokens_seen": 0,
    }
    lock = threading.Lock()
    seen: set[str] = set()
    rng = random.Random(index)

    def run(thread_no):
        store = InstrumentedStore(client, base_url=base_url, key_prefix=prefix, margin_seconds=margin)
        session = requests.Session()
        appids = list(apps)
        cached_us, redis_us = [], []
        calls = slow = errors = validated = rejected = 0
        while time.time() < start_at:
            time.sleep(0.005)
        end = start_at + seconds
        while time.time() < end:
            appid = rng.choice(appids)
            key = store.token_key(appid, "classic")
            t0 = time.perf_counter()
            client.get(key)
            t1 = time.perf_counter()
            _local.slow = False
            try:
                token = store.get_token(appid, apps[appid])
            except Exception:
                errors += 1
                continue
            t2 = time.perf_counter()
            calls += 1
            redis_us.append((t1 - t0) * 1e6)
            if _local.slow:
                slow += 1
            else:
                cached_us.append((t2 - t1) * 1e6)
            with lock:
                new = token not in seen
                if new:
                    seen.add(token)
            if new or rng.random() < 0.01:
                answer = session.get(f"{base_url}/sandbox/check_token", params={"access_token": token}).json()
                validated += 1
                if answer["errcode"] != 0:
                    rejected += 1
            time.sleep(0.004)  # 2 cores are shared: keep the load realistic, not a spin
        with lock:
            stats["calls"] += calls
            stats["slow"] += slow
            stats["errors"] += errors
            stats["validated"] += validated
            stats["rejected"] += rejected
            stats["cached_us"].extend(cached_us)
            stats["redis_us"].extend(redis_us)

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stats["tokens_seen"] = len(seen)
    results.put(stats)


def private_redis() -> tuple[str, subprocess.Popen | None]:
    """$BENCH_REDIS_URL, or a throw-away redis-server of our own."""
    if os.environ.get("BENCH_REDIS_URL") or not shutil.which("redis-server"):
        return os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"), None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return url, proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    raise SystemExit("could not start a private redis-server")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="callers per process")
    parser.add_argument("--token-ttl", type=int, default=30, help="sandbox expires_in (s)")
    parser.add_argument("--margin", type=float, default=10, help="refresh margin (s)")
    parser.add_argument("--quick", action="store_true", help="20 s, TTL 12 s, margin 4 s")
    parser.add_argument("--verbose", action="store_true", help="show accounts fetched twice")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.token_ttl, args.margin = 20, 12, 4
    redis_url, redis_proc = private_redis()
    try:
        return run(args, redis_url)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(timeout=10)


def run(args, redis_url: str) -> int:
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    apps = {"wx" + secrets.token_hex(8): secrets.token_hex(16) for _ in range(args.accounts)}
    # Superseded tokens keep working for one margin (WeChat: 5 min of a 2 h life).
    sandbox = Sandbox(
        apps={a: {"secret": s} for a, s in apps.items()},
        token_ttl=args.token_ttl,
        overlap_seconds=int(args.margin),
    ).start()
    callers = args.processes * args.threads
    print(
        f"token single-flight: {args.accounts} accounts, {callers} callers "
        f"({args.processes} processes × {args.threads} threads), {args.seconds:.0f} s, "
        f"sandbox token life {args.token_ttl} s, refresh margin {args.margin:.0f} s"
    )
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 3  # children need a moment to import
    procs = [
        ctx.Process(
            target=caller_process,
            args=(
                i,
                redis_url,
                prefix,
                sandbox.base_url,
                apps,
                args.threads,
                args.seconds,
                args.margin,
                start_at,
                results,
            ),
        )
        for i in range(args.processes)
    ]
    for p in procs:
        p.start()
    gathered = [results.get(timeout=args.seconds + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    end_at = start_at + args.seconds

    fetches = duplicates = ideal = shown = 0
    life = args.token_ttl - args.margin
    for appid in apps:
        history = sandbox.token_history(appid)
        fetches += len(history)
        times = [r["issued_at"] for r in history]
        dup = sum(1 for a, b in itertools.pairwise(times) if b - a < life - 1)
        duplicates += dup
        if dup and args.verbose and shown < 3:
            shown += 1
            print(f"  {appid}: fetched at +" + ", +".join(f"{t - start_at:.2f}s" for t in times))
        if times:
            ideal += 1 + int((end_at - times[0]) // life)
    sandbox.stop()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)

    calls = sum(s["calls"] for s in gathered)
    cached = [v for s in gathered for v in s["cached_us"]]
    bare = [v for s in gathered for v in s["redis_us"]]
    rejected = sum(s["rejected"] for s in gathered)
    validated = sum(s["validated"] for s in gathered)
    errors = sum(s["errors"] for s in gathered)
    slow = sum(s["slow"] for s in gathered)
    p50c, p99c = percentile(cached, 0.50), percentile(cached, 0.99)
    p50r, p99r = percentile(bare, 0.50), percentile(bare, 0.99)
    print(
        f"get_token calls: {calls} ({calls / args.seconds:.0f}/s), {slow} left the cache "
        f"path, {errors} errors"
    )
    print(
        f"upstream token fetches: {fetches}   ideal (one per account per expiry): {ideal}   "
        f"duplicate fetches: {duplicates} (target 0)"
    )
    print(f"tokens rejected by the sandbox: {rejected} of {validated} checked (target 0)")
    print(f"cached get_token  p50 {p50c:7.1f} µs   p99 {p99c:7.1f} µs   (n={len(cached)})")
    print(f"bare Redis GET    p50 {p50r:7.1f} µs   p99 {p99r:7.1f} µs   (baseline, same threads)")
    ratio50, ratio99 = p50c / p50r, p99c / p99r
    print(f"ratio to baseline p50 {ratio50:.2f}×   p99 {ratio99:.2f}×   (target ≤ 3×)")
    ok = duplicates == 0 and rejected == 0 and errors == 0 and ratio50 <= 3 and fetches <= ideal
    print(
        "RESULT:",
        "targets met" if ok else "TARGETS MISSED",
        f"(mean cached {statistics.fmean(cached) if cached else float('nan'):.1f} µs)",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
