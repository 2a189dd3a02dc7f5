"""Thin tasks: each takes ids and calls one service (queued through core.queueing)."""

from __future__ import annotations

from celery import shared_task

from accounts.models import OfficialAccount
from core.queueing import enqueue_now

from . import bulk, events, services
from .models import SyncRun


@shared_task(name="audience.sync_followers")
def sync_followers(account_id: int) -> str:
    """Full sync (resumes the account's open run from its cursor)."""
    run = services.start_sync(account=OfficialAccount.objects.get(pk=account_id))
    return services.run_sync(run.pk).status


@shared_task(name="audience.reconcile_all")
def reconcile_all() -> int:
    """Nightly: a full sync of every active account (its end marks who WeChat no longer
    lists); paused runs resume from their cursor. Selecting by state makes a second run a no-op
    for accounts already running."""
    queued = 0
    busy = set(SyncRun.objects.filter(status=SyncRun.Status.RUNNING).values_list("account_id", flat=True))
    for account_id in OfficialAccount.objects.values_list("pk", flat=True):
        if account_id not in busy:
            if not enqueue_now(sync_followers, account_id).sent:
                break  # the queue is down: tomorrow's run (or a manual sync) takes the rest
            queued += 1
    return queued


@shared_task(name="audience.consume_events")
def consume_events() -> int:
    """Every 30 s: the follow events of the message log, paced (``events.drain``)."""
    return events.drain()


@shared_task(name="audience.settle_writes")
def settle_writes() -> dict[str, int]:
    """Every minute: WeChat writes whose writer died or could not send them are sent or read
    back (``audience.operations``, issue 23)."""
    return services.settle_writes()


@shared_task(name="audience.run_bulk_tag_job")
def run_bulk_tag_job(job_id: int) -> str:
    """Tag/untag every follower of a confirmed "all matching" job, from its cursor."""
    return bulk.run_job(job_id).status


@shared_task(name="audience.resume_stale_bulk_jobs")
def resume_stale_bulk_jobs() -> int:
    """Beat: queue again the running jobs whose worker died (no progress for 5 minutes)."""
    queued = 0
    for job_id in bulk.claim_stale_jobs():
        if not enqueue_now(run_bulk_tag_job, job_id).sent:
            break  # the queue is down: the next sweep tries again
        queued += 1
    return queued
