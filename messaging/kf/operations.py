"""Running one requested customer-service operation against the WeChat API (the work of
`kf.tasks.kf_operation_run`): the outcome is recorded on the operation and its account.

Issue 23: an operation's outcome is never left unknown or untrue.
- A try takes the operation with a lease (`claimed_at`, `KF_LEASE`): a second delivery of
  the task while the first works does nothing; after a worker died the redelivered task (or
  the sweeper's) takes it once the lease ran out.
- When WeChat's answer was lost (read timeout, connection reset after sending) — and before
  any later try of an add, change or delete, since an earlier try may have been applied —
  the team is read back (`getkflist`): an account that is there (add), has the nickname
  (change) or is gone (delete) records the operation succeeded, without a second call that
  WeChat would refuse (65406 "exists", 65401 "no such account").
- `kf_operations_sweep` (a beat task) queues again operations whose task was lost (Redis
  down when they were written, a message lost with the broker).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from messaging.models import (
    KF_NICKNAME_MAX_LENGTH,
    KfAccount,
    KfAccountStatus,
    KfOperation,
    KfOperationAction,
    KfOperationStatus,
    KfWaitCase,
)
from wechat.api import customer_service
from wechat.errors import WeChatError

if TYPE_CHECKING:
    from wechat.client import WeChatClient


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


def kf_lease() -> datetime.timedelta:
    """How long a try holds an operation: the task's hard time limit (a live try cannot be
    older); the broker hands a lost message out again only after its visibility timeout,
    which is longer, so the redelivered task finds the lease run out."""
    return datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)


def lease_left(operation: KfOperation) -> float:
    """Seconds until the try holding `operation` loses its lease (+1), capped below the
    countdown a waiting message may have (`TASK_RETRY_MAX_COUNTDOWN`)."""
    if operation.claimed_at is None:
        return 1.0
    left = (operation.claimed_at + kf_lease() - timezone.now()).total_seconds() + 1
    cap = float(settings.TASK_RETRY_MAX_COUNTDOWN) / 1.2
    return max(1.0, min(left, cap))


#: the actions whose result WeChat's team list shows
READ_BACK_ACTIONS = (KfOperationAction.ADD, KfOperationAction.UPDATE, KfOperationAction.DELETE)


def _wechat_has(operation: KfOperation, client: WeChatClient) -> bool:
    """Read the team back (getkflist): does WeChat show what the operation asked for?
    Raises WeChatError when the list cannot be read."""
    team = {str(row.get("kf_account", "")).lower(): row for row in customer_service.list_accounts(client)}
    row = team.get(operation.kf_account.lower())
    if operation.action == KfOperationAction.ADD:
        return row is not None
    if operation.action == KfOperationAction.UPDATE:
        return row is not None and row.get("kf_nick") == operation.nickname
    return row is None  # DELETE


def _release(operation_id: int) -> None:
    """Give the lease back before the task retries (the retry takes it again at once)."""
    KfOperation.objects.filter(pk=operation_id, status=KfOperationStatus.PENDING).update(claimed_at=None)


def kf_operation_execute(*, operation_id: int, client: WeChatClient | None = None) -> KfOperation:
    """Run one requested KF operation against the API and record the outcome.

    Claims the operation with a conditional update so that a task delivered twice
    calls WeChat once. Temporary errors (network, -1) are re-raised for the task to
    retry after putting the operation back to pending; business errors (654xx…)
    are recorded with their explanation (R-KF-02).
    """
    operation = KfOperation.objects.select_related("account", "kf").get(pk=operation_id)
    now = timezone.now()
    claimed = (
        KfOperation.objects.filter(
            pk=operation_id, status=KfOperationStatus.PENDING, attempts=operation.attempts
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lte=now - kf_lease()))
        .update(attempts=operation.attempts + 1, claimed_at=now)
    )
    if not claimed:
        return operation
    account = operation.account
    if client is None:
        from accounts.wechat_api import client_for

        client = client_for(account)
    removed: list[str] = []
    if operation.attempts and operation.action in READ_BACK_ACTIONS:
        try:
            done_before = _wechat_has(operation, client)
        except WeChatError:
            _release(operation_id)  # nothing sent this try; the task tries again
            raise
        if done_before:  # an earlier try was applied (its answer lost, or its worker killed)
            note = str(_("Read back from WeChat: an earlier try had already done it."))
            return _succeed(operation, now, [], note)
    try:
        _call(operation, client, account, now, removed)
    except WeChatError as exc:
        if exc.may_have_acted and operation.action in READ_BACK_ACTIONS:
            try:
                applied = _wechat_has(operation, client)
            except WeChatError:
                applied = False  # the list could not be read: the task's next try reads it first
            if applied:
                return _succeed(
                    operation, now, [], str(_("WeChat's answer was lost; read back from WeChat: done."))
                )
        if exc.temporary:
            _release(operation_id)
            raise
        return _fail(operation, exc, now)
    return _succeed(operation, now, removed, "")


def _call(
    operation: KfOperation,
    client: WeChatClient,
    account: OfficialAccount,
    now: datetime.datetime,
    removed: list[str],
) -> None:
    """The operation's one call (a sync's reads fill ``removed``)."""
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
        removed.extend(_apply_sync(account, client, now))


def _fail(operation: KfOperation, exc: WeChatError, now: datetime.datetime) -> KfOperation:
    """WeChat refused: record it on the operation and its account (R-KF-02)."""
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


def _succeed(operation: KfOperation, now: datetime.datetime, removed: list[str], note: str) -> KfOperation:
    with transaction.atomic():
        operation.status = KfOperationStatus.SUCCEEDED
        operation.finished_at = now
        if removed:
            operation.explanation = str(
                _("Removed here because WeChat no longer has them: %(names)s") % {"names": ", ".join(removed)}
            )
        elif note:
            operation.explanation = note
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


#: an operation nobody took this long after it was written lost its task (Redis was down)
NOT_TAKEN_AFTER = datetime.timedelta(seconds=60)


def kf_operations_lost(*, now: datetime.datetime | None = None, limit: int = 500) -> list[int]:
    """Pending operations whose task is gone: never taken a minute after they were written
    (the queue was down when they were: `core.queueing` logged it and kept the row), or taken
    by a try whose lease ran out (a worker died and the message went with the broker's data).
    Queuing one twice is harmless: a try takes the operation only under a free lease, and a
    settled one is left alone."""
    now = now or timezone.now()
    return list(
        KfOperation.objects.filter(status=KfOperationStatus.PENDING)
        .filter(
            Q(claimed_at__isnull=True, created_at__lte=now - NOT_TAKEN_AFTER)
            | Q(claimed_at__lte=now - kf_lease())
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


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
