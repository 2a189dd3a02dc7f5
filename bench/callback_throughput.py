"""Benchmark: the WeChat callback under gunicorn (2 workers) on loopback, safe mode.

    .venv/bin/python bench/callback_throughput.py             # 8 s per phase
    .venv/bin/python bench/callback_throughput.py --seconds 4 # or --quick (3 s)
    .venv/bin/python bench/callback_throughput.py --no-cache-phase  # skip the uncached run

What it does, all on this machine:
1. creates/migrates a PostgreSQL database (`BENCH_DATABASE_URL`, default
   postgres://postgres@127.0.0.1:5432/wx_bench_callback) and one safe-mode account
   with a keyword rule; Redis is a private database (`BENCH_REDIS_URL`, default
   redis://127.0.0.1:6379/11, flushed);
2. starts gunicorn with 2 workers serving the project (gthread, 4 threads each by
   default — the callback waits on Redis and PostgreSQL; `--threads 1` for sync
   workers), test settings, WXADMIN_BENCH_VIEWS=1 so that a bare view answering
   `success` is mounted on the same server;
3. a load generator in another process (C client threads, one connection per
   request, like WeChat) sends pre-built, signed and encrypted text messages with
   unique MsgIds — to the bare view (baseline) and to the callback, in alternating
   slices (--rounds) so that other load on the machine hits both alike, --seconds
   in total each, after a short warm-up; then re-sends 200 of them (WeChat retries);
4. checks every reply of the callback phase decrypts to the keyword reply, and
   counts the rows stored against the distinct MsgIds answered.

Prints messages/s, p50/p99 latency for both, the ratio callback/baseline (target
≥ 0.5) and duplicates stored (target 0). With the cache phase, it also restarts
gunicorn with WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS=0 to show what loading and
decrypting the account on every request costs.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL",
                        "postgres://postgres@127.0.0.1:5432/wx_bench_callback")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
KEYWORD, REPLY = "营业时间", "每天 9:00-21:00 营业，欢迎光临！"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each phase")
    parser.add_argument("--quick", action="store_true", help="3 s phases, no cache phase")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per worker (gthread; 1 = sync workers)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating baseline/callback slices per phase")
    parser.add_argument("--no-cache-phase", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seconds = min(args.seconds, 3.0)
        args.no_cache_phase = True
    return args


def env_for_server(extra: dict | None = None) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "wxadmin.settings.test",
            "DATABASE_URL": DB_URL, "TEST_REDIS_URL": REDIS_URL, "WXADMIN_BENCH_VIEWS": "1",
            "LOG_LEVEL": "WARNING", "CONN_MAX_AGE": "60", **(extra or {})}


def ensure_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    admin_url = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django():
    os.environ.update(env_for_server())
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def create_account():
    """A fresh safe-mode account with one keyword rule; returns plain credentials."""
    from accounts.tests.factories import EntityFactory, OfficialAccountFactory
    from messaging.models import InboundMessage, KeywordRule

    InboundMessage.objects.all().delete()
    stamp = time.time_ns()
    account = OfficialAccountFactory(message_mode="safe", name=f"bench {stamp}",
                                     entity=EntityFactory(full_name=f"bench entity {stamp}"))
    KeywordRule.objects.create(account=account, name="bench", match_type="contains",
                               pattern=KEYWORD, reply_text=REPLY, priority=10)
    for i in range(20):  # a realistic number of other rules tried first
        KeywordRule.objects.create(account=account, name=f"other {i}", match_type="exact",
                                   pattern=f"无关关键词{i}", reply_text="x", priority=20 + i)
    return {"pk": account.pk, "appid": account.appid, "token": str(account.server_token),
            "aes": str(account.encoding_aes_key), "original_id": account.original_id}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, args, extra_env: dict | None = None) -> subprocess.Popen:
    command = [str(ROOT / ".venv/bin/gunicorn"), "wxadmin.wsgi:application",
               "-w", str(args.workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
               "--backlog", "512"]
    if args.threads > 1:
        command += ["--threads", str(args.threads)]
    process = subprocess.Popen(
        command,
        cwd=ROOT, env=env_for_server(extra_env), start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                time.sleep(0.5)  # let both workers boot
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def build_requests(creds: dict, count: int, start_id: int) -> list[tuple[str, bytes, int]]:
    """(path?query, body, msg_id) for `count` safe-mode text messages."""
    from wechat.crypto import MessageCrypto, signature

    crypto = MessageCrypto(creds["token"], creds["aes"], creds["appid"])
    now = str(int(time.time()))
    built = []
    for i in range(count):
        msg_id = start_id + i
        xml = (f"<xml><ToUserName><![CDATA[{creds['original_id']}]]></ToUserName>"
               f"<FromUserName><![CDATA[oBenchUser{i % 500:04d}]]></FromUserName>"
               f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               f"<Content><![CDATA[请问{KEYWORD}是几点]]></Content><MsgId>{msg_id}</MsgId></xml>")
        encrypt = crypto.encrypt(xml)
        nonce = f"{msg_id % 10**9}"
        query = (f"signature={signature(creds['token'], now, nonce)}&timestamp={now}"
                 f"&nonce={nonce}&openid=oBenchUser&encrypt_type=aes"
                 f"&msg_signature={signature(creds['token'], now, nonce, encrypt)}")
        body = (f"<xml><ToUserName><![CDATA[{creds['original_id']}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()
        built.append((f"/wechat/{creds['appid']}/?{query}", body, msg_id))
    return built


def load_worker(port: int, path_override: str | None, items, seconds: float, concurrency: int,
                queue, keep_bodies: bool) -> None:
    """Runs in its own process: C threads, one new connection per request, for `seconds`."""
    latencies: list[float] = []
    answered: list[tuple[int, bytes]] = []
    errors = [0]
    lock = threading.Lock()
    index = [0]
    stop_at = time.perf_counter() + seconds

    def next_item():
        with lock:
            i = index[0]
            index[0] += 1
        return items[i % len(items)] if path_override else (items[i] if i < len(items) else None)

    def run():
        while time.perf_counter() < stop_at:
            item = next_item()
            if item is None:
                return
            path, body, msg_id = item
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", path_override or path, body=body,
                             headers={"Content-Type": "text/xml"})
                response = conn.getresponse()
                data = response.read()
                conn.close()
                ok = response.status == 200
            except OSError:
                ok = False
            elapsed = time.perf_counter() - started
            with lock:
                if ok:
                    latencies.append(elapsed)
                    if keep_bodies:
                        answered.append((msg_id, data))
                else:
                    errors[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    queue.put({"latencies": latencies, "errors": errors[0], "wall": wall,
               "answered": answered if keep_bodies else []})


def run_phase(port: int, items, seconds: float, concurrency: int, *, path_override=None,
              keep_bodies=False) -> dict:
    queue = mp.Queue()
    process = mp.Process(target=load_worker, args=(port, path_override, items, seconds,
                                                   concurrency, queue, keep_bodies))
    process.start()
    result = queue.get()
    process.join()
    lat = sorted(result["latencies"])
    n = len(lat)
    result.update(
        count=n, rate=n / result["wall"] if result["wall"] else 0.0,
        p50=lat[n // 2] * 1000 if n else 0.0,
        p99=lat[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        mean=statistics.fmean(lat) * 1000 if n else 0.0)
    return result


def check_replies(creds: dict, answered) -> int:
    """How many callback replies do NOT decrypt to the keyword reply."""
    from wechat.crypto import MessageCrypto
    from wechat.messages import parse_xml

    crypto = MessageCrypto(creds["token"], creds["aes"], creds["appid"])
    bad = 0
    for _msg_id, body in answered:
        try:
            envelope = parse_xml(body)
            inner = parse_xml(crypto.decrypt_message(
                envelope["Encrypt"], msg_signature=envelope["MsgSignature"],
                timestamp=envelope["TimeStamp"], nonce=envelope["Nonce"]))
            bad += inner.get("Content") != REPLY
        except Exception:
            bad += 1
    return bad


def line(label: str, r: dict) -> str:
    return (f"{label:<34} {r['rate']:8.1f} msg/s   p50 {r['p50']:6.1f} ms   "
            f"p99 {r['p99']:6.1f} ms   ok {r['count']:6d}   errors {r['errors']}")


def merge(results: list[dict]) -> dict:
    """Add up several slices of one phase."""
    lat = sorted(x for r in results for x in r["latencies"])
    wall = sum(r["wall"] for r in results)
    n = len(lat)
    return {"latencies": lat, "errors": sum(r["errors"] for r in results), "wall": wall,
            "answered": [a for r in results for a in r["answered"]], "count": n,
            "rate": n / wall if wall else 0.0,
            "p50": lat[n // 2] * 1000 if n else 0.0,
            "p99": lat[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0}


def measure(args, creds, port, msg_base: int) -> tuple[dict, dict, dict]:
    """Baseline and callback in alternating slices, so that load from other processes on
    the machine hits both alike; each phase runs --seconds in total."""
    warm = build_requests(creds, 300, msg_base)
    # warm-up: connections, caches, imports (these messages are stored too)
    warmed = run_phase(port, warm, 1.0, args.concurrency, keep_bodies=True)
    rounds = max(1, args.rounds)
    slice_seconds = args.seconds / rounds
    baseline_slices, callback_slices, all_items = [], [], []
    for i in range(rounds):
        items = build_requests(creds, int(slice_seconds * 2500) + 500,
                               msg_base + (i + 1) * 1_000_000)
        all_items.extend(items)
        baseline_slices.append(run_phase(port, items, slice_seconds, args.concurrency,
                                         path_override="/wechat/_bench/plain/"))
        callback_slices.append(run_phase(port, items, slice_seconds, args.concurrency,
                                         keep_bodies=True))
    return merge(baseline_slices), merge(callback_slices), {
        "items": all_items, "warm_ids": {msg_id for msg_id, _ in warmed["answered"]}}


def main() -> None:
    args = parse_args()
    ensure_database()
    setup_django()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    creds = create_account()
    from messaging.models import InboundMessage

    kind = f"gthread x{args.threads}" if args.threads > 1 else "sync"
    print(f"callback throughput: gunicorn {args.workers} workers ({kind}), safe mode, keyword reply, "
          f"{args.concurrency} client threads in another process, {args.seconds:g} s per phase")
    port = free_port()
    server = start_gunicorn(port, args)
    try:
        baseline, callback, extra = measure(args, creds, port, 10**12)
        answered = callback["answered"]
        wrong = check_replies(creds, answered)
        # WeChat retries: re-send 200 answered messages; none may be stored again.
        answered_ids = {msg_id for msg_id, _ in answered}
        retry_items = [item for item in extra["items"] if item[2] in answered_ids][:200]
        retries = run_phase(port, retry_items, 60, args.concurrency, keep_bodies=True)
        retry_wrong = check_replies(creds, retries["answered"])
    finally:
        stop(server)
    rows = InboundMessage.objects.filter(account_id=creds["pk"]).count()
    distinct_rows = (InboundMessage.objects.filter(account_id=creds["pk"])
                     .values("dedupe_key").distinct().count())
    expected = len(answered_ids | extra["warm_ids"])
    print(line("bare Django view (baseline)", baseline))
    print(line("callback (safe mode, keyword)", callback))
    ratio = callback["rate"] / baseline["rate"] if baseline["rate"] else 0.0
    print(f"ratio callback / baseline: {ratio:.2f} (target >= 0.5)")
    print(f"replies checked: {len(answered)} decrypted, {wrong} wrong; "
          f"retries: {retries['count']} re-sent, {retry_wrong} wrong")
    print(f"rows stored: {rows} for {expected} distinct messages answered "
          f"(warm-up included); duplicates stored: {rows - distinct_rows} (target 0); "
          f"missing rows: {max(0, expected - rows)}")

    if not args.no_cache_phase:
        redis.Redis.from_url(REDIS_URL).flushdb()
        port = free_port()
        server = start_gunicorn(port, args,
                                {"WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS": "0"})
        try:
            _b, uncached, _e = measure(args, creds, port, 2 * 10**12)
        finally:
            stop(server)
        print(line("callback, account cache off", uncached))
        if uncached["rate"]:
            print(f"account cache speed-up: {callback['rate'] / uncached['rate']:.2f}x")


if __name__ == "__main__":
    main()
