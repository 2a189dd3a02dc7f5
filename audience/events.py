"""subscribe / unsubscribe / SCAN pushes applied to followers OFF the callback's hot path.

The callback already stores every push in the message log (messaging.log_queue: one Redis
round trip, flushed to PostgreSQL in batches), so the audience reads those stored rows in
batches after the fact and the callback keeps its 0 queries (messaging/tests/
test_callback_cost.py). The cursor is the log row id; only rows older than SETTLE_SECONDS are
read so that a flusher committing a lower id a little later is not skipped. Applying the same
row twice changes nothing (an event older than the follower's ``last_event_at`` is ignored;
scan counts advance only with the cursor, in the same transaction).

``EventKey`` is ``qrscene_<scene>`` on a subscribe by code and ``<scene>`` on SCAN (§d, §h).
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from messaging.models import InboundMessage

from .models import EventCursor, Follower, QrCode, QrScanDay

CURSOR = "message-log"
EVENTS = ("subscribe", "unsubscribe", "SCAN")
SETTLE_SECONDS = 30
BATCH = 2000
SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


def consume_events(*, batch: int = BATCH, now: datetime.datetime | None = None) -> int:
    """Apply one batch of stored events; returns how many were read."""
    now = now or timezone.now()
    with transaction.atomic():
        cursor, _ = EventCursor.objects.select_for_update().get_or_create(name=CURSOR)
        rows = list(
            InboundMessage.objects.filter(
                pk__gt=cursor.last_id,
                msg_type="event",
                event__in=EVENTS,
                received_at__lte=now - datetime.timedelta(seconds=SETTLE_SECONDS),
            )
            .order_by("pk")
            .values("pk", "account_id", "openid", "event", "content", "sent_at")[:batch]
        )
        if not rows:
            return 0
        codes = _codes_for(rows)
        for row in rows:
            _apply(row, codes)
        cursor.last_id = rows[-1]["pk"]
        cursor.save(update_fields=["last_id"])
    return len(rows)


def _scene(row: dict) -> str:
    key = row["content"] or ""
    return key.removeprefix("qrscene_") if row["event"] == "subscribe" else key


def _codes_for(rows: list[dict]) -> dict[tuple[int, str], QrCode]:
    wanted = {(r["account_id"], _scene(r)) for r in rows if r["event"] != "unsubscribe" and _scene(r)}
    codes: dict[tuple[int, str], QrCode] = {}
    if wanted:
        for code in QrCode.objects.filter(
            account_id__in={a for a, _ in wanted}, scene__in={s for _, s in wanted}
        ).select_related("tag"):
            codes.setdefault((code.account_id, code.scene), code)
    return codes


def _apply(row: dict, codes: dict[tuple[int, str], QrCode]) -> None:
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
        return  # a late, older event: the newer one already decided
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
