"""Benchmark: the WeChat callback against two baselines on the same gunicorn, same run (issue 13).

    .venv/bin/python bench/callback_throughput.py              # 9 s per variant
    .venv/bin/python bench/callback_throughput.py --seconds 4  # or --quick (3 s, small profile)
    .venv/bin/python bench/callback_throughput.py --port 21310 # listen there (default: any free)

What it does, all on this machine:
1. creates/migrates a PostgreSQL database (`BENCH_DATABASE_URL`, default
   postgres://postgres@127.0.0.1:5432/wx_bench_callback) and one safe-mode account with
   a keyword rule behind 20 other rules; Redis is a private database (`BENCH_REDIS_URL`,
   default redis://127.0.0.1:6379/11, flushed);
2. starts gunicorn (2 workers × 4 threads by default) serving the project with the
   **production** settings and WXADMIN_BENCH_VIEWS=1, which mounts two baselines
   (`messaging/bench_views.py`) beside the callback:
   - *crypto-only*: verify both signatures, decrypt, parse, a fixed reply, encrypt;
   - *straightforward*: crypto-only + a Redis `SET NX` on the MsgId + one plain ORM
     INSERT with Django's default commit;
3. a load generator in another process (8 client threads, one new connection per
   request, like WeChat) sends pre-built, signed and encrypted text messages with
   distinct MsgIds to the three in alternating slices (--rounds), so that other load
   on the machine hits all three alike; then re-sends 200 answered callback messages
   (WeChat's retries);
4. decrypts and checks every reply of all three (the keyword reply's text), counts the
   rows stored against the MsgIds answered (lost, duplicated), and reads the CPU time
   the gunicorn workers and their PostgreSQL backends spent per message in each variant;
5. profiles the callback in this process (cProfile, CPU clock) over --profile-messages
   pushes through the same WSGI handler and prints where each part of its time goes.

Prints msgs/s, p50 and p99 of the three, the ratios callback / straightforward (target
≥ 1.25) and callback / crypto-only (target ≥ 0.6), lost and duplicate counts (target 0),
and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import multiprocessing as mp
import os
import pstats
import subprocess
import sys
import threading
import time
from pathlib import Path

import benchdb
from _servers import cpu_seconds, start_gunicorn, stop_gunicorn, wsgi_poster

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_callback")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
KEYWORD = "营业时间"
# Test-only Fernet keys: the bench account's credentials are throw-away values.
FERNET_KEYS = "dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctLS0tLS0=,dGVzdC1rZXktdHdvLTMyLWJ5dGVzLWxvbmctLS0tLS0="
VARIANTS = ("crypto-only", "straightforward", "callback")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=9.0, help="duration of each variant")
    parser.add_argument("--quick", action="store_true", help="3 s per variant, small profile")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker (gthread; 1 = sync workers)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating slices of the three variants")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (0: any free one)")
    parser.add_argument(
        "--profile-messages", type=int, default=3000, help="callbacks profiled in-process (0: no profile)"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds = min(args.seconds, 3.0)
        args.profile_messages = min(args.profile_messages, 1000)
    return args


def env_for_server() -> dict:
    """Production settings, pointed at the bench database and Redis database."""
    separator = "&" if "?" in DB_URL else "?"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wxadmin.settings.production",
        "DATABASE_URL": f"{DB_URL}{separator}application_name=wxbench-callback",
        "REDIS_URL": REDIS_URL,
        "EMAIL_URL": "consolemail://",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "FIELD_ENCRYPTION_KEYS": FERNET_KEYS,
        "SECURE_SSL_REDIRECT": "false",
        "WXADMIN_BENCH_VIEWS": "1",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "60",
        "MESSAGE_LOG_FLUSHER_THREAD": "true",
    }


def setup_django():
    # This process profiles without a flusher thread (see profile_callback).
    os.environ.update(env_for_server(), MESSAGE_LOG_FLUSHER_THREAD="false")
    benchdb.setup_django()


def create_account():
    """A fresh safe-mode account with one keyword rule; returns plain credentials."""
    from accounts.tests.factories import EntityFactory, OfficialAccountFactory
    from messaging.bench_views import BENCH_REPLY
    from messaging.models import InboundMessage, KeywordRule

    InboundMessage.objects.all().delete()
    stamp = time.time_ns()
    account = OfficialAccountFactory(
        message_mode="safe", name=f"bench {stamp}", entity=EntityFactory(full_name=f"bench entity {stamp}")
    )
    KeywordRule.objects.create(
        account=account,
        name="bench",
        match_type="contains",
        pattern=KEYWORD,
        reply_text=BENCH_REPLY,
        priority=10,
    )
    for i in range(20):  # a realistic number of other rules tried first
        KeywordRule.objects.create(
            account=account,
            name=f"other {i}",
            match_type="exact",
            pattern=f"无关关键词{i}",
            reply_text="x",
            priority=20 + i,
        )
    return {
        "pk": account.pk,
        "appid": account.appid,
        "token": str(account.server_token),
        "aes": str(account.encoding_aes_key),
        "original_id": account.original_id,
    }


def build_requests(creds: dict, count: int, start_id: int) -> list[tuple[str, bytes, int]]:
    """(path?query, body, msg_id) for `count` safe-mode text messages to the callback."""
    from wechat.crypto import MessageCrypto, signature

    crypto = MessageCrypto(creds["token"], creds["aes"], creds["appid"])
    now = str(int(time.time()))
    built = []
    for i in range(count):
        msg_id = start_id + i
        xml = (
            f"<xml><ToUserName><![CDATA[{creds['original_id']}]]></ToUserName>"
            f"<FromUserName><![CDATA[oBenchUser{i % 500:04d}]]></FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[请问{KEYWORD}是几点]]></Content><MsgId>{msg_id}</MsgId></xml>"
        )
        encrypt = crypto.encrypt(xml)
        nonce = f"{msg_id % 10**9}"
        query = (
            f"signature={signature(creds['token'], now, nonce)}&timestamp={now}"
            f"&nonce={nonce}&openid=oBenchUser&encrypt_type=aes"
            f"&msg_signature={signature(creds['token'], now, nonce, encrypt)}"
        )
        body = (
            f"<xml><ToUserName><![CDATA[{creds['original_id']}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        ).encode()
        built.append((f"/wechat/{creds['appid']}/?{query}", body, msg_id))
    return built


def variant_path(variant: str, path: str) -> str:
    if variant == "callback":
        return path
    return path.replace("/wechat/", f"/wechat/_bench/{variant}/", 1)


def load_worker(port: int, variant: str, items, seconds: float, concurrency: int, queue) -> None:
    """Runs in its own process: threads, one new connection per request, for `seconds`."""
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
        return items[i] if i < len(items) else None

    def run():
        while time.perf_counter() < stop_at:
            item = next_item()
            if item is None:
                return
            path, body, msg_id = item
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request(
                    "POST", variant_path(variant, path), body=body, headers={"Content-Type": "text/xml"}
                )
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
    queue.put({"latencies": latencies, "errors": errors[0], "wall": wall, "answered": answered})


def server_pids(server: subprocess.Popen) -> list[int]:
    """The gunicorn workers and the PostgreSQL backends they opened."""
    import psycopg

    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    admin_url = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        backends = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'wxbench-callback'"
            )
        ]
    return [int(pid) for pid in children] + backends


def run_phase(port: int, variant: str, items, seconds: float, concurrency: int, pids=()) -> dict:
    queue = mp.Queue()
    process = mp.Process(target=load_worker, args=(port, variant, items, seconds, concurrency, queue))
    cpu_before = cpu_seconds(pids)
    process.start()
    result = queue.get()
    process.join()
    result["cpu"] = cpu_seconds(pids) - cpu_before
    return result


def merge(results: list[dict]) -> dict:
    """Add up several slices of one variant."""
    lat = sorted(x for r in results for x in r["latencies"])
    wall = sum(r["wall"] for r in results)
    n = len(lat)
    cpu = sum(r.get("cpu", 0.0) for r in results)
    return {
        "latencies": lat,
        "errors": sum(r["errors"] for r in results),
        "wall": wall,
        "answered": [a for r in results for a in r["answered"]],
        "count": n,
        "rate": n / wall if wall else 0.0,
        "p50": lat[n // 2] * 1000 if n else 0.0,
        "p99": lat[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "cpu_ms": cpu / n * 1000 if n else 0.0,
    }


def check_replies(creds: dict, answered) -> int:
    """How many replies do NOT decrypt (with a valid signature) to the keyword reply."""
    from messaging.bench_views import BENCH_REPLY
    from wechat.crypto import MessageCrypto
    from wechat.messages import parse_xml

    crypto = MessageCrypto(creds["token"], creds["aes"], creds["appid"])
    bad = 0
    for _msg_id, body in answered:
        try:
            envelope = parse_xml(body)
            inner = parse_xml(
                crypto.decrypt_message(
                    envelope["Encrypt"],
                    msg_signature=envelope["MsgSignature"],
                    timestamp=envelope["TimeStamp"],
                    nonce=envelope["Nonce"],
                )
            )
            bad += inner.get("Content") != BENCH_REPLY
        except Exception:
            bad += 1
    return bad


def measure(args, creds, port, pids) -> dict[str, dict]:
    """The three variants in alternating slices; each runs --seconds in total."""
    base = 10**12
    # warm-up of every variant: connections, caches, imports (stored too, not counted)
    for n, variant in enumerate(VARIANTS):
        run_phase(port, variant, build_requests(creds, 300, base + n * 10**6), 0.7, args.concurrency)
    rounds = max(1, args.rounds)
    slice_seconds = args.seconds / rounds
    slices: dict[str, list[dict]] = {variant: [] for variant in VARIANTS}
    items_of: dict[str, list] = {variant: [] for variant in VARIANTS}
    for i in range(rounds):
        for n, variant in enumerate(VARIANTS):
            items = build_requests(
                creds, int(slice_seconds * 3000) + 500, base + (1 + i * len(VARIANTS) + n) * 10**7
            )
            items_of[variant].extend(items)
            slices[variant].append(run_phase(port, variant, items, slice_seconds, args.concurrency, pids))
    results = {variant: merge(parts) for variant, parts in slices.items()}
    for variant in VARIANTS:
        results[variant]["items"] = items_of[variant]
    return results


def wait_for_flushers(limit: float = 30.0) -> str:
    """Wait until the server's flusher threads have written every queued row."""
    from messaging import log_queue

    started = time.monotonic()
    while time.monotonic() - started < limit:
        if log_queue.queued() == 0:
            return f"{time.monotonic() - started:.1f} s after the last request"
        time.sleep(0.05)
    return f"NOT within {limit:g} s"


def stored(creds: dict, msg_ids: set[int]) -> tuple[int, int]:
    """(rows among these MsgIds, distinct MsgIds among them)."""
    from messaging.models import InboundMessage

    rows = list(InboundMessage.objects.filter(account_id=creds["pk"]).values_list("msg_id", flat=True))
    mine = [msg_id for msg_id in rows if msg_id in msg_ids]
    return len(mine), len(set(mine))


# --- The in-process profile --------------------------------------------------------------
#: (label, file suffix, function name): disjoint parts of one callback, by cumulative time
PARTS = [
    ("account lookup (process cache)", "messaging/selectors.py", "callback_account"),
    ("signature check", "messaging/views.py", "_check_signature"),
    ("read body", "messaging/views.py", "_read_body"),
    ("envelope + msg_signature + AES decrypt + XML parse", "messaging/views.py", "_decode_push"),
    ("rules (process cache, version re-check)", "messaging/selectors.py", "rules_for"),
    ("routing (21 keyword rules)", "messaging/routing.py", "route_message"),
    ("reply XML", "messaging/routing.py", "render"),
    ("log row as JSON for the queue", "messaging/log_queue.py", "row_payload"),
    ("Redis claim + queue the log row (one script)", "messaging/log_queue.py", "claim_and_queue"),
    ("encrypt + sign the reply", "wechat/crypto.py", "encrypt_reply"),
]


def profile_callback(creds: dict, count: int) -> None:
    """Run `count` callbacks through Django's WSGI handler here, under cProfile (CPU clock).

    This process runs no flusher thread: the rows queued here are flushed at the end,
    timed, to show what writing a row costs the flusher.
    """

    from messaging import log_queue

    items = build_requests(creds, count + 200, 9 * 10**12)

    call = wsgi_poster("profile")

    for path, body, _ in items[:200]:  # warm caches and the connection
        call(path, body)
    # The same number of callbacks without the profiler: the real CPU per callback.
    unprofiled_items = build_requests(creds, count, 8 * 10**12)
    started = time.thread_time()
    for path, body, _ in unprofiled_items:
        call(path, body)
    real = (time.thread_time() - started) / count * 1000
    log_queue.flush()
    profiler = cProfile.Profile(time.thread_time)
    started = time.thread_time()
    profiler.enable()
    for path, body, _ in items[200:]:
        call(path, body)
    profiler.disable()
    total = (time.thread_time() - started) / count * 1000
    stats = pstats.Stats(profiler)
    print(
        f"\nCPU per callback in this process ({count} messages, thread CPU clock): "
        f"{real:.3f} ms without the profiler, {total:.3f} ms under cProfile; the parts "
        f"(cProfile's shares, scaled to the unprofiled total):"
    )
    accounted = 0.0
    for label, suffix, name in PARTS:
        cumulative = sum(
            stat[3]
            for (filename, _line, func), stat in stats.stats.items()
            if func == name and filename.endswith(suffix)
        )
        share = cumulative / count * 1000
        accounted += share
        print(f"  {label:<52} {share / total * real:7.3f} ms  {share / total * 100:5.1f} %")
    rest = total - accounted
    print(
        f"  {'Django request/response, URL resolving, the rest':<52} "
        f"{rest / total * real:7.3f} ms  {rest / total * 100:5.1f} %"
    )
    started = time.thread_time()
    flushed = log_queue.flush()
    flusher = (time.thread_time() - started) / max(flushed, 1) * 1000
    print(
        f"  off the request path, the flusher: {flusher:.3f} ms per row ({flushed} rows in "
        f"batches of up to {log_queue.BATCH_SIZE}; PostgreSQL's own time not included)"
    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    args = parse_args()
    load_before = load_average()
    benchdb.ensure_database(DB_URL)
    setup_django()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    creds = create_account()

    kind = f"gthread x{args.threads}" if args.threads > 1 else "sync"
    print(
        f"callback throughput: gunicorn {args.workers} workers ({kind}), production settings, "
        f"safe mode, keyword reply, {args.concurrency} client threads in another process, "
        f"{args.seconds:g} s per variant in {args.rounds} alternating slices; "
        f"load average before: {load_before} ({os.cpu_count()} CPUs)"
    )
    from core.testing.faults import free_port

    port = args.port or free_port()
    server = start_gunicorn(
        port, env_for_server(), workers=args.workers, threads=args.threads, extra_args=("--backlog", "512")
    )
    try:
        pids = server_pids(server)
        results = measure(args, creds, port, pids)
        callback = results["callback"]
        answered_ids = {msg_id for msg_id, _ in callback["answered"]}
        # WeChat retries: re-send 200 answered messages; none may be stored again.
        retry_items = [item for item in callback["items"] if item[2] in answered_ids][:200]
        retries = merge([run_phase(port, "callback", retry_items, 60, args.concurrency)])
        drained = wait_for_flushers()
    finally:
        stop_gunicorn(server)
    from messaging import log_queue

    leftover = log_queue.flush(claim_idle_ms=0)  # whatever the server's flushers left
    print(
        f"\n{'variant':<16} {'msgs/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'answered':>9} "
        f"{'errors':>7} {'wrong':>6} {'lost':>5} {'dupl.':>6} {'CPU ms/msg':>11}"
    )
    for variant in VARIANTS:
        result = results[variant]
        answered = {msg_id for msg_id, _ in result["answered"]}
        wrong = check_replies(creds, result["answered"])
        if variant == "crypto-only":
            lost = duplicates = "-"
        else:
            rows, distinct = stored(creds, answered)
            lost, duplicates = len(answered) - distinct, rows - distinct
        print(
            f"{variant:<16} {result['rate']:8.1f} {result['p50']:8.1f} {result['p99']:8.1f} "
            f"{result['count']:9d} {result['errors']:7d} {wrong:6d} {lost!s:>5} "
            f"{duplicates!s:>6} {result['cpu_ms']:11.3f}"
        )
    retry_wrong = check_replies(creds, retries["answered"])
    rows, distinct = stored(creds, {msg_id for _p, _b, msg_id in retry_items})
    print(
        f"retries of the callback: {retries['count']} re-sent, {retry_wrong} wrong replies, "
        f"{rows - distinct} stored twice"
    )
    print(
        f"the web processes' flushers emptied the log queue {drained}; "
        f"rows they left for this script: {leftover}"
    )
    (cb, sf, co) = (results[v]["rate"] for v in ("callback", "straightforward", "crypto-only"))
    print(f"ratio callback / straightforward: {cb / sf:.2f} (target >= 1.25)")
    print(f"ratio callback / crypto-only:     {cb / co:.2f} (target >= 0.6)")
    print(
        "(CPU ms/msg: gunicorn workers plus their PostgreSQL backends; Redis, the load "
        "generator and other processes not included)"
    )
    if args.profile_messages:
        profile_callback(creds, args.profile_messages)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
