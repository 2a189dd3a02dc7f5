"""Staff actions on the WeChat-statistics sync (issue 28): start or cancel a backfill, retry
missing days. Each records its intent (rows) first, then queues the account's sync through
``core.queueing`` after the commit; the rules are in ``wechat_sync``."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from core.queueing import enqueue_on_commit
from core.typing import Actor

from .models import Backfill, SyncDay
from .tasks import sync_account_task
from .wechat_sync import InsightsSyncError, area_days, check_range, plan_days, range_counts


def start_backfill(
    *,
    account: OfficialAccount,
    start: datetime.date,
    end: datetime.date,
    by: Actor,
    now: datetime.datetime | None = None,
) -> Backfill:
    """Plan the range's days and queue the account's sync (after the commit). One open backfill
    per account: a second is refused while the first runs or waits for quota."""
    check_range(account=account, start=start, end=end, now=now)
    with transaction.atomic():
        OfficialAccount.objects.select_for_update().filter(pk=account.pk).first()
        if Backfill.objects.filter(account=account, status__in=Backfill.OPEN).exists():
            raise InsightsSyncError(
                _("A backfill of this account is already running; wait for it or cancel it.")
            )
        plan_days(account=account, start=start, end=end)
        backfill = Backfill.objects.create(
            account=account,
            start=start,
            end=end,
            days_total=area_days(start, end),
            requested_by=by if getattr(by, "pk", None) else None,
        )
        counts = range_counts(account.pk, start, end)
        backfill.days_done = counts.get(SyncDay.Status.OK, 0)
        backfill.days_missing = counts.get(SyncDay.Status.MISSING, 0)
        backfill.save(update_fields=["days_done", "days_missing"])
        enqueue_on_commit(sync_account_task, account.pk)
    return backfill


def cancel_backfill(*, backfill: Backfill, by: Actor) -> Backfill:
    """Stop an open backfill: its pending days return to unplanned (figures already fetched stay)."""
    with transaction.atomic():
        locked = Backfill.objects.select_for_update().get(pk=backfill.pk)
        if locked.status not in Backfill.OPEN:
            raise InsightsSyncError(_("This backfill is not running."))
        SyncDay.objects.filter(
            account_id=locked.account_id, day__range=(locked.start, locked.end), status=SyncDay.Status.PENDING
        ).delete()
        locked.status, locked.finished_at = Backfill.Status.CANCELLED, timezone.now()
        locked.save(update_fields=["status", "finished_at"])
    return locked


def retry_days(*, days: Iterable[SyncDay], by: Actor) -> int:
    """Make missing days pending again (their attempts kept) and queue their accounts' syncs."""
    ids = [d.pk for d in days if d.status == SyncDay.Status.MISSING]
    with transaction.atomic():
        accounts = set(SyncDay.objects.filter(pk__in=ids).values_list("account_id", flat=True))
        changed = SyncDay.objects.filter(pk__in=ids).update(status=SyncDay.Status.PENDING)
        for account_id in accounts:
            enqueue_on_commit(sync_account_task, account_id)
    return changed
