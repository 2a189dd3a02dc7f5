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
