"""Benchmark: 100,000 follow / scan / unfollow pushes applied to followers from the message log
(issue 24), against the per-event way it was done before, in the same run.

    .venv/bin/python bench/audience_events.py                 # 100,000 events
    .venv/bin/python bench/audience_events.py --events 20000
    .venv/bin/python bench/audience_events.py --pace 0      # the consumer flat out, as before

Runs against its own PostgreSQL database (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/wx_bench_audience_events, created and migrated if missing;
its accounts, log rows and followers are wiped at the start).

The callback stores every push in the message log and does nothing else for the audience
(0 queries: messaging/tests/test_callback_cost.py); ``audience.events.consume_events`` then
reads the stored rows in batches of 2,000 and applies them. So this bench stores the events
as the log flusher does (one bulk INSERT, rows of the same shape, old enough to be settled)
and measures the consumer:

1. **consumer**: ``consume_events`` until the log is drained, on account A: 100,000 events
   over about 36,000 users: 60,000 subscribes (a tenth by a QR code that carries no tag, so no
   WeChat call), 25,000 SCANs of that code by the same users, 15,000 unsubscribes of users
   who subscribed earlier, and a thousandth of the events delivered late (older than the
   user's newest event, so they must change nothing). Printed: events/s and the statements
   per batch. Then every follower row is checked against the state computed here from the
   events alone (subscribed, subscribe time, unsubscribed time, QR code), and the code's
   scan and follow counts.
2. **baseline**, same run: the previous consumer (a ``get_or_create`` and a ``save`` per
   event, ``QrScanDay`` updated per event), inlined here, over the first --baseline events
   of the same stream on account B. Printed: events/s and the ratio.

3. **callback**, same run (--callback, 20,000 by default): signed, encrypted subscribe pushes of
   new users through the project's WSGI handler in this process (the callback's whole path:
   signature, decrypt, parse, Redis claim and log queue), in alternating slices without and
   with the audience's consumer draining a backlog of --events stored events in another
   process, paced as the beat task runs it (``events.drain``, --pace, default
   ``events.PACE``). The callback touches no table and the consumer no Redis key of the
   callback's, so there are no lock waits or shared round trips between them: the
   audience's only cost to the callback is CPU (the consumer's process and its PostgreSQL
   backend on the same cores). Printed: pushes/s of both and the ratio; the callback's CPU
   per push in each; the consumer's CPU (process + backend, from /proc via
   ``_servers.cpu_seconds``) as a share of a core and the log rows it applied meanwhile.
   Then the queued log rows are flushed, the consumer drains, and every pushed user must be a
   subscribed follower. (The callback runs in this process, not behind gunicorn: no server
   is started, so ``_servers.start_gunicorn`` is not needed.)

Targets (issue 24): 100,000 subscribe events, every follower row right afterwards; the
callback's rate with the audience ≥ 0.9× its rate without.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

from _servers import cpu_seconds, wsgi_poster
from benchdb import ensure_database, setup_django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_audience_events")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"
SCENE = "poster-1"


def wipe() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE audience_followertag, audience_follower, audience_qrscanday, audience_qrcode, "
            "audience_eventcursor, messaging_inboundmessage, accounts_officialaccount_assigned_staff, "
            "accounts_officialaccount, accounts_historicalofficialaccount, accounts_entity, "
            "accounts_historicalentity RESTART IDENTITY CASCADE"
        )


def make_stream(count: int, seed: int = 24) -> list[tuple[str, str, str, int]]:
    """(openid, event, EventKey, seconds after the start) in log order."""
    rng = random.Random(seed)
    users = max(1, count * 6 // 10)
    stream: list[tuple[str, str, str, int]] = []
    subscribed: list[str] = []
    for i in range(count):
        clock = i + 1
        kind = i % 20
        if kind < 12 or not subscribed:  # 60 %: a subscribe (a tenth of them by the code)
            openid = f"oEv{len(stream) % users:025d}"
            key = f"qrscene_{SCENE}" if rng.random() < 0.1 else ""
            stream.append((openid, "subscribe", key, clock))
            subscribed.append(openid)
        elif kind < 17:  # 25 %: a SCAN of the code by someone who follows
            stream.append((rng.choice(subscribed), "SCAN", SCENE, clock))
        else:  # 15 %: an unsubscribe
            stream.append((rng.choice(subscribed), "unsubscribe", "", clock))
        if rng.random() < 0.001 and stream:  # delivered late: an hour older than it should be
            openid, event, key, at = stream[-1]
            stream[-1] = (openid, event, key, at - 3600)
    return stream


def expected(stream, start: datetime.datetime) -> dict[str, tuple[bool, datetime.datetime | None, bool]]:
    """openid -> (subscribed, subscribe time, by the code), replaying the rule independently."""
    state: dict[str, list] = {}
    for openid, event, key, at in stream:
        when = start + datetime.timedelta(seconds=at)
        row = state.setdefault(openid, [False, None, False, None])
        if row[3] is not None and when < row[3]:
            continue
        row[3] = when
        if event == "subscribe":
            row[0], row[1] = True, when
            row[2] = row[2] or key == f"qrscene_{SCENE}"  # a code once recorded stays
        elif event == "unsubscribe":
            row[0] = False
    return {o: (r[0], r[1], r[2]) for o, r in state.items()}


def store(account, stream, start: datetime.datetime, prefix: str) -> None:
    from messaging.models import InboundMessage

    received = start + datetime.timedelta(seconds=len(stream) + 60)
    rows = [
        InboundMessage(
            account=account,
            dedupe_key=f"{prefix}{n}",
            openid=openid,
            msg_type="event",
            event=event,
            content=key,
            sent_at=start + datetime.timedelta(seconds=at),
            received_at=received,
        )
        for n, (openid, event, key, at) in enumerate(stream)
    ]
    InboundMessage.objects.bulk_create(rows, batch_size=5000)


def old_apply(row, codes) -> None:
    """The consumer's per-event step before this change (audience/events.py at feaedd2)."""
    from django.db.models import F

    from audience.events import SHANGHAI, _scene
    from audience.models import Follower, QrScanDay

    at = row["sent_at"]
    follower, _created = Follower.objects.get_or_create(
        account_id=row["account_id"], openid=row["openid"], defaults={"subscribed": False}
    )
    code = codes.get((row["account_id"], _scene(row))) if row["event"] != "unsubscribe" else None
    if code is not None:
        QrScanDay.objects.get_or_create(code=code, day=at.astimezone(SHANGHAI).date())
        QrScanDay.objects.filter(code=code, day=at.astimezone(SHANGHAI).date()).update(
            scans=F("scans") + 1, subscribes=F("subscribes") + (1 if row["event"] == "subscribe" else 0)
        )
    if follower.last_event_at is not None and at < follower.last_event_at:
        return
    follower.last_event_at = at
    if row["event"] == "subscribe":
        follower.subscribed = True
        follower.subscribe_time = at
        follower.unsubscribed_at = None
        if code is not None:
            follower.qr_code = code
            follower.qr_scene = code.scene
            follower.subscribe_scene = "ADD_SCENE_QR_CODE"
    elif row["event"] == "unsubscribe":
        follower.subscribed = False
        follower.unsubscribed_at = at
    follower.save()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=10_000, help="events the old way (slow)")
    parser.add_argument("--callback", type=int, default=20_000, help="pushes through the callback")
    parser.add_argument("--slices", type=int, default=4, help="alternating slices of each variant")
    parser.add_argument(
        "--pace", type=float, default=None, help="the consumer's rest per batch time (events.PACE)"
    )
    args = parser.parse_args()
    ensure_database(DB_URL)
    setup_django()
    if args.pace is None:
        from audience.events import PACE

        args.pace = PACE
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from accounts.tests.factories import OfficialAccountFactory
    from audience import events
    from audience.models import Follower, QrCode, QrScanDay
    from messaging.models import InboundMessage

    wipe()
    account_a = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1))
    account_b = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1))
    code_a = QrCode.objects.create(account=account_a, scene=SCENE, name="海报", ticket="t", url="u")
    QrCode.objects.create(account=account_b, scene=SCENE, name="海报", ticket="t", url="u")
    start = (timezone.now() - datetime.timedelta(days=3)).replace(microsecond=0)
    stream = make_stream(args.events)

    # -- 2. (run first) baseline: the old per-event consumer on B ------------------------------
    store(account_b, stream[: args.baseline], start, "b")
    rows = list(
        InboundMessage.objects.filter(account=account_b)
        .order_by("pk")
        .values("pk", "account_id", "openid", "event", "content", "sent_at")
    )
    started = time.perf_counter()
    for first in range(0, len(rows), events.BATCH):
        batch = rows[first : first + events.BATCH]
        codes = events._codes_for(batch)
        with transaction.atomic():
            for row in batch:
                old_apply(row, codes)
    old_seconds = time.perf_counter() - started
    old_rate = len(rows) / old_seconds
    print(
        f"baseline  the per-event consumer, {len(rows):,} events: {old_seconds:.1f} s = "
        f"{old_rate:,.0f} events/s",
        flush=True,
    )

    # -- 1. the consumer on A, from after B's rows -----------------------------------------------
    events.EventCursor.objects.update_or_create(name=events.CURSOR, defaults={"last_id": rows[-1]["pk"]})
    store(account_a, stream, start, "a")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_inboundmessage")
    read, batches, statements = 0, 0, 0
    started = time.perf_counter()
    while True:
        with CaptureQueriesContext(connection) as captured:
            got = events.consume_events()
        if not got:
            break
        read += got
        batches += 1
        statements += len(captured)
    seconds = time.perf_counter() - started
    rate = read / seconds
    print(
        f"consumer  {read:,} events in {batches} batches: {seconds:.1f} s = {rate:,.0f} events/s, "
        f"{statements / max(1, batches):.1f} statements a batch",
        flush=True,
    )
    want = expected(stream, start)
    have = {
        f.openid: (f.subscribed, f.subscribe_time, f.qr_code_id == code_a.pk)
        for f in Follower.objects.filter(account=account_a).only(
            "openid", "subscribed", "subscribe_time", "qr_code_id"
        )
    }
    wrong = [o for o, state in want.items() if have.get(o) != state]
    scans = sum(1 for _o, e, k, _a in stream if (e == "SCAN") or k == f"qrscene_{SCENE}")
    follows = sum(1 for _o, e, k, _a in stream if e == "subscribe" and k == f"qrscene_{SCENE}")
    days = QrScanDay.objects.filter(code=code_a)
    counted = (sum(d.scans for d in days), sum(d.subscribes for d in days))
    print(
        f"          followers checked: {len(want):,}, wrong: {len(wrong)} "
        f"(e.g. {wrong[:1]}); extra rows: {len(set(have) - set(want))}; "
        f"code counts (scans, follows) {counted} expected {(scans, follows)}",
        flush=True,
    )
    print(f"ratio     consumer/baseline {rate / old_rate:.1f}", flush=True)
    assert not wrong and set(have) == set(want) and counted == (scans, follows)

    if args.callback:
        callback_phase(args, start)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def build_pushes(creds: dict, count: int, prefix: str, first: int = 0) -> list[tuple[str, bytes, str]]:
    """(path?query, body, openid): safe-mode subscribe pushes of `count` new users, signed
    now (the callback refuses a timestamp outside its window: build each slice just before
    it is sent)."""
    from wechat.crypto import MessageCrypto, signature

    crypto = MessageCrypto(creds["token"], creds["aes"], creds["appid"])
    now = str(int(time.time()))
    built = []
    for i in range(first, first + count):
        openid = f"o{prefix}{i:024d}"
        xml = (
            f"<xml><ToUserName><![CDATA[{creds['original_id']}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>"
        )
        encrypt = crypto.encrypt(xml)
        nonce = f"{i}"
        query = (
            f"signature={signature(creds['token'], now, nonce)}&timestamp={now}"
            f"&nonce={nonce}&openid={openid}&encrypt_type=aes"
            f"&msg_signature={signature(creds['token'], now, nonce, encrypt)}"
        )
        body = (
            f"<xml><ToUserName><![CDATA[{creds['original_id']}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        ).encode()
        built.append((f"/wechat/{creds['appid']}/?{query}", body, openid))
    return built


def drain(stop, backend_pid, pace: float) -> None:
    """The audience's consumer in its own process, paced as the beat task runs it
    (``events.drain``; a short budget so that it notices ``stop``), until told to stop.
    Publishes its PostgreSQL backend's pid (its CPU is the consumer's too)."""
    from django.db import connection

    from audience import events

    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend_pid.value = cursor.fetchone()[0]
    while not stop.is_set():
        if not events.drain(pace=pace, budget=1.0):
            time.sleep(0.2)


def callback_phase(args, start: datetime.datetime) -> None:
    import multiprocessing

    from django.db import connection

    from accounts.tests.factories import OfficialAccountFactory
    from audience import events
    from audience.models import Follower
    from messaging import log_queue

    account = OfficialAccountFactory(message_mode="safe", certified_until=datetime.date(2099, 1, 1))
    creds = {
        "appid": account.appid,
        "token": str(account.server_token),
        "aes": str(account.encoding_aes_key),
        "original_id": account.original_id,
    }
    backlog = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1))
    store(backlog, make_stream(args.events, seed=25), start, "c")  # what the consumer drains
    log_queue._flusher_client().delete(log_queue.STREAM)  # nothing left from other runs
    pushes = build_pushes(creds, 200, "Cb")

    call = wsgi_poster("the events bench")

    for path, body, _ in pushes:  # warm caches and the connection
        call(path, body)
    per_slice = args.callback // (2 * args.slices)
    seconds = {"without": 0.0, "with": 0.0}
    sent = {"without": 0, "with": 0}
    cpu = {"callback without": 0.0, "callback with": 0.0, "consumer": 0.0}
    applied = 0
    position = 200
    context = multiprocessing.get_context("fork")
    for _ in range(args.slices):
        for variant in ("without", "with"):
            stop, child, backend = context.Event(), None, context.Value("i", 0)
            if variant == "with":
                connection.close()
                child = context.Process(target=drain, args=(stop, backend, args.pace), daemon=True)
                child.start()
                time.sleep(1.0)  # let it get going
            batch = build_pushes(creds, per_slice, "Cb", first=position)
            pushes += batch
            cursor_before = events.EventCursor.objects.get(name=events.CURSOR).last_id
            consumer_before = cpu_seconds([child.pid, backend.value]) if child is not None else 0.0
            began, cpu_began = time.perf_counter(), time.process_time()
            for path, body, _ in batch:
                call(path, body)
            seconds[variant] += time.perf_counter() - began
            cpu[f"callback {variant}"] += time.process_time() - cpu_began
            sent[variant] += per_slice
            position += per_slice
            if child is not None:
                cpu["consumer"] += cpu_seconds([child.pid, backend.value]) - consumer_before
                applied += events.EventCursor.objects.get(name=events.CURSOR).last_id - cursor_before
                stop.set()
                child.join(timeout=60)
    rates = {v: sent[v] / seconds[v] for v in seconds}
    print(
        f"callback  {sent['without']:,} subscribe pushes without the consumer: {rates['without']:,.0f}/s; "
        f"{sent['with']:,} with it draining a backlog: {rates['with']:,.0f}/s; "
        f"with/without {rates['with'] / rates['without']:.2f}",
        flush=True,
    )
    print(
        f"          CPU per push: {1000 * cpu['callback without'] / sent['without']:.2f} ms without, "
        f"{1000 * cpu['callback with'] / sent['with']:.2f} ms with; the consumer (process + its "
        f"PostgreSQL backend, pace {args.pace}) used {cpu['consumer']:.1f} s of CPU in "
        f"{seconds['with']:.1f} s ({100 * cpu['consumer'] / seconds['with']:.0f} % of a core) and "
        f"applied ~{applied:,} log rows ({applied / seconds['with']:,.0f}/s)",
        flush=True,
    )
    flushed = 0
    while log_queue.queued():
        flushed += log_queue.flush(claim_idle_ms=0)
    events.SETTLE_SECONDS = 0
    while events.consume_events():
        pass
    openids = [o for _path, _body, o in pushes]
    right = Follower.objects.filter(account=account, openid__in=openids, subscribed=True).count()
    print(
        f"          {flushed:,} log rows flushed; pushed users who are subscribed followers: "
        f"{right:,} of {len(openids):,}",
        flush=True,
    )
    assert right == len(openids)


if __name__ == "__main__":
    main()
