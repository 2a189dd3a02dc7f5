"""Writes of the messaging app: receiving pushes, KF sessions and accounts, pruning the log."""
from __future__ import annotations

import datetime
import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.sql import InsertQuery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from wechat.messages import KfSessionEvent, Message

from . import selectors
from .models import (
    KF_ACCOUNT_MAX_LENGTH,
    KF_ACCOUNTS_LIMIT,
    KF_NICKNAME_MAX_LENGTH,
    InboundMessage,
    KfAccount,
    KfAccountStatus,
    KfOperation,
    KfOperationAction,
    KfOperationStatus,
    KfSession,
    KfSessionStatus,
    KfWaitCase,
    validate_kf_prefix,
)
from .routing import route_message

logger = logging.getLogger(__name__)

# --- Duplicate pushes ------------------------------------------------------------------------
# WeChat re-sends a push it got no answer to within 5 s, up to three times, possibly
# to another process, possibly while the first delivery is still being handled.
# Routing is in memory and deterministic, so every delivery routes; then the first
# to SET NX its reply under the push's key owns the push and stores the row, and
# the others answer with the reply they find there — identical, also while the
# owner is still writing. The database unique constraint on (account, dedupe_key)
# is the backstop when Redis has forgotten the key — or is down: the callback then
# keeps answering, deduplicating through the database alone. Cost of a new push: one Redis
# command (SET NX GET; a MULTI pipeline before Redis 7) and one INSERT.
REPLY_TTL_SECONDS = 600
NO_REPLY = "success"

_redis_lock = threading.Lock()
_redis_clients: dict[str, redis.Redis] = {}


def redis_client() -> redis.Redis:
    """One client (and connection pool) per Redis URL and process."""
    url = settings.REDIS_URL
    client = _redis_clients.get(url)
    if client is None:
        with _redis_lock:
            client = _redis_clients.setdefault(
                # Short timeouts: the callback must answer within WeChat's 5 s even
                # when Redis hangs (it then carries on without it, see below).
                url, redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5))
    return client


def _dedupe_redis_key(account: OfficialAccount, dedupe_key: str) -> str:
    digest = hashlib.sha1(dedupe_key.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"wxadmin:messaging:push:{account.pk}:{digest}"


def rules_changed(*, account_id: int) -> None:
    """Tell every process that this account's reply rules changed (after commit)."""
    def publish() -> None:
        selectors.forget_rules(account_id)
        try:
            redis_client().set(selectors.rules_version_key(account_id), uuid.uuid4().hex)
        except redis.RedisError:
            # Other processes re-read rules on every push while Redis is away.
            logger.warning("rules of account %s changed but Redis is unavailable", account_id)

    transaction.on_commit(publish)


@dataclass(frozen=True)
class Received:
    """What the callback answers: the reply XML ("" → `success`) and whether it was a retry."""

    reply_xml: str
    duplicate: bool
    message_id: int | None = None


_set_nx_get = True  # SET … NX GET needs Redis ≥ 7.0; older servers get a pipeline


def _claim(client: redis.Redis, key: str, reply: str) -> bytes | None:
    """Store our reply unless the key exists; return what was there (None: ours now)."""
    global _set_nx_get
    try:
        if _set_nx_get:
            try:
                return client.set(key, reply, nx=True, ex=REPLY_TTL_SECONDS, get=True)
            except redis.ResponseError:
                _set_nx_get = False
        pipe = client.pipeline(transaction=True)
        pipe.set(key, reply, nx=True, ex=REPLY_TTL_SECONDS)
        pipe.get(key)
        stored, current = pipe.execute()
        return None if stored else current
    except redis.RedisError as exc:
        # Without Redis the database's unique constraint alone keeps one row per push.
        logger.warning("callback: Redis unavailable for deduplication (%s)", type(exc).__name__)
        return None


def _redis_quietly(operation, *args, **kwargs) -> None:
    try:
        operation(*args, **kwargs)
    except redis.RedisError:
        pass


def _as_reply(value: bytes | str) -> str:
    text = value.decode("utf-8") if isinstance(value, bytes) else value
    return "" if text == NO_REPLY else text


def _stored_reply(account: OfficialAccount, dedupe_key: str) -> str | None:
    return (InboundMessage.objects.filter(account_id=account.pk, dedupe_key=dedupe_key)
            .values_list("reply_xml", flat=True).first())


_insert_sql_cache: dict[str, tuple[str, list]] = {}


def _log_insert_sql(connection) -> tuple[str, list]:
    """The INSERT … RETURNING id of a log row as Django writes it, built once per alias."""
    cached = _insert_sql_cache.get(connection.alias)
    if cached is None:
        meta = InboundMessage._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        query = InsertQuery(InboundMessage)
        query.insert_values(fields, [InboundMessage(sent_at=timezone.now())])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [meta.pk]
        (sql, _params), = compiler.as_sql()
        cached = _insert_sql_cache[connection.alias] = (sql, fields)
    return cached


def _insert_log_row(row: InboundMessage, connection) -> None:
    """INSERT one log row in its own transaction, on PostgreSQL with asynchronous commit.

    The callback must answer fast, and waiting for the WAL flush of every log row
    was most of its time. With MESSAGE_LOG_ASYNC_COMMIT (default on) the INSERT is
    sent as `SET LOCAL synchronous_commit TO off; INSERT …` in one round trip: the
    row is visible and unique at once, but a PostgreSQL crash within a fraction of
    a second could lose it (the log would miss that push; nothing else is affected).
    """
    if not (settings.MESSAGE_LOG_ASYNC_COMMIT and connection.vendor == "postgresql"):
        row.save(force_insert=True)
        return
    sql, fields = _log_insert_sql(connection)
    params = [field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO off; " + sql, params)
        cursor.cursor.nextset()  # past the SET, to the INSERT's RETURNING
        row.pk = cursor.fetchone()[0]
    row._state.adding = False
    row._state.db = connection.alias


def message_receive(*, account: OfficialAccount, message: Message,
                    now: datetime.datetime | None = None) -> Received:
    """Store one push and decide its reply, exactly once per (account, dedupe key).

    A retry of a push already handled (or being handled by another process) is not
    stored again and gets the identical reply XML. KF session events update the
    session table in the same transaction as the log row (R-KF-03).
    """
    now = now or timezone.now()
    started = time.perf_counter()
    client = redis_client()
    key = _dedupe_redis_key(account, message.dedupe_key)
    rules = selectors.rules_for(account=account, redis_client=client)
    decision = route_message(account=account, message=message, now=now, rules=rules)
    reply_xml = decision.render(message, create_time=int(now.timestamp()))
    current = _claim(client, key, reply_xml or NO_REPLY)
    if current is not None:
        return Received(reply_xml=_as_reply(current), duplicate=True)

    row = InboundMessage(
        account_id=account.pk,
        dedupe_key=message.dedupe_key,
        openid=message.from_user[:64],
        msg_type=message.msg_type[:32],
        event=getattr(message, "event", "")[:40],
        content=message.summary,
        msg_id=getattr(message, "msg_id", None),
        sent_at=message.created_at,
        received_at=now,
        route=decision.route,
        keyword_rule_id=decision.keyword_rule_id,
        reply_type=decision.reply_type,
        reply_summary=decision.summary,
        reply_xml=reply_xml,
        processing_ms=round((time.perf_counter() - started) * 1000, 3),
        raw=message.raw,
    )
    is_session_event = isinstance(message, KfSessionEvent)
    connection = transaction.get_connection()
    try:
        if is_session_event or connection.in_atomic_block:
            # The session table changes too (one transaction), or we are inside a
            # caller's transaction (a savepoint survives the IntegrityError).
            with transaction.atomic():
                row.save(force_insert=True)
                if is_session_event:
                    kf_session_apply_event(account=account, event=message, at=now)
        else:
            _insert_log_row(row, connection)
    except IntegrityError:
        # Stored long ago (Redis forgot): answer what was answered then.
        stored = _stored_reply(account, message.dedupe_key)
        if stored is None:
            _redis_quietly(client.delete, key)
            raise
        _redis_quietly(client.set, key, stored or NO_REPLY, ex=REPLY_TTL_SECONDS)
        return Received(reply_xml=stored, duplicate=True)
    except Exception:
        _redis_quietly(client.delete, key)  # let WeChat's retry try again
        raise
    return Received(reply_xml=reply_xml, duplicate=False, message_id=row.pk)


# --- KF sessions ---------------------------------------------------------------------------------
def kf_session_apply_event(*, account: OfficialAccount, event: KfSessionEvent,
                           at: datetime.datetime) -> KfSession | None:
    """R-KF-03: keep "who serves whom" current from kf_create/close/switch_session events.

    Create opens a session (closing a stale open one of the same user first);
    close closes it; switch moves it to ToKfAccount and remembers FromKfAccount.
    """
    openid = event.from_user
    current = (KfSession.objects.select_for_update()
               .filter(account=account, openid=openid, status=KfSessionStatus.OPEN).first())
    if event.event == "kf_create_session":
        if current is not None:
            if current.kf_account == event.kf_account:
                return current
            current.status, current.closed_at = KfSessionStatus.CLOSED, at
            current.save(update_fields=["status", "closed_at"])
        KfWaitCase.objects.filter(account=account, openid=openid).delete()
        return KfSession.objects.create(account=account, openid=openid,
                                        kf_account=event.kf_account, opened_at=at)
    if event.event == "kf_close_session":
        if current is not None:
            current.status, current.closed_at = KfSessionStatus.CLOSED, at
            current.save(update_fields=["status", "closed_at"])
        return current
    if event.event == "kf_switch_session":
        if current is None:
            return KfSession.objects.create(account=account, openid=openid,
                                            kf_account=event.to_kf_account, opened_at=at,
                                            switched_from=event.from_kf_account)
        current.kf_account = event.to_kf_account
        current.switched_from = event.from_kf_account
        current.save(update_fields=["kf_account", "switched_from"])
        return current
    return None


# --- KF accounts (R-KF-02) -----------------------------------------------------------------------
class KfError(ValidationError):
    """A customer-service request that breaks a rule; the message says which and why."""


def kf_account_name(*, account: OfficialAccount, prefix: str) -> str:
    """R-KF-02: `prefix@wechatid`; the account needs a WeChat ID, the prefix ≤ 10 [A-Za-z0-9_]."""
    if not account.wechat_id:
        raise KfError({"prefix": _("Set the official account's WeChat ID first: customer-service "
                                   "accounts are named prefix@WeChat ID.")})
    try:
        validate_kf_prefix(prefix)
    except ValidationError as exc:
        raise KfError({"prefix": exc.messages})
    name = f"{prefix}@{account.wechat_id}"
    if len(name) > KF_ACCOUNT_MAX_LENGTH:
        raise KfError({"prefix": _("“%(name)s” is longer than %(max)d characters.")
                       % {"name": name, "max": KF_ACCOUNT_MAX_LENGTH}})
    return name


def _check_nickname(nickname: str) -> str:
    nickname = (nickname or "").strip()
    if not nickname:
        raise KfError({"nickname": _("Enter a nickname.")})
    if len(nickname) > KF_NICKNAME_MAX_LENGTH:
        raise KfError({"nickname": _("The nickname is at most %(max)d characters.")
                       % {"max": KF_NICKNAME_MAX_LENGTH}})
    return nickname


def _enqueue(operation: KfOperation) -> None:
    from .tasks import kf_operation_run

    transaction.on_commit(lambda: kf_operation_run.delay(operation.pk))


def kf_account_check_new(*, account: OfficialAccount, prefix: str,
                         nickname: str) -> tuple[str, str]:
    """R-KF-01/R-KF-02: may this account get a customer-service account `prefix@wechatid`?

    Returns the full name and the cleaned nickname, or raises KfError naming the
    field: the plug-in must be enabled (certified service accounts only), the
    prefix ≤ 10 of [A-Za-z0-9_], the name unused, at most 100 accounts.
    """
    if not account.kf_enabled:
        raise KfError({"account": _("Enable the customer-service plug-in of this account first "
                                    "(certified service accounts only).")})
    name = kf_account_name(account=account, prefix=prefix)
    nickname = _check_nickname(nickname)
    existing = KfAccount.objects.filter(account=account)
    if existing.filter(kf_account__iexact=name).exists():
        raise KfError({"prefix": _("“%(name)s” already exists.") % {"name": name}})
    if existing.count() >= KF_ACCOUNTS_LIMIT:
        raise KfError({"prefix": _("An official account can have at most %(max)d "
                                   "customer-service accounts.") % {"max": KF_ACCOUNTS_LIMIT}})
    return name, nickname


@transaction.atomic
def kf_account_add(*, account: OfficialAccount, prefix: str, nickname: str,
                   by=None) -> KfOperation:
    """R-KF-02: request a new customer-service account; the API call runs in a task.

    The checks of kf_account_check_new run under a lock on the official account, so
    two concurrent requests cannot both take the 100th place.
    """
    OfficialAccount.objects.select_for_update().filter(pk=account.pk).first()
    name, nickname = kf_account_check_new(account=account, prefix=prefix, nickname=nickname)
    kf = KfAccount.objects.create(account=account, kf_account=name, nickname=nickname,
                                  status=KfAccountStatus.PENDING)
    operation = KfOperation.objects.create(account=account, kf=kf, kf_account=name,
                                           action=KfOperationAction.ADD, nickname=nickname,
                                           requested_by=by)
    _enqueue(operation)
    return operation


@transaction.atomic
def kf_account_update(*, kf: KfAccount, nickname: str, by=None) -> KfOperation:
    """Request a nickname change (R-KF-02); applied locally once the API accepts it."""
    nickname = _check_nickname(nickname)
    operation = KfOperation.objects.create(account=kf.account, kf=kf, kf_account=kf.kf_account,
                                           action=KfOperationAction.UPDATE, nickname=nickname,
                                           requested_by=by)
    _enqueue(operation)
    return operation


@transaction.atomic
def kf_account_delete(*, kf: KfAccount, by=None) -> KfOperation:
    """Request deletion; the row goes once the API confirms."""
    KfAccount.objects.filter(pk=kf.pk).update(status=KfAccountStatus.DELETING)
    operation = KfOperation.objects.create(account=kf.account, kf=kf, kf_account=kf.kf_account,
                                           action=KfOperationAction.DELETE, requested_by=by)
    _enqueue(operation)
    return operation


AVATAR_MAX_BYTES = 2 * 1024 * 1024


@transaction.atomic
def kf_account_upload_avatar(*, kf: KfAccount, upload, by=None) -> KfOperation:
    """Request an avatar upload (jpg/png, ≤ 2 MiB; WeChat recommends 640×640 jpg)."""
    name = (getattr(upload, "name", "") or "").lower()
    if not name.endswith((".jpg", ".jpeg", ".png")):
        raise KfError({"avatar": _("The avatar must be a JPG or PNG image.")})
    if upload.size > AVATAR_MAX_BYTES:
        raise KfError({"avatar": _("The avatar is larger than 2 MB.")})
    operation = KfOperation(account=kf.account, kf=kf, kf_account=kf.kf_account,
                            action=KfOperationAction.AVATAR, requested_by=by)
    operation.avatar.save(name.rsplit("/", 1)[-1], upload, save=False)
    operation.save()
    _enqueue(operation)
    return operation


@transaction.atomic
def kf_accounts_request_sync(*, account: OfficialAccount, by=None) -> KfOperation:
    """Request a refresh of the team, online status and waiting queue from WeChat."""
    operation = KfOperation.objects.create(account=account, action=KfOperationAction.SYNC,
                                           requested_by=by)
    _enqueue(operation)
    return operation


def _apply_sync(account: OfficialAccount, client, now: datetime.datetime) -> None:
    kf_list = client.kf_list()
    online = {row.get("kf_account"): row for row in client.kf_online_list()}
    waiting = client.kf_wait_cases()
    seen = set()
    for row in kf_list:
        name = row.get("kf_account", "")
        if not name:
            continue
        seen.add(name)
        status = online.get(name, {})
        KfAccount.objects.update_or_create(
            account=account, kf_account=name,
            defaults={
                "nickname": (row.get("kf_nick") or "")[:KF_NICKNAME_MAX_LENGTH],
                "kf_id": str(row.get("kf_id", ""))[:20],
                "headimgurl": (row.get("kf_headimgurl") or "")[:500],
                "kf_wx": row.get("kf_wx", "") or "",
                "invite_wx": row.get("invite_wx", "") or "",
                "invite_status": row.get("invite_status", "") or "",
                "online": bool(status.get("status")),
                "accepted_case": int(status.get("accepted_case") or 0),
                "status": KfAccountStatus.ACTIVE,
                "last_error": "",
                "synced_at": now,
            },
        )
    # Accounts WeChat no longer knows (deleted elsewhere) disappear, except those
    # still being added by us.
    (KfAccount.objects.filter(account=account).exclude(kf_account__in=seen)
     .exclude(status=KfAccountStatus.PENDING).delete())
    KfWaitCase.objects.filter(account=account).delete()
    KfWaitCase.objects.bulk_create([
        KfWaitCase(account=account, openid=row.get("openid", "")[:64],
                   latest_time=datetime.datetime.fromtimestamp(int(row.get("latest_time") or 0),
                                                               tz=datetime.UTC),
                   synced_at=now)
        for row in (waiting.get("waitcaselist") or [])[:100] if row.get("openid")
    ], ignore_conflicts=True)


def kf_operation_execute(*, operation_id: int, client=None) -> KfOperation:
    """Run one requested KF operation against the API and record the outcome.

    Claims the operation with a conditional update so that a task delivered twice
    calls WeChat once. Temporary errors (network, -1) are re-raised for the task to
    retry after putting the operation back to pending; business errors (654xx…)
    are recorded with their explanation (R-KF-02).
    """
    from wechat.errors import WeChatError

    operation = KfOperation.objects.select_related("account", "kf").get(pk=operation_id)
    claimed = KfOperation.objects.filter(
        pk=operation_id, status=KfOperationStatus.PENDING,
        attempts=operation.attempts).update(attempts=operation.attempts + 1)
    if not claimed:
        return operation
    account = operation.account
    if client is None:
        from accounts.wechat_api import client_for

        client = client_for(account)
    now = timezone.now()
    try:
        if operation.action == KfOperationAction.ADD:
            client.kf_add(operation.kf_account, operation.nickname)
        elif operation.action == KfOperationAction.UPDATE:
            client.kf_update(operation.kf_account, operation.nickname)
        elif operation.action == KfOperationAction.DELETE:
            client.kf_delete(operation.kf_account)
        elif operation.action == KfOperationAction.AVATAR:
            with operation.avatar.open("rb") as fileobj:
                client.kf_upload_avatar(operation.kf_account, fileobj,
                                        operation.avatar.name.rsplit("/", 1)[-1])
        elif operation.action == KfOperationAction.SYNC:
            _apply_sync(account, client, now)
    except WeChatError as exc:
        if exc.temporary:
            raise
        with transaction.atomic():
            operation.status = KfOperationStatus.FAILED
            operation.errcode, operation.errmsg = exc.errcode, exc.errmsg[:300]
            operation.explanation = str(exc.explanation)
            operation.finished_at = now
            operation.attempts += 1
            operation.save()
            if operation.kf_id:
                kf_status = (KfAccountStatus.FAILED if operation.action == KfOperationAction.ADD
                             else KfAccountStatus.ACTIVE)
                KfAccount.objects.filter(pk=operation.kf_id).update(
                    status=kf_status, last_error=f"{exc.errcode}: {exc.explanation}")
        return operation
    with transaction.atomic():
        operation.status = KfOperationStatus.SUCCEEDED
        operation.finished_at = now
        operation.attempts += 1
        operation.save()
        if operation.kf_id:
            kf_rows = KfAccount.objects.filter(pk=operation.kf_id)
            if operation.action == KfOperationAction.ADD:
                kf_rows.update(status=KfAccountStatus.ACTIVE, last_error="")
            elif operation.action == KfOperationAction.UPDATE:
                kf_rows.update(nickname=operation.nickname, last_error="")
            elif operation.action == KfOperationAction.DELETE:
                kf_rows.delete()
            else:
                kf_rows.update(last_error="")
    return operation


def kf_operation_give_up(*, operation_id: int, error: str) -> None:
    """After the last retry of a temporary error: record the failure."""
    KfOperation.objects.filter(pk=operation_id, status=KfOperationStatus.PENDING).update(
        status=KfOperationStatus.FAILED, errcode=-1, errmsg=error[:300],
        finished_at=timezone.now())


# --- Retention ------------------------------------------------------------------------------------
def messages_prune(*, older_than_days: int | None = None, batch_size: int = 1000,
                   now: datetime.datetime | None = None, max_batches: int | None = None,
                   pause_seconds: float = 0.0, max_seconds: float | None = None) -> int:
    """Delete log rows received more than MESSAGE_RETENTION_DAYS ago, in bounded batches.

    Each batch is its own short transaction deleting at most `batch_size` rows picked by
    the received_at index, oldest first; nothing references a log row and DELETE takes
    only the locks of the rows it deletes, so the callback's INSERTs never wait on it.
    The next batch starts where the last one ended (not at the start of the index, where
    the rows just deleted still leave dead entries until VACUUM). `pause_seconds` between
    batches leaves the disk to the callback; `max_seconds` ends a run early (the next run
    goes on). A second run right after finds nothing left. Returns how many rows went.
    """
    days = settings.MESSAGE_RETENTION_DAYS if older_than_days is None else older_than_days
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    started = time.monotonic()
    deleted = batches = 0
    resume_at: datetime.datetime | None = None
    while max_batches is None or batches < max_batches:
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            break
        old = InboundMessage.objects.filter(received_at__lt=cutoff)
        if resume_at is not None:
            old = old.filter(received_at__gte=resume_at)
        batch = list(old.order_by("received_at", "id")
                     .values_list("received_at", "id")[:batch_size])
        if not batch:
            break
        with transaction.atomic():
            count, _detail = InboundMessage.objects.filter(
                id__in=[pk for _at, pk in batch]).delete()
        deleted += count
        batches += 1
        resume_at = batch[-1][0]
        if pause_seconds:
            time.sleep(pause_seconds)
    if deleted:
        logger.info("pruned %d messages received before %s in %d batches",
                    deleted, cutoff.isoformat(), batches)
    return deleted
