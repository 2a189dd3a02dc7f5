"""Thin tasks of the WeChat-statistics sync (issue 28): each takes ids and calls ``wechat_sync``;
queued only through ``core.queueing``."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.queueing import enqueue_now

from . import wechat_sync


@shared_task(name="insights.sync_account")
def sync_account_task(account_id: int) -> str:
    """Fetch what the account has pending; out of time → queued again (its lease is released
    first, so the next run takes it)."""
    outcome = wechat_sync.sync_account(account_id)
    if outcome.status == "more":
        enqueue_now(sync_account_task, account_id)
    return outcome.status


@shared_task(name="insights.sync_yesterday")
def sync_yesterday() -> int:
    """Daily after 08:00 Beijing: plan yesterday for every certified account and queue the
    accounts with something to fetch. Run twice, the second queues only accounts whose days
    are still pending (a run in progress answers "busy"), and fetches nothing twice."""
    return _queue(wechat_sync.plan_yesterday(timezone.now()))


@shared_task(name="insights.resume_backfills")
def resume_backfills() -> int:
    """After Beijing midnight (a new quota day): queue the accounts with pending days, e.g. a
    backfill that waited for quota."""
    return _queue(wechat_sync.accounts_with_work(timezone.now()))


def _queue(account_ids: list[int]) -> int:
    queued = 0
    for account_id in account_ids:
        if not enqueue_now(sync_account_task, account_id).sent:
            break  # the queue is down: the next scheduled run takes the rest
        queued += 1
    return queued


# the report half's tasks, imported so that Celery's autodiscovery registers them
from .report_tasks import (  # noqa: E402, F401
    generate_monthly_reports,
    generate_report,
    requeue_stale_reports,
    rollup_own_figures,
)
