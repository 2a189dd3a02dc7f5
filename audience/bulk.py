"""Tag or untag every follower that matches the list's filter (issue 24), as a job.

Staff see the number first (``count_matching``), confirm, and ``start_job`` freezes the
matching followers' ids in ``BulkTagJobItem`` (one ``INSERT … SELECT``, no list in memory),
so the count confirmed is the set done. ``run_job`` (a task) walks them by id in chunks of
``CHUNK`` and hands each chunk to ``services.tag_followers`` (the one write path to WeChat:
batchtagging / batchuntagging, 50 a call), committing the cursor and counts after each chunk:
a killed worker resumes after the last committed chunk (the beat task
``resume_stale_bulk_jobs`` re-queues a running job that made no progress for
``STALE_AFTER``), and a chunk sent twice changes nothing in WeChat (tagging is idempotent).

Within a chunk, followers that already hold the tag (tagging) or do not hold it (untagging)
are skipped without a call, as are followers holding 20 tags already (WeChat's limit, 45059;
counted as skipped, named in the summary) and those who unsubscribed since the confirmation.
A refusal from WeChat stops the job in words with its cursor at the chunk (``PAUSED``); staff
can resume it.
"""

from __future__ import annotations

import datetime

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core.typing import Actor
from wechat.api import tags as tags_api

from . import services
from .models import BulkTagJob, BulkTagJobItem, Follower, Tag

CHUNK = 1000
STALE_AFTER = datetime.timedelta(minutes=5)


def matching(queryset: QuerySet[Follower], tag: Tag) -> QuerySet[Follower]:
    """The followers a job on ``tag`` takes from the list's (already scoped) queryset: the
    tag's account only (a tag is one account's), subscribed only (WeChat refuses the rest)."""
    return queryset.filter(account_id=tag.account_id, subscribed=True)


def count_matching(queryset: QuerySet[Follower], tag: Tag) -> int:
    """The number shown before confirming (one COUNT, on the confirmation page only)."""
    return matching(queryset, tag).order_by().count()


def start_job(
    *, queryset: QuerySet[Follower], tag: Tag, untag: bool, by: Actor, filter_text: str = ""
) -> BulkTagJob:
    """Freeze the matching followers; the caller queues ``tasks.run_bulk_tag_job`` (this
    module imports no task: the tasks import it)."""
    if tag.reserved and not untag:
        raise services.AudienceError(services.WECHAT_REFUSALS[45058])
    with transaction.atomic():
        job = BulkTagJob.objects.create(
            account_id=tag.account_id,
            tag=tag,
            untag=untag,
            filter_text=filter_text[:500],
            created_by=by if getattr(by, "pk", None) else None,
        )
        sql, params = matching(queryset, tag).order_by().values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {BulkTagJobItem._meta.db_table} (job_id, follower_id) "  # noqa: S608 (our own SQL)
                f"SELECT %s, matched.* FROM ({sql}) AS matched",
                [job.pk, *params],
            )
            job.total = cursor.rowcount
        if not job.total:
            transaction.set_rollback(True)
            raise services.AudienceError(_("No subscribed follower of this account matches the filter."))
        job.save(update_fields=["total"])
    return job


def queue_failed(job: BulkTagJob) -> None:
    """Said on the job when the broker was unreachable (the sweeper starts it later)."""
    BulkTagJob.objects.filter(pk=job.pk).update(
        last_error=_("The task queue is unreachable: the job will start when it is back.")
    )


def run_job(job_id: int, *, max_chunks: int | None = None) -> BulkTagJob:
    """Do the job from its cursor, a chunk at a time (see the module docstring)."""
    job = BulkTagJob.objects.select_related("tag", "tag__account", "created_by").get(pk=job_id)
    chunks = 0
    while job.status == BulkTagJob.Status.RUNNING and (max_chunks is None or chunks < max_chunks):
        ids = list(
            job.items.filter(follower_id__gt=job.cursor)
            .order_by("follower_id")
            .values_list("follower_id", flat=True)[:CHUNK]
        )
        if not ids:
            BulkTagJob.objects.filter(pk=job.pk, cursor=job.cursor).update(
                status=BulkTagJob.Status.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
            )
            job.refresh_from_db()
            break
        todo, skipped = _todo(job, ids)
        changed = 0
        if todo:
            try:
                changed = services.tag_followers(
                    tag=job.tag, openids=todo, by=job.created_by, untag=job.untag
                )
            except services.AudienceError as refusal:
                BulkTagJob.objects.filter(pk=job.pk).update(
                    status=BulkTagJob.Status.PAUSED,
                    last_error=refusal.user_message,
                    heartbeat_at=timezone.now(),
                )
                job.refresh_from_db()
                break
        with transaction.atomic():
            moved = BulkTagJob.objects.filter(pk=job.pk, cursor=job.cursor).update(
                cursor=ids[-1],
                processed=job.processed + len(ids),
                changed=job.changed + changed,
                skipped=job.skipped + skipped,
                heartbeat_at=timezone.now(),
            )
        job.refresh_from_db()
        if not moved:
            break  # another worker took this job over (a re-queued stale job): leave it to it
        chunks += 1
    return job


def _todo(job: BulkTagJob, ids: list[int]) -> tuple[list[str], int]:
    """The OpenIDs of the chunk that need a call, and how many were skipped."""
    rows = (
        Follower.objects.filter(pk__in=ids, subscribed=True)
        .annotate(
            tags=Count("tag_links"),
            has=Count("tag_links", filter=Q(tag_links__tag_id=job.tag.wechat_id)),
        )
        .values_list("openid", "tags", "has")
    )
    if job.untag:
        todo = [openid for openid, _tags, has in rows if has]
    else:
        todo = [openid for openid, tags, has in rows if not has and tags < tags_api.MAX_TAGS_PER_USER]
    return todo, len(ids) - len(todo)


def resume(job: BulkTagJob) -> bool:
    """Staff resume a paused job from its cursor; True when it was paused (the caller
    queues the task)."""
    resumed = BulkTagJob.objects.filter(pk=job.pk, status=BulkTagJob.Status.PAUSED).update(
        status=BulkTagJob.Status.RUNNING, last_error="", heartbeat_at=timezone.now()
    )
    job.refresh_from_db()
    return bool(resumed)


def claim_stale_jobs(now: datetime.datetime | None = None) -> list[int]:
    """Running jobs that made no progress for STALE_AFTER (a killed worker): their
    heartbeat is moved on (so the next sweep waits again) and their ids returned for the
    sweeper task to queue."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    ids = list(
        BulkTagJob.objects.filter(status=BulkTagJob.Status.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    BulkTagJob.objects.filter(pk__in=ids).update(heartbeat_at=now or timezone.now())
    return ids
