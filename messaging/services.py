"""Writes of the messaging app: receiving pushes, KF sessions and accounts, pruning the log."""

from __future__ import annotations

import datetime
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import redis
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from core import redis_clients
from core.domain_errors import DomainError
from wechat.api import customer_service
from wechat.messages import KfSessionEvent, Message

from . import db_guard, log_queue, selectors
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
from .pauses import Pause
from .routing import route_message

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from core.typing import Actor
    from wechat.client import WeChatClient

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
# The database unique constraint on (account, dedupe_key) then keeps one row per
# push and gives a retry the stored reply.
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


def _stored_reply(account: OfficialAccount, dedupe_key: str) -> str | None:
    return (
        InboundMessage.objects.filter(account_id=account.pk, dedupe_key=dedupe_key)
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
            if isinstance(message, KfSessionEvent):
                kf_session_apply_event(account=account, event=message, at=at)
    except IntegrityError:
        # Stored before (Redis forgot, or is down): answer what was answered then.
        stored = _stored_reply(account, message.dedupe_key)
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


# --- KF sessions ---------------------------------------------------------------------------------
def kf_session_apply_event(
    *, account: OfficialAccount, event: KfSessionEvent, at: datetime.datetime
) -> KfSession | None:
    """R-KF-03: keep "who serves whom" current from kf_create/close/switch_session events.

    Create opens a session (closing a stale open one of the same user first);
    close closes it; switch moves it to ToKfAccount and remembers FromKfAccount.
    """
    openid = event.from_user
    current = (
        KfSession.objects.select_for_update()
        .filter(account=account, openid=openid, status=KfSessionStatus.OPEN)
        .first()
    )
    if event.event == "kf_create_session":
        if current is not None:
            if current.kf_account == event.kf_account:
                return current
            current.status, current.closed_at = KfSessionStatus.CLOSED, at
            current.save(update_fields=["status", "closed_at"])
        KfWaitCase.objects.filter(account=account, openid=openid).delete()
        return KfSession.objects.create(
            account=account, openid=openid, kf_account=event.kf_account, opened_at=at
        )
    if event.event == "kf_close_session":
        if current is not None:
            current.status, current.closed_at = KfSessionStatus.CLOSED, at
            current.save(update_fields=["status", "closed_at"])
        return current
    if event.event == "kf_switch_session":
        if current is None:
            return KfSession.objects.create(
                account=account,
                openid=openid,
                kf_account=event.to_kf_account,
                opened_at=at,
                switched_from=event.from_kf_account,
            )
        current.kf_account = event.to_kf_account
        current.switched_from = event.from_kf_account
        current.save(update_fields=["kf_account", "switched_from"])
        return current
    return None


# --- KF accounts (R-KF-02) -----------------------------------------------------------------------
class KfError(DomainError, ValidationError):
    """A customer-service request that breaks a rule; the message says which and why."""


def kf_account_name(*, account: OfficialAccount, prefix: str) -> str:
    """R-KF-02: `prefix@wechatid`; the account needs a WeChat ID, the prefix ≤ 10 [A-Za-z0-9_]."""
    if not account.wechat_id:
        raise KfError(
            {
                "prefix": _(
                    "Set the official account's WeChat ID first: customer-service "
                    "accounts are named prefix@WeChat ID."
                )
            }
        )
    try:
        validate_kf_prefix(prefix)
    except ValidationError as exc:
        raise KfError({"prefix": exc.messages})
    name = f"{prefix}@{account.wechat_id}"
    if len(name) > KF_ACCOUNT_MAX_LENGTH:
        raise KfError(
            {
                "prefix": _("“%(name)s” is longer than %(max)d characters.")
                % {"name": name, "max": KF_ACCOUNT_MAX_LENGTH}
            }
        )
    return name


def _check_nickname(nickname: str) -> str:
    nickname = (nickname or "").strip()
    if not nickname:
        raise KfError({"nickname": _("Enter a nickname.")})
    if len(nickname) > KF_NICKNAME_MAX_LENGTH:
        raise KfError(
            {"nickname": _("The nickname is at most %(max)d characters.") % {"max": KF_NICKNAME_MAX_LENGTH}}
        )
    return nickname


def _enqueue(operation: KfOperation) -> None:
    from .tasks import kf_operation_run

    transaction.on_commit(lambda: kf_operation_run.delay(operation.pk))


def kf_account_check_new(*, account: OfficialAccount, prefix: str, nickname: str) -> tuple[str, str]:
    """R-KF-01/R-KF-02: may this account get a customer-service account `prefix@wechatid`?

    Returns the full name and the cleaned nickname, or raises KfError naming the
    field: the plug-in must be enabled (certified service accounts only), the
    prefix ≤ 10 of [A-Za-z0-9_], the name unused, at most 100 accounts.
    """
    if not (account.kf_enabled and account.is_service and account.is_certified()):
        # R-KF-01 / R-POST-04: a lapsed certification stops new agents even before the
        # nightly sweep has switched the plug-in off.
        raise KfError(
            {
                "account": _(
                    "Enable the customer-service plug-in of this account first "
                    "(certified service accounts only)."
                )
            }
        )
    name = kf_account_name(account=account, prefix=prefix)
    nickname = _check_nickname(nickname)
    existing = KfAccount.objects.filter(account=account)
    if existing.filter(kf_account__iexact=name).exists():
        raise KfError({"prefix": _("“%(name)s” already exists.") % {"name": name}})
    if existing.count() >= KF_ACCOUNTS_LIMIT:
        raise KfError(
            {
                "prefix": _("An official account can have at most %(max)d customer-service accounts.")
                % {"max": KF_ACCOUNTS_LIMIT}
            }
        )
    return name, nickname


@transaction.atomic
def kf_account_add(*, account: OfficialAccount, prefix: str, nickname: str, by: Actor = None) -> KfOperation:
    """R-KF-02: request a new customer-service account; the API call runs in a task.

    The checks of kf_account_check_new run under a lock on the official account, so
    two concurrent requests cannot both take the 100th place.
    """
    OfficialAccount.objects.select_for_update().filter(pk=account.pk).first()
    name, nickname = kf_account_check_new(account=account, prefix=prefix, nickname=nickname)
    kf = KfAccount.objects.create(
        account=account, kf_account=name, nickname=nickname, status=KfAccountStatus.PENDING
    )
    operation = KfOperation.objects.create(
        account=account,
        kf=kf,
        kf_account=name,
        action=KfOperationAction.ADD,
        nickname=nickname,
        requested_by=by,
    )
    _enqueue(operation)
    return operation


def kf_check_added(kf: KfAccount) -> None:
    """R-KF-02: WeChat knows only accounts whose addition succeeded; changing another would
    answer 65401, so it is refused here with the reason."""
    if kf.status in (KfAccountStatus.FAILED, KfAccountStatus.PENDING):
        raise KfError(
            {
                "kf_account": _(
                    "“%(name)s” is not in WeChat yet (its addition is "
                    "pending or failed): retry adding it first."
                )
                % {"name": kf.kf_account}
            }
        )


@transaction.atomic
def kf_account_update(*, kf: KfAccount, nickname: str, by: Actor = None) -> KfOperation:
    """Request a nickname change (R-KF-02); applied locally once the API accepts it."""
    kf_check_added(kf)
    nickname = _check_nickname(nickname)
    operation = KfOperation.objects.create(
        account=kf.account,
        kf=kf,
        kf_account=kf.kf_account,
        action=KfOperationAction.UPDATE,
        nickname=nickname,
        requested_by=by,
    )
    _enqueue(operation)
    return operation


@transaction.atomic
def kf_account_delete(*, kf: KfAccount, by: Actor = None) -> KfOperation | None:
    """Request deletion; the row goes once the API confirms. An account whose addition
    failed was never in WeChat: its row goes at once and nothing is sent."""
    if kf.status == KfAccountStatus.FAILED:
        KfAccount.objects.filter(pk=kf.pk).delete()
        return None
    KfAccount.objects.filter(pk=kf.pk).update(status=KfAccountStatus.DELETING)
    operation = KfOperation.objects.create(
        account=kf.account, kf=kf, kf_account=kf.kf_account, action=KfOperationAction.DELETE, requested_by=by
    )
    _enqueue(operation)
    return operation


AVATAR_MAX_BYTES = 2 * 1024 * 1024
#: What an avatar's first bytes must be (issue 9: checked by content, never by name).
AVATAR_SIGNATURES = {b"\xff\xd8\xff": ".jpg", b"\x89PNG\r\n\x1a\n": ".png"}


def sniff_upload(upload: UploadedFile[bytes], signatures: dict[bytes, str]) -> str | None:
    """What `signatures` says of the upload's first bytes (never its name), or None."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    return next((value for signature, value in signatures.items() if head.startswith(signature)), None)


def kf_avatar_check(upload: UploadedFile[bytes]) -> str:
    """A KF avatar is a JPG or PNG of at most 2 MB, judged by its bytes: HTML renamed
    `.png` is refused. Returns the extension the content says (for the stored name)."""
    size = getattr(upload, "size", None)
    if size is None or size > AVATAR_MAX_BYTES:
        raise KfError({"avatar": _("The avatar is larger than 2 MB.")})
    extension = sniff_upload(upload, AVATAR_SIGNATURES)
    if extension is not None:
        return extension
    raise KfError({"avatar": _("The avatar must be a JPG or PNG image.")})


@transaction.atomic
def kf_account_upload_avatar(*, kf: KfAccount, upload: UploadedFile[bytes], by: Actor = None) -> KfOperation:
    """Request an avatar upload (jpg/png by content, ≤ 2 MiB; WeChat recommends 640×640 jpg)."""
    extension = kf_avatar_check(upload)
    kf_check_added(kf)
    operation = KfOperation(
        account=kf.account, kf=kf, kf_account=kf.kf_account, action=KfOperationAction.AVATAR, requested_by=by
    )
    operation.avatar.save(f"avatar{extension}", upload, save=False)
    operation.save()
    _enqueue(operation)
    return operation


@transaction.atomic
def kf_operation_retry(*, operation: KfOperation, by: Actor = None) -> KfOperation:
    """R-KF-02: run a failed operation again as a new one (the failed one stays on record).

    Retrying a failed addition puts its account back to "being added"; an operation
    whose account row is gone, or one that did not fail, is refused.
    """
    if operation.status != KfOperationStatus.FAILED:
        raise KfError(_("Only failed operations can be retried."))
    # pk=None (a sync has no account row) is valid Django and finds nothing; the stubs refuse None.
    kf = KfAccount.objects.select_for_update().filter(pk=operation.kf_id).first()  # type: ignore[misc]
    if operation.action != KfOperationAction.SYNC and kf is None:
        raise KfError(
            _("“%(name)s” no longer exists here; add it again instead.") % {"name": operation.kf_account}
        )
    under_way = KfOperation.objects.filter(
        account=operation.account, kf=kf, action=operation.action, status=KfOperationStatus.PENDING
    )
    if under_way.exists():
        raise KfError(
            _("“%(name)s”: the same operation is already under way.")
            % {"name": operation.kf_account or operation.account}
        )
    # Below, kf is None only for a sync (refused above otherwise).
    if operation.action == KfOperationAction.ADD:
        assert kf is not None
        if kf.status != KfAccountStatus.FAILED:
            raise KfError(_("“%(name)s” was added since; nothing to retry.") % {"name": operation.kf_account})
        KfAccount.objects.filter(pk=kf.pk).update(status=KfAccountStatus.PENDING, last_error="")
    elif operation.action == KfOperationAction.DELETE:
        assert kf is not None
        KfAccount.objects.filter(pk=kf.pk).update(status=KfAccountStatus.DELETING)
    elif operation.action != KfOperationAction.SYNC:
        assert kf is not None
        kf_check_added(kf)
    retry = KfOperation.objects.create(
        account=operation.account,
        kf=kf,
        kf_account=operation.kf_account,
        action=operation.action,
        nickname=operation.nickname,
        avatar=operation.avatar.name,
        requested_by=by,
    )
    _enqueue(retry)
    return retry


@transaction.atomic
def kf_accounts_request_sync(*, account: OfficialAccount, by: Actor = None) -> KfOperation:
    """Request a refresh of the team, online status and waiting queue from WeChat."""
    operation = KfOperation.objects.create(account=account, action=KfOperationAction.SYNC, requested_by=by)
    _enqueue(operation)
    return operation


def _apply_sync(account: OfficialAccount, client: WeChatClient, now: datetime.datetime) -> list[str]:
    """Mirror WeChat's team, online status and queue; returns the accounts removed here."""
    kf_list = customer_service.list_accounts(client)
    online = {row.get("kf_account"): row for row in customer_service.list_online(client)}
    waiting = customer_service.wait_cases(client)
    seen = set()
    for row in kf_list:
        name = row.get("kf_account", "")
        if not name:
            continue
        seen.add(name)
        status = online.get(name, {})
        KfAccount.objects.update_or_create(
            account=account,
            kf_account=name,
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
    # Accounts WeChat no longer knows (deleted elsewhere) go, and the sync's record names
    # them. Rows WeChat never had — being added, or whose addition failed and waits for a
    # retry — are ours and stay.
    gone = (
        KfAccount.objects.filter(account=account)
        .exclude(kf_account__in=seen)
        .filter(status__in=[KfAccountStatus.ACTIVE, KfAccountStatus.DELETING])
    )
    removed = sorted(gone.values_list("kf_account", flat=True))
    gone.delete()
    KfWaitCase.objects.filter(account=account).delete()
    KfWaitCase.objects.bulk_create(
        [
            KfWaitCase(
                account=account,
                openid=row.get("openid", "")[:64],
                latest_time=datetime.datetime.fromtimestamp(
                    int(row.get("latest_time") or 0), tz=datetime.UTC
                ),
                synced_at=now,
            )
            for row in (waiting.get("waitcaselist") or [])[:100]
            if row.get("openid")
        ],
        ignore_conflicts=True,
    )
    return removed


def kf_operation_execute(*, operation_id: int, client: WeChatClient | None = None) -> KfOperation:
    """Run one requested KF operation against the API and record the outcome.

    Claims the operation with a conditional update so that a task delivered twice
    calls WeChat once. Temporary errors (network, -1) are re-raised for the task to
    retry after putting the operation back to pending; business errors (654xx…)
    are recorded with their explanation (R-KF-02).
    """
    from wechat.errors import WeChatError

    operation = KfOperation.objects.select_related("account", "kf").get(pk=operation_id)
    claimed = KfOperation.objects.filter(
        pk=operation_id, status=KfOperationStatus.PENDING, attempts=operation.attempts
    ).update(attempts=operation.attempts + 1)
    if not claimed:
        return operation
    account = operation.account
    if client is None:
        from accounts.wechat_api import client_for

        client = client_for(account)
    now = timezone.now()
    removed: list[str] = []
    try:
        if operation.action == KfOperationAction.ADD:
            customer_service.add_account(client, operation.kf_account, operation.nickname)
        elif operation.action == KfOperationAction.UPDATE:
            customer_service.update_account(client, operation.kf_account, operation.nickname)
        elif operation.action == KfOperationAction.DELETE:
            customer_service.delete_account(client, operation.kf_account)
        elif operation.action == KfOperationAction.AVATAR:
            with operation.avatar.open("rb") as fileobj:
                assert operation.avatar.name is not None  # it opened, so it has a name
                customer_service.upload_avatar(
                    client, operation.kf_account, fileobj, operation.avatar.name.rsplit("/", 1)[-1]
                )
        elif operation.action == KfOperationAction.SYNC:
            removed = _apply_sync(account, client, now)
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
                # A failed addition leaves the account failed (retryable); a failed deletion
                # leaves it active; a failed change leaves its status as it was.
                rows = KfAccount.objects.filter(pk=operation.kf_id)
                error = f"{exc.errcode}: {exc.explanation}"
                if operation.action == KfOperationAction.ADD:
                    rows.update(status=KfAccountStatus.FAILED, last_error=error)
                elif operation.action == KfOperationAction.DELETE:
                    rows.update(status=KfAccountStatus.ACTIVE, last_error=error)
                else:
                    rows.update(last_error=error)
        return operation
    with transaction.atomic():
        operation.status = KfOperationStatus.SUCCEEDED
        operation.finished_at = now
        if removed:
            operation.explanation = str(
                _("Removed here because WeChat no longer has them: %(names)s") % {"names": ", ".join(removed)}
            )
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
    """After the last retry of a temporary error: record the failure (retryable), and leave
    the account as a failed addition or a failed deletion would."""
    with transaction.atomic():
        gave_up = KfOperation.objects.filter(pk=operation_id, status=KfOperationStatus.PENDING)
        operation = gave_up.first()
        if operation is None or not gave_up.update(
            status=KfOperationStatus.FAILED, errcode=-1, errmsg=error[:300], finished_at=timezone.now()
        ):
            return
        rows = KfAccount.objects.filter(pk=operation.kf_id)  # type: ignore[misc]  # None: no row (a sync)
        if operation.action == KfOperationAction.ADD:
            rows.update(status=KfAccountStatus.FAILED, last_error=f"-1: {error}"[:500])
        elif operation.action == KfOperationAction.DELETE:
            rows.update(status=KfAccountStatus.ACTIVE, last_error=f"-1: {error}"[:500])


# --- Retention ------------------------------------------------------------------------------------
def messages_prune(
    *,
    older_than_days: int | None = None,
    batch_size: int = 1000,
    now: datetime.datetime | None = None,
    max_batches: int | None = None,
    pause_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> int:
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
        batch = list(old.order_by("received_at", "id").values_list("received_at", "id")[:batch_size])
        if not batch:
            break
        with transaction.atomic():
            count, _detail = InboundMessage.objects.filter(id__in=[pk for _at, pk in batch]).delete()
        deleted += count
        batches += 1
        resume_at = batch[-1][0]
        if pause_seconds:
            time.sleep(pause_seconds)
    if deleted:
        logger.info(
            "pruned %d messages received before %s in %d batches", deleted, cutoff.isoformat(), batches
        )
    return deleted
