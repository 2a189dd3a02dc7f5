"""Celery tasks of template messages: thin wrappers, ids only."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="notifications.run_send", acks_late=True)
def run_send(send_id: int) -> str:
    """Send a send's next batches (it queues itself again when there is more)."""
    return services.run_send(send_id)


@shared_task(name="notifications.resume_sends")
def resume_sends() -> int:
    """Beat: sends whose quota day came, or that no worker is running."""
    return services.resume_sends()


@shared_task(name="notifications.apply_finish_events")
def apply_finish_events() -> int:
    """Beat: write queued TEMPLATESENDJOBFINISH outcomes to the delivery log."""
    return services.drain_finish_events()


@shared_task(name="notifications.prune_deliveries")
def prune_deliveries(
    batch_size: int = 5000, pause_seconds: float = 0.0, max_seconds: float | None = None
) -> int:
    """Beat: delete deliveries older than NOTIFICATIONS_DELIVERY_RETENTION_DAYS, in batches,
    never past three quarters of the soft time limit (the next run goes on)."""
    from django.conf import settings

    from .retention import deliveries_prune

    budget = settings.CELERY_TASK_SOFT_TIME_LIMIT * 0.75
    max_seconds = budget if max_seconds is None else min(max_seconds, budget)
    return deliveries_prune(batch_size=batch_size, pause_seconds=pause_seconds, max_seconds=max_seconds)
