"""subscribe / unsubscribe / SCAN pushes applied to followers OFF the callback's hot path.

The callback already stores every push in the message log (messaging.log_queue: one Redis
round trip, flushed to PostgreSQL in batches), so the audience reads those stored rows in
batches after the fact and the callback keeps its 0 queries (messaging/tests/
test_callback_cost.py). The cursor is the log row id; only rows older than SETTLE_SECONDS are
read so that a flusher committing a lower id a little later is not skipped. Applying the same
row twice changes nothing (an event older than the follower's ``last_event_at`` is ignored;
scan counts advance only with the cursor, in the same transaction).

``EventKey`` is ``qrscene_<scene>`` on a subscribe by code and ``<scene>`` on SCAN (§d, §h).

A code's tag (issue 24: "the code's tag is applied to the follower, off the hot path") is
sent to WeChat (``tags/members/batchtagging``, 50 a call) BEFORE the batch's transaction
advances the cursor: tagging is idempotent in WeChat, so a worker killed in between tags the
same users again on the next read and our rows never claim a tag WeChat did not accept. A
refusal (e.g. 45059, the user already holds 20 tags) is logged in words and does not stop
the stream; the follower simply does not get the tag here either.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from messaging.models import InboundMessage
from wechat.api import tags as tags_api
from wechat.errors import WeChatError

from .models import EventCursor, Follower, FollowerTag, QrCode, QrScanDay

logger = logging.getLogger(__name__)
Row = Mapping[str, Any]

CURSOR = "message-log"
EVENTS = ("subscribe", "unsubscribe", "SCAN")
SETTLE_SECONDS = 30
BATCH = 2000
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


#: pushes that are the user doing something (first / last interaction): every message, and
#: these events; not unsubscribe, nor WeChat's own reports (TEMPLATESENDJOBFINISH, …)
INTERACTION_EVENTS = (
    "subscribe",
    "SCAN",
    "CLICK",
    "VIEW",
    "LOCATION",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "view_miniprogram",
)


#: the consumer's pace: after each batch it rests PACE times the batch's own time, so while
#: it catches up on a backlog it takes at most 1 / (1 + PACE) of a core (and as much of
#: PostgreSQL), leaving the rest to the callback it shares the machine with (issue 24: the
#: callback's rate with the consumer draining ≥ 0.9× its rate without). At ~2,000 events/s
#: flat out, PACE 1 still applies ~1,000 events/s, above what the callback takes in.
PACE = 1.0
#: a drain (one beat task) stops after this long, well inside the tasks' 60 s soft time limit
#: (CELERY_TASK_SOFT_TIME_LIMIT); the next beat, 30 s later, continues from the cursor
DRAIN_SECONDS = 25.0


def drain(
    *,
    pace: float = PACE,
    budget: float = DRAIN_SECONDS,
    batch: int = BATCH,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Batches of ``consume_events`` until the log is drained or ``budget`` seconds have gone,
    resting ``pace`` times each batch's time after it (issue 24: the callback keeps its rate).
    Returns how many log rows were read."""
    started = time.monotonic()
    total = 0
    while True:
        began = time.monotonic()
        read = consume_events(batch=batch)
        total += read
        if read == 0 or time.monotonic() - started >= budget:
            return total
        sleep((time.monotonic() - began) * pace)


def consume_events(*, batch: int = BATCH, now: datetime.datetime | None = None) -> int:
    """Apply one batch of the stored log (follow events and interactions); returns how
    many rows were read."""
    now = now or timezone.now()
    start = EventCursor.objects.get_or_create(name=CURSOR)[0].last_id
    rows: list[Row] = list(
        InboundMessage.objects.filter(
            Q(msg_type="event", event__in=EVENTS + INTERACTION_EVENTS) | ~Q(msg_type="event"),
            pk__gt=start,
            received_at__lte=now - datetime.timedelta(seconds=SETTLE_SECONDS),
        )
        .order_by("pk")
        .values("pk", "account_id", "openid", "msg_type", "event", "content", "sent_at")[:batch]
    )
    if not rows:
        return 0
    follows = [r for r in rows if r["msg_type"] == "event" and r["event"] in EVENTS]
    codes = _codes_for(follows)
    tagged = _apply_code_tags(follows, codes)
    with transaction.atomic():
        cursor = EventCursor.objects.select_for_update().get(name=CURSOR)
        if cursor.last_id != start:
            return 0  # another reader took this batch meanwhile
        _apply_batch(follows, codes)
        _store_tags(tagged)
        _store_interactions(rows)
        cursor.last_id = rows[-1]["pk"]
        cursor.save(update_fields=["last_id"])
    return len(rows)


_PG_INTERACTIONS = """
UPDATE audience_follower f
SET first_interaction_at = LEAST(COALESCE(f.first_interaction_at, v.first_at), v.first_at),
    last_interaction_at = GREATEST(COALESCE(f.last_interaction_at, v.last_at), v.last_at)
FROM json_to_recordset(%s::json) AS v(account_id bigint, openid varchar, first_at timestamptz,
                                       last_at timestamptz)
WHERE f.account_id = v.account_id AND f.openid = v.openid
"""


def _store_interactions(rows: list[Row]) -> None:
    """First and last interaction of each follower of the batch (issue 24), one statement
    on PostgreSQL: the earliest and latest ``CreateTime`` per user, kept monotone (LEAST /
    GREATEST), so a row read twice or late changes nothing. A user we hold no follower row
    for is left alone (the sync brings the row; later messages set the times)."""
    spans: dict[tuple[int, str], list[datetime.datetime]] = {}
    for row in rows:
        if row["msg_type"] == "event" and row["event"] not in INTERACTION_EVENTS:
            continue
        span = spans.setdefault((row["account_id"], row["openid"]), [row["sent_at"], row["sent_at"]])
        span[0] = min(span[0], row["sent_at"])
        span[1] = max(span[1], row["sent_at"])
    if not spans:
        return
    if connection.vendor == "postgresql":
        payload = [
            {"account_id": a, "openid": o, "first_at": f.isoformat(), "last_at": last.isoformat()}
            for (a, o), (f, last) in spans.items()
        ]
        with connection.cursor() as cursor:
            cursor.execute(_PG_INTERACTIONS, [json.dumps(payload)])
        return
    for (account_id, openid), (first, last) in spans.items():  # SQLite (make run)
        follower = Follower.objects.filter(account_id=account_id, openid=openid).first()
        if follower is None:
            continue
        follower.first_interaction_at = min(filter(None, (follower.first_interaction_at, first)))
        follower.last_interaction_at = max(filter(None, (follower.last_interaction_at, last)))
        follower.save(update_fields=["first_interaction_at", "last_interaction_at"])


def _apply_code_tags(rows: list[Row], codes: dict[tuple[int, str], QrCode]) -> dict[QrCode, list[str]]:
    """Tag in WeChat the users who scanned or followed by a code that carries a tag; returns
    the OpenIDs WeChat accepted, per code."""
    wanted: dict[QrCode, list[str]] = {}
    for row in rows:
        code = codes.get((row["account_id"], _scene(row))) if row["event"] != "unsubscribe" else None
        if code is not None and code.tag is not None and row["openid"] not in wanted.get(code, []):
            wanted.setdefault(code, []).append(row["openid"])
    done: dict[QrCode, list[str]] = {}
    for code, openids in wanted.items():
        from accounts.wechat_api import client_for

        assert code.tag is not None
        client = client_for(code.account)
        for start in range(0, len(openids), tags_api.TAGGING_BATCH_MAX):
            batch = openids[start : start + tags_api.TAGGING_BATCH_MAX]
            try:
                tags_api.tag_users(client, code.tag.wechat_id, batch)
            except WeChatError as error:
                logger.warning(
                    "QR code %s: WeChat refused tag %s for %d users: %s (%s)",
                    code.pk,
                    code.tag.wechat_id,
                    len(batch),
                    error.errmsg,
                    error.errcode,
                )
                continue
            done.setdefault(code, []).extend(batch)
    return done


def _store_tags(tagged: dict[QrCode, list[str]]) -> None:
    for code, openids in tagged.items():
        assert code.tag is not None
        ids = Follower.objects.filter(account_id=code.account_id, openid__in=openids).values_list(
            "pk", flat=True
        )
        FollowerTag.objects.bulk_create(
            [
                FollowerTag(follower_id=pk, account_id=code.account_id, tag_id=code.tag.wechat_id)
                for pk in ids
            ],
            ignore_conflicts=True,
        )


def _scene(row: Row) -> str:
    key = row["content"] or ""
    return key.removeprefix("qrscene_") if row["event"] == "subscribe" else key


def _codes_for(rows: list[Row]) -> dict[tuple[int, str], QrCode]:
    wanted = {(r["account_id"], _scene(r)) for r in rows if r["event"] != "unsubscribe" and _scene(r)}
    codes: dict[tuple[int, str], QrCode] = {}
    if wanted:
        for code in QrCode.objects.filter(
            account_id__in={a for a, _ in wanted}, scene__in={s for _, s in wanted}
        ).select_related("tag", "account"):
            codes.setdefault((code.account_id, code.scene), code)
    return codes


#: the follower columns the events decide (the sync owns the rest)
_EVENT_FIELDS = (
    "subscribed",
    "subscribe_time",
    "unsubscribed_at",
    "last_event_at",
    "qr_code",
    "qr_scene",
    "subscribe_scene",
    "updated_at",
)


#: what the replay reads of a follower already stored
_EVENT_STATE = (
    "subscribed",
    "subscribe_time",
    "unsubscribed_at",
    "last_event_at",
    "qr_code_id",
    "qr_scene",
    "subscribe_scene",
)


def _apply_batch(rows: list[Row], codes: dict[tuple[int, str], QrCode]) -> None:
    """A batch of events in a few set-based statements (it used to be a get_or_create and a
    save per event): one locking SELECT of the followers concerned, per account; each
    follower's events replayed in memory in log order with the same rule as always (an event
    older than the follower's ``last_event_at`` changes nothing); one upsert of every
    follower whose state changed; one counter update per code and day."""
    by_account: dict[int, set[str]] = {}
    for row in rows:
        by_account.setdefault(row["account_id"], set()).add(row["openid"])
    current: dict[tuple[int, str], Follower] = {}
    for account_id, openids in by_account.items():
        locked = Follower.objects.select_for_update().filter(account_id=account_id, openid__in=openids)
        if connection.vendor == "postgresql":  # its upsert writes only these (bulk_create all)
            locked = locked.only("account_id", "openid", *_EVENT_STATE)
        for follower in locked:
            current[(account_id, follower.openid)] = follower
    changed: dict[tuple[int, str], Follower] = {}
    days: dict[tuple[QrCode, datetime.date], list[int]] = {}
    now = timezone.now()
    for row in rows:
        key = (row["account_id"], row["openid"])
        at = row["sent_at"]
        code = codes.get((row["account_id"], _scene(row))) if row["event"] != "unsubscribe" else None
        if code is not None:
            counts = days.setdefault((code, at.astimezone(SHANGHAI).date()), [0, 0])
            counts[0] += 1
            counts[1] += row["event"] == "subscribe"
        known = current.get(key)
        if known is None:  # as get_or_create did: a follower we did not know yet
            known = current[key] = Follower(account_id=key[0], openid=key[1], subscribed=False)
            changed[key] = known
        follower = known
        if follower.last_event_at is not None and at < follower.last_event_at:
            continue  # a late, older event: the newer one already decided
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
        follower.updated_at = now
        changed[key] = follower
    if changed and connection.vendor == "postgresql":
        _upsert_pg(list(changed.values()), now)
    elif changed:
        Follower.objects.bulk_create(
            list(changed.values()),
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["account", "openid"],
            update_fields=list(_EVENT_FIELDS),
        )
    for (code, day), (scans, subscribes) in days.items():
        QrScanDay.objects.get_or_create(code=code, day=day)
        QrScanDay.objects.filter(code=code, day=day).update(
            scans=F("scans") + scans, subscribes=F("subscribes") + subscribes
        )


_PG_UPSERT = """
INSERT INTO audience_follower (
    account_id, openid, unionid, subscribed, subscribe_time, subscribe_scene, qr_scene, qr_code_id,
    remark, language, blacklisted, unsubscribed_at, last_event_at, updated_at
)
SELECT t.account_id, t.openid, '', t.subscribed, t.subscribe_time, t.subscribe_scene, t.qr_scene,
       t.qr_code_id, '', '', false, t.unsubscribed_at, t.last_event_at, %s
FROM json_to_recordset(%s::json) AS t(
    account_id bigint, openid varchar, subscribed boolean, subscribe_time timestamptz,
    subscribe_scene varchar, qr_scene varchar, qr_code_id bigint, unsubscribed_at timestamptz,
    last_event_at timestamptz)
ON CONFLICT (account_id, openid) DO UPDATE SET
    subscribed = EXCLUDED.subscribed, subscribe_time = EXCLUDED.subscribe_time,
    subscribe_scene = EXCLUDED.subscribe_scene, qr_scene = EXCLUDED.qr_scene,
    qr_code_id = EXCLUDED.qr_code_id, unsubscribed_at = EXCLUDED.unsubscribed_at,
    last_event_at = EXCLUDED.last_event_at, updated_at = EXCLUDED.updated_at
"""


def _upsert_pg(followers: list[Follower], now: datetime.datetime) -> None:
    """The batch's followers in one statement from one json parameter: psycopg binding the
    ORM's 14 parameters per row in Python was most of a batch's time (bench/audience_events.py)."""

    def at(moment: datetime.datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    payload = [
        {
            "account_id": f.account_id,
            "openid": f.openid,
            "subscribed": f.subscribed,
            "subscribe_time": at(f.subscribe_time),
            "subscribe_scene": f.subscribe_scene,
            "qr_scene": f.qr_scene,
            "qr_code_id": f.qr_code_id,
            "unsubscribed_at": at(f.unsubscribed_at),
            "last_event_at": at(f.last_event_at),
        }
        for f in followers
    ]
    with connection.cursor() as cursor:
        cursor.execute(_PG_UPSERT, [now, json.dumps(payload)])
