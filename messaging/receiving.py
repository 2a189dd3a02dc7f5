"""Receiving pushes: the callback stores each push once and answers it, also when WeChat
re-sends it (duplicate pushes, the write-behind message log, Redis and database failures)."""

from __future__ import annotations

import datetime
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any, cast

import redis
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import OfficialAccount
from core import redis_clients
from wechat.messages import KfSessionEvent, Message

from . import db_guard, log_queue, selectors
from .conversations import upkeep as conversation_upkeep
from .kf.sessions import kf_session_apply_event
from .models import InboundMessage
from .pauses import Pause
from .routing import route_message

logger = logging.getLogger(__name__)

# --- Duplicate pushes and the message log --------------------------------------------------------
# WeChat re-sends a push it got no answer to within 5 s, up to three times, possibly
# to another process, possibly while the first delivery is still being handled.
# Routing is in memory and deterministic, so every delivery routes; then the first
# to claim the push's key in Redis with its reply owns the push, and the others
# answer with the reply they find there — identical, also while the owner is still
# working. Normally the claim and the log row go to Redis in one atomic script and
# the row reaches PostgreSQL a moment later through the write-behind queue
# (`log_queue.py`, which explains why nothing is lost when a process dies): a new push
# costs one Redis round trip and no database query on the request path.
#
# The row is written directly, in the request, when the push is a KF session event
# (the session table changes in the same transaction), when the caller holds a
# transaction, or when Redis is down or does not answer within its short timeout.
# The database unique constraint on (account, dedupe_key, sent_at) then keeps one row
# per push and gives a retry the stored reply (sent_at is the push's CreateTime, the same
# in every retry: see InboundMessage).
REPLY_TTL_SECONDS = 600
NO_REPLY = "success"
#: after a Redis failure the callback leaves Redis alone this long (no timeout per push)
REDIS_BREAK_SECONDS = 5.0
#: statements of the callback's write-through path (Redis unavailable) give up after this
CALLBACK_STATEMENT_TIMEOUT_MS = 2000

#: per Redis URL: after a failure the callback leaves that Redis alone for a while
_redis_pause = Pause("Redis", REDIS_BREAK_SECONDS, "writing through the database")


def redis_client() -> redis.Redis:
    """One client (and connection pool) per Redis URL and process.

    Short timeouts (the callback profile): the callback must answer within WeChat's 5 s
    even when Redis hangs (it then carries on without it, see above).
    """
    return redis_clients.client(redis_clients.Purpose.CALLBACK)


def _callback_redis() -> redis.Redis | None:
    """The callback's Redis client, or None while Redis is known to be failing."""
    if _redis_pause.active(settings.REDIS_URL):
        return None
    return redis_client()


def forget_redis_failures() -> None:
    _redis_pause.forget()


def _redis_failed(exc: Exception) -> None:
    _redis_pause.failed(type(exc).__name__, settings.REDIS_URL)


def _dedupe_redis_key(account: OfficialAccount, dedupe_key: str) -> str:
    digest = hashlib.sha1(dedupe_key.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"wxadmin:messaging:push:{account.pk}:{digest}"


@dataclass(frozen=True)
class Received:
    """What the callback answers: the reply XML ("" → `success`) and whether it was a retry."""

    reply_xml: str
    duplicate: bool
    message_id: int | None = None


_set_nx_get = True  # SET … NX GET needs Redis ≥ 7.0; older servers get a pipeline


def _claim(client: redis.Redis | None, key: str, reply: str) -> bytes | None:
    """Store our reply unless the key exists; return what was there (None: ours now)."""
    global _set_nx_get
    if client is None:
        return None
    try:
        if _set_nx_get:
            try:
                # The stubs cover every client mode; ours returns bytes (or None: set now).
                return cast(bytes | None, client.set(key, reply, nx=True, ex=REPLY_TTL_SECONDS, get=True))
            except redis.ResponseError:
                _set_nx_get = False
        pipe = client.pipeline(transaction=True)
        pipe.set(key, reply, nx=True, ex=REPLY_TTL_SECONDS)
        pipe.get(key)
        stored, current = pipe.execute()
        return None if stored else current
    except redis.RedisError as exc:
        # Without Redis the database's unique constraint alone keeps one row per push.
        _redis_failed(exc)
        return None


def _redis_quietly(client: redis.Redis | None, operation: str, *args: Any, **kwargs: Any) -> None:
    if client is None:
        return
    try:
        getattr(client, operation)(*args, **kwargs)
    except redis.RedisError:
        pass


def _as_reply(value: bytes | str) -> str:
    text = value.decode("utf-8") if isinstance(value, bytes) else value
    return "" if text == NO_REPLY else text


def _stored_reply(account: OfficialAccount, dedupe_key: str, sent_at: datetime.datetime) -> str | None:
    # sent_at is in the unique key (and the partition key): one partition's index is read
    return (
        InboundMessage.objects.filter(account_id=account.pk, dedupe_key=dedupe_key, sent_at=sent_at)
        .values_list("reply_xml", flat=True)
        .first()
    )


def message_receive(
    *, account: OfficialAccount, message: Message, now: datetime.datetime | None = None
) -> Received:
    """Store one push and decide its reply, exactly once per (account, dedupe key).

    A retry of a push already handled (or being handled by another process) is not
    stored again and gets the identical reply XML. KF session events update the
    session table in the same transaction as the log row (R-KF-03).
    """
    now = now or timezone.now()
    started = time.perf_counter()
    client = _callback_redis()
    key = _dedupe_redis_key(account, message.dedupe_key)
    rules = selectors.rules_for(account=account, redis_client=client)
    decision = route_message(account=account, message=message, now=now, rules=rules)
    reply_xml = decision.render(message, create_time=int(now.timestamp()))
    fields = {
        "account_id": account.pk,
        "dedupe_key": message.dedupe_key,
        "openid": message.from_user,
        "msg_type": message.msg_type,
        "event": getattr(message, "event", ""),
        "content": message.summary,
        "msg_id": getattr(message, "msg_id", None),
        "sent_at": message.created_at,
        "received_at": now,
        "route": decision.route,
        "keyword_rule_id": decision.keyword_rule_id,
        "reply_type": decision.reply_type,
        "reply_summary": decision.summary,
        "reply_xml": reply_xml,
        "raw": message.raw,
    }
    queueable = not isinstance(message, KfSessionEvent) and not transaction.get_connection().in_atomic_block
    if client is not None and queueable:
        fields["processing_ms"] = round((time.perf_counter() - started) * 1000, 3)
        try:
            return _queue(client, key=key, fields=fields)
        except redis.RedisError as exc:
            _redis_failed(exc)
            client = None
    return _receive_through_database(
        account=account,
        message=message,
        row=InboundMessage(**fields),
        key=key,
        client=client,
        at=now,
        started=started,
        queueable=queueable,
    )


def _queue(client: redis.Redis, *, key: str, fields: dict[str, Any]) -> Received:
    """Claim the push and queue its row in Redis (one round trip); raises RedisError."""
    reply_xml = fields["reply_xml"]
    current = log_queue.claim_and_queue(
        client, key=key, reply=reply_xml or NO_REPLY, ttl=REPLY_TTL_SECONDS, row=log_queue.row_payload(fields)
    )
    log_queue.ensure_flusher()
    if current is not None:
        return Received(reply_xml=_as_reply(current), duplicate=True)
    return Received(reply_xml=reply_xml, duplicate=False)


def _queue_instead(
    *, account: OfficialAccount, message: Message, row: InboundMessage, key: str, queueable: bool
) -> Received:
    """The database failed: keep the row in Redis until it is back, or lose it and say so.

    Redis is tried even if it failed a moment ago (it may be back): a row Redis can
    keep is not lost to the database's failure.
    """
    if queueable:
        fields = {name: getattr(row, name) for name in log_queue.ROW_FIELDS}
        try:
            received = _queue(redis_client(), key=key, fields=fields)
        except redis.RedisError as exc:
            _redis_failed(exc)
        else:
            _redis_pause.recovered(settings.REDIS_URL)  # Redis answered
            logger.warning(
                "callback: the database failed; the log row of account %s (%s) waits in Redis",
                account.pk,
                message.dedupe_key,
            )
            return received
    logger.error("callback: log row of account %s (%s) not stored", account.pk, message.dedupe_key)
    return Received(reply_xml=row.reply_xml, duplicate=False)


def _receive_through_database(
    *,
    account: OfficialAccount,
    message: Message,
    row: InboundMessage,
    key: str,
    client: redis.Redis | None,
    at: datetime.datetime,
    started: float,
    queueable: bool,
) -> Received:
    """The row written in the request, in its own transaction (or the caller's savepoint)."""
    current = _claim(client, key, row.reply_xml or NO_REPLY)
    if current is not None:
        return Received(reply_xml=_as_reply(current), duplicate=True)
    row.processing_ms = round((time.perf_counter() - started) * 1000, 3)
    if not db_guard.database_available():
        _redis_quietly(client, "delete", key)
        return _queue_instead(account=account, message=message, row=row, key=key, queueable=queueable)
    try:
        with transaction.atomic():
            connection = transaction.get_connection()
            if connection.vendor == "postgresql":
                # Well inside WeChat's 5 s, whatever the web tier's general limit is.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL statement_timeout = %s", [CALLBACK_STATEMENT_TIMEOUT_MS])
            row.save(force_insert=True)
            conversation_upkeep.refresh_for_messages([row])  # its conversation, from the log (issue 30)
            if isinstance(message, KfSessionEvent):
                kf_session_apply_event(account=account, event=message, at=at)
    except IntegrityError:
        # Stored before (Redis forgot, or is down): answer what was answered then.
        stored = _stored_reply(account, message.dedupe_key, message.created_at)
        if stored is None:
            _redis_quietly(client, "delete", key)
            raise
        _redis_quietly(client, "set", key, stored or NO_REPLY, ex=REPLY_TTL_SECONDS)
        return Received(reply_xml=stored, duplicate=True)
    except DatabaseError as exc:
        # The database failed (down, hung past statement_timeout or the push's deadline,
        # …): the user still gets the reply; the row waits in Redis if Redis can keep it,
        # else it is lost, and said so in the log.
        db_guard.database_failed(exc)
        _redis_quietly(client, "delete", key)
        return _queue_instead(account=account, message=message, row=row, key=key, queueable=queueable)
    return Received(reply_xml=row.reply_xml, duplicate=False, message_id=row.pk)
