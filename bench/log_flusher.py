"""Benchmark: what the message log's flusher costs the callback, and how soon rows are stored (issue 30).

    .venv/bin/python bench/log_flusher.py                # 4 rounds of 6 s paused / 6 s running
    .venv/bin/python bench/log_flusher.py --rounds 2 --seconds 4
    .venv/bin/python bench/log_flusher.py --split-only   # no load: where a batch's CPU goes

PostgreSQL database `BENCH_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/wx_bench_flusher;
created, migrated, its log wiped, dropped at the end unless --keep), Redis `BENCH_REDIS_URL`
(default redis://127.0.0.1:6379/11, emptied), gunicorn on 127.0.0.1:`BENCH_PORT` (default 21811).

1. One plaintext account with a keyword rule, 20 other accounts, and a log of --rows messages
   (default 200,000, one a second up to now, 50,000 users) with the conversation table filled,
   so that the flusher's conversation upsert finds indexes of a realistic depth.
2. gunicorn (2 workers x 4 threads, the test settings) with the log flusher thread in every
   worker (`MESSAGE_LOG_FLUSHER_THREAD=1`, production's default). A load process (8 client
   threads, a new connection per request, 300 users) posts signed text pushes without pause.
3. Alternating slices: *paused* — this process holds `LOCK TABLE … IN SHARE MODE` on the log,
   so the flushers' batch INSERT (and the conversation upsert in the same transaction) wait
   without using CPU while the callback's rows pile up in the Redis stream (the callback
   itself reads the log at most, which a SHARE lock allows); *running* — the lock is
   released, the backlog drained (not timed), then the flushers write as in production:
   their batch `INSERT … ON CONFLICT DO NOTHING` (the queued JSON as one array parameter)
   and the conversation upsert from the inserted rows, one statement (messaging/log_queue.py
   `_insert_queued`, `conversations.upkeep.insert_with_conversations`).
4. Prints the callback's rate in each state and the ratio running / paused (target ≥ 0.95),
   and the lag of the rows answered in the running slices: from the callback's answer (the
   client's clock) to the row being visible in PostgreSQL (a poller every 20 ms on its own
   connection): p50, p99 and max (target: within 1 s).
5. Where a batch's CPU goes (`split_batch_cost`): the web process's Python and the PostgreSQL
   backend's CPU per 500-row batch, the old way (models) and the flusher's (JSON).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import _servers
import benchdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_flusher")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
PORT = int(os.environ.get("BENCH_PORT", "21811"))
os.environ["DATABASE_URL"] = DB_URL
os.environ["TEST_REDIS_URL"] = REDIS_URL
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"
os.environ.setdefault("LOG_LEVEL", "WARNING")
# longer than a run: the flushers' backends stay the ones whose CPU is counted (with 60 s, a
# flusher reconnected mid-run and its new backend's CPU went uncounted)
os.environ.setdefault("CONN_MAX_AGE", "900")
TABLE = "messaging_inboundmessage"
FIRST_MSG_ID = 5 * 10**15
POLL_SECONDS = 0.02
TAIL_SECONDS = 2.0
#: rows per batch in the in-process split of the flusher's work (its BATCH_SIZE)
SPLIT_BATCHES = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="pairs of paused / running slices")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each slice")
    parser.add_argument("--rows", type=int, default=200_000, help="messages in the log before the load")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="a second figure, never instead of the plain one: gunicorn and the load on CPU 0, this "
        "bench and the database's backends on CPU 1 (production's separate database host, emulated)",
    )
    parser.add_argument(
        "--split-only", action="store_true", help="no load: only where a batch's CPU goes (split_batch_cost)"
    )
    return parser.parse_args()


# --- set-up -----------------------------------------------------------------------------------
def sql(statement: str, params=None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def create_world(rows: int):
    """The account the load posts to, and a log of `rows` messages (one a second up to now)."""
    from django.utils import timezone

    from accounts.models import Entity, OfficialAccount
    from messaging.conversations import upkeep
    from messaging.models import KeywordRule

    sql(
        f"TRUNCATE {TABLE}, messaging_conversation, messaging_keywordrule, "
        "accounts_officialaccount_assigned_staff, accounts_officialaccount, "
        "accounts_historicalofficialaccount, accounts_entity, accounts_historicalentity "
        "RESTART IDENTITY CASCADE"
    )
    entity = Entity.objects.create(
        full_name="基准测试传媒有限公司",
        short_name="基准传媒",
        kind="enterprise",
        subtype="general_enterprise",
    )
    accounts = OfficialAccount.objects.bulk_create(
        [
            OfficialAccount(
                entity=entity,
                name=f"刷写基准{n:02d}",
                original_id=f"gh_flush{n:06d}",
                appid=f"wx{0xF1 * 10**6 + n:016x}",
                appsecret="s" * 32,
                server_token=f"flushtoken{n}",
                encoding_aes_key="a" * 43,
                account_type="service",
                message_mode="plaintext",
            )
            for n in range(21)
        ]
    )
    KeywordRule.objects.create(
        account=accounts[0],
        name="营业时间",
        match_type="contains",
        pattern="营业",
        reply_text="每天 9:00-21:00 营业，欢迎光临！",
    )
    started = time.perf_counter()
    # one message a second up to now from 50,000 users over the 21 accounts (the load's
    # account included); the columns the callback writes, minimal raw fields
    sql(
        f"""
        INSERT INTO {TABLE} (account_id, dedupe_key, openid, msg_type, event, content, msg_id,
                             sent_at, received_at, route, reply_type, reply_summary, reply_xml,
                             processing_ms, raw)
        SELECT a.ids[1 + (g * 7919) %% 50000 %% 21], 'msg:' || g,
               'oFlush' || lpad(((g * 7919) %% 50000)::text, 22, '0'),
               'text', '', '你好', g, %(now)s - interval '1 second' * (%(rows)s - g) - interval '1 second',
               %(now)s - interval '1 second' * (%(rows)s - g), 'none', '', '', '', 1.0,
               jsonb_build_object('MsgType', 'text', 'Content', '你好')
        FROM generate_series(1, %(rows)s) AS g, (SELECT %(ids)s::int[] AS ids) a
        """,
        {"now": timezone.now(), "rows": rows, "ids": [a.pk for a in accounts]},
    )
    upkeep.refresh_since(datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC))
    sql(f"VACUUM ANALYZE {TABLE}")
    sql("VACUUM ANALYZE messaging_conversation")
    print(
        f"log filled with {rows:,} messages and their conversations in {time.perf_counter() - started:.0f} s"
    )
    return accounts[0]


# --- load -----------------------------------------------------------------------------------
def poll_visible(stop: threading.Event, seen: dict[int, float], account_id: int, backend: set[int]) -> None:
    """Every POLL_SECONDS: the load's rows now visible, with the time first seen.

    Flushers in two processes commit batches out of id order, so each poll looks again
    from well below the highest id seen."""
    import psycopg

    top = 0
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        backend.add(conn.info.backend_pid)
        while not stop.is_set():
            rows = conn.execute(
                f"SELECT id, msg_id FROM {TABLE} WHERE account_id = %s AND id > %s AND msg_id >= %s",
                [account_id, max(0, top - 5000), FIRST_MSG_ID],
            ).fetchall()
            at = time.time()
            for row_id, msg_id in rows:
                seen.setdefault(msg_id, at)
                top = max(top, row_id)
            time.sleep(POLL_SECONDS)


def server_pids(server, exclude: set[int]) -> list[int]:
    """The gunicorn workers and the PostgreSQL backends of the bench database (but this
    process's own: the poller and the lock holder)."""
    import psycopg

    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]).fetchall()
    return [int(pid) for pid in children] + [pid for (pid,) in rows if pid not in exclude]


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    return {pid: _servers.cpu_seconds([pid]) for pid in pids}


def cpu_since(start: dict[int, float]) -> float:
    """CPU seconds these processes used since `start`, counting only those still there
    (one gone meanwhile would read as 0 and subtract what it had used before)."""
    now = cpu_by_pid(list(start))
    return sum(now[pid] - used for pid, used in start.items() if now[pid] >= used)


def pin(server, loader) -> None:
    """--pin: every thread of gunicorn and the load process on CPU 0; this process and every
    backend of the bench database on CPU 1. Done again at each slice: backends opened since
    (a flusher reconnecting after CONN_MAX_AGE) are forked by the postmaster on any CPU."""
    import psycopg

    web = [
        server.pid,
        loader.pid,
        *map(int, Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()),
    ]
    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [name]).fetchall()
    for pids, cpu in ((web, 0), ([os.getpid(), *(pid for (pid,) in rows)], 1)):
        for pid in pids:
            try:
                threads = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in threads:
                try:
                    os.sched_setaffinity(int(tid), {cpu})
                except OSError:
                    pass


def queued() -> int:
    import redis

    from messaging.log_queue import STREAM

    return redis.Redis.from_url(REDIS_URL).xlen(STREAM)


def drain(limit: float = 60.0, left: int = 100) -> float:
    """Wait until the flushers brought the queue down to what arrives between two of
    their passes (`left` rows: the load keeps adding); seconds waited."""
    started = time.time()
    while queued() > left and time.time() - started < limit:
        time.sleep(0.02)
    return time.time() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def main() -> None:
    args = parse_args()
    benchdb.ensure_database(DB_URL)
    benchdb.setup_django()
    import psycopg
    import redis
    from django.db import connections

    redis.Redis.from_url(REDIS_URL).flushdb()
    account = create_world(args.rows)
    if args.split_only:
        print(f"load average: {os.getloadavg()} (2 cores, shared)", flush=True)
        split_batch_cost(account)
        print(f"load average at the end: {os.getloadavg()} (2 cores, shared)")
        finish(args)
        return
    connections.close_all()
    env = {**os.environ, "MESSAGE_LOG_FLUSHER_THREAD": "1"}
    print(f"load average at the start: {os.getloadavg()} (2 cores, shared)", flush=True)
    server = _servers.start_gunicorn(PORT, env, extra_args=("--backlog", "512"))
    # 8 threads of signed text pushes; reports (answered at, latency, MsgId)
    loader, ready, stop, queue = _servers.spawn_signed_push_load(PORT, account, FIRST_MSG_ID, "请问营业时间")
    seen: dict[int, float] = {}
    backend_of_poller: set[int] = set()
    halt = threading.Event()
    poller = threading.Thread(target=poll_visible, args=(halt, seen, account.pk, backend_of_poller))
    windows: dict[str, list[tuple[float, float]]] = {"paused": [], "running": []}
    backlogs, drains = [], []
    cpu = {"paused": 0.0, "running": 0.0}  # CPU seconds of the web processes and their backends
    try:
        loader.start()
        if not ready.wait(120):
            raise SystemExit("the callback does not answer")
        poller.start()
        drain()
        locker = psycopg.connect(DB_URL)  # a transaction held open while paused
        time.sleep(0.5)
        exclude = {locker.info.backend_pid} | backend_of_poller
        if args.pin:
            print("pinned: gunicorn and the load on CPU 0, this bench and PostgreSQL's backends on CPU 1")
        for _ in range(args.rounds):
            if args.pin:
                pin(server, loader)
            locker.execute(f"LOCK TABLE {TABLE} IN SHARE MODE")
            time.sleep(0.3)  # batches already inside their INSERT finish first
            pids = server_pids(server, exclude)  # again: a backend may have been replaced
            start, cpu_start = time.time(), cpu_by_pid(pids)
            time.sleep(args.seconds)
            windows["paused"].append((start, time.time()))
            cpu["paused"] += cpu_since(cpu_start)
            backlogs.append(queued())
            locker.rollback()  # the flushers go on
            drains.append(drain())
            if args.pin:
                pin(server, loader)
            time.sleep(0.3)
            pids = server_pids(server, exclude)
            start, cpu_start = time.time(), cpu_by_pid(pids)
            time.sleep(args.seconds)
            windows["running"].append((start, time.time()))
            cpu["running"] += cpu_since(cpu_start)
            # unmeasured: the rows answered at the slice's end get TAIL seconds to be
            # written before the next pause holds them (a longer lag still shows, capped)
            time.sleep(TAIL_SECONDS)
        locker.close()
        stop.set()
        result = queue.get()
        loader.join()
        drain()
        time.sleep(0.5)
    finally:
        halt.set()
        if poller.is_alive():
            poller.join()
        _servers.stop_gunicorn(server)
        if loader.is_alive():
            loader.kill()
    done = result["done"]
    report(done, windows, seen, backlogs, drains, result["errors"], cpu)
    split_batch_cost(account)
    print(f"load average at the end: {os.getloadavg()} (2 cores, shared)")
    finish(args)


def finish(args: argparse.Namespace) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    if not args.keep:
        name = DB_URL.rsplit("/", 1)[1]
        with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"dropped database {name}")


def split_batch_cost(account) -> None:
    """Where a batch's CPU goes, in this process: SPLIT_BATCHES batches of BATCH_SIZE rows per
    way of writing them, the ways interleaved, each batch in its own transaction (timed with
    its commit):

    - *models* (the flusher before: `json.loads` of each entry → an `InboundMessage` →
      `upkeep.insert_batch`, Django's INSERT of every value as a parameter), and the same
      rows inserted alone (`bulk_create`, no conversation upkeep) as a reference;
    - *JSON* (the flusher now, `log_queue._insert_queued`: the queued payloads joined into one
      JSON array parameter, `jsonb_to_record` in PostgreSQL), and its INSERT alone.

    Per batch (medians; the backend's CPU is the sum over the batches / SPLIT_BATCHES, read
    from /proc at 10 ms ticks): Python CPU building the rows (models only), Python CPU of the
    statement (compiling it, adapting the parameters, waiting excluded: thread_time), the
    PostgreSQL backend's CPU, and the wall time."""
    from django.db import connection, transaction
    from django.utils import timezone

    from messaging import log_queue
    from messaging.conversations import upkeep
    from messaging.models import InboundMessage

    ways: tuple[str, ...] = ("models, INSERT alone", "models, with the upsert")
    if hasattr(log_queue, "_insert_queued"):  # not in a checkout before it, run with this bench
        ways += ("JSON, INSERT alone", "JSON, with the upsert")
    build: dict[str, list[float]] = {way: [] for way in ways}
    python: dict[str, list[float]] = {way: [] for way in ways}
    wall: dict[str, list[float]] = {way: [] for way in ways}
    backend_cpu = dict.fromkeys(ways, 0.0)
    base = FIRST_MSG_ID + 10**12
    connection.ensure_connection()
    backend = [connection.connection.info.backend_pid]
    for batch in range(len(ways) * SPLIT_BATCHES):
        way = ways[batch % len(ways)]
        now = timezone.now()
        payloads = []
        for n in range(log_queue.BATCH_SIZE):
            msg_id = base + batch * log_queue.BATCH_SIZE + n
            fields = {
                "account_id": account.pk,
                "dedupe_key": f"msg:{msg_id}",
                "openid": f"oLoad{msg_id % 300:04d}",
                "msg_type": "text",
                "event": "",
                "content": "请问营业时间",
                "msg_id": msg_id,
                "sent_at": now,
                "received_at": now,
                "route": "keyword",
                "keyword_rule_id": None,
                "reply_type": "text",
                "reply_summary": "每天 9:00-21:00 营业，欢迎光临！",
                "reply_xml": "<xml>…</xml>",
                "processing_ms": 1.0,
                "raw": {"MsgType": "text", "Content": "请问营业时间"},
            }
            # as the queue carries it (`claim_and_queue`), as Redis hands it back: bytes
            payloads.append(
                json.dumps(log_queue.row_payload(fields), ensure_ascii=False, separators=(",", ":")).encode()
            )
        cpu = time.thread_time()
        rows = []
        if way.startswith("models"):
            rows = [log_queue._row_from_payload(json.loads(p)) for p in payloads]
        build[way].append(time.thread_time() - cpu)
        started, cpu, cpu_backend = time.perf_counter(), time.thread_time(), _servers.cpu_seconds(backend)
        with transaction.atomic():
            if way == "models, INSERT alone":
                InboundMessage.objects.bulk_create(rows, ignore_conflicts=True)
            elif way == "models, with the upsert":
                upkeep.insert_batch(rows)
            elif way == "JSON, INSERT alone":
                array = (b"[" + b",".join(payloads) + b"]").decode()
                with connection.cursor() as cursor:
                    cursor.execute(log_queue._queued_insert_sql(), [array, log_queue._queued_defaults()])
            else:
                log_queue._insert_queued(payloads)
        python[way].append(time.thread_time() - cpu)
        wall[way].append(time.perf_counter() - started)
        backend_cpu[way] += _servers.cpu_seconds(backend) - cpu_backend
    size = log_queue.BATCH_SIZE
    print(
        f"the flusher's work per {size}-row batch (300 users), in this process, medians of {SPLIT_BATCHES} "
        "(backend CPU: mean), each batch a transaction with its commit:",
        flush=True,
    )
    for way in ways:
        print(
            f"  {way:<24}: Python CPU rows from JSON {statistics.median(build[way]) * 1000:5.1f} ms + "
            f"statement {statistics.median(python[way]) * 1000:5.1f} ms; PostgreSQL backend CPU "
            f"{backend_cpu[way] / SPLIT_BATCHES * 1000:5.1f} ms; "
            f"wall {statistics.median(wall[way]) * 1000:5.1f} ms",
            flush=True,
        )


def report(done, windows, seen, backlogs, drains, errors, cpu) -> None:
    rates, per_message = {}, {}
    for state, spans in windows.items():
        inside = [lat for at, lat, _m in done if any(start <= at < end for start, end in spans)]
        total = sum(end - start for start, end in spans)
        rates[state] = len(inside) / total
        per_message[state] = cpu[state] / max(len(inside), 1) * 1000
        print(
            f"callback, flusher {state:>7}: {rates[state]:7.1f} msg/s over {total:.0f} s, "
            f"p50 {statistics.median(inside) * 1000:6.1f} ms, p99 {percentile(inside, 0.99) * 1000:6.1f} ms; "
            f"CPU of the web processes and their backends {per_message[state]:.2f} ms per message"
        )
    print(
        f"  → running / paused {rates['running'] / rates['paused']:.3f} (target ≥ 0.95); CPU per message "
        f"{per_message['running'] / per_message['paused']:.2f}× (the flusher's share of the machine)"
    )
    print(
        f"  queue at the end of each paused slice: {backlogs} rows, drained in "
        f"{', '.join(f'{d:.1f}' for d in drains)} s"
    )
    lags, missing = [], 0
    for at, _lat, msg_id in done:
        if any(start <= at < end for start, end in windows["running"]):
            if msg_id in seen:
                lags.append(seen[msg_id] - at)
            else:
                missing += 1
    stored = sum(1 for _at, _lat, msg_id in done if msg_id in seen)
    print(
        f"lag from the callback's answer to the row visible (running slices, {len(lags):,} rows, "
        f"polled every {POLL_SECONDS * 1000:.0f} ms): p50 {percentile(lags, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(lags, 0.99) * 1000:.0f} ms, max {max(lags, default=0) * 1000:.0f} ms; "
        f"within 1 s: {sum(1 for lag in lags if lag <= 1.0) / max(len(lags), 1):.2%} (target: all)"
    )
    print(
        f"answered {len(done):,}, stored {stored:,}, not seen {len(done) - stored} "
        f"({missing} of them in running slices); failed requests {errors}",
        flush=True,
    )


if __name__ == "__main__":
    main()
