"""Celery task of the conversation workspace: deliver one outgoing message (thin)."""

from __future__ import annotations

from celery import Task, shared_task

from core.task_retry import retry_or_give_up

from . import delivery

OUTBOUND_MAX_RETRIES = 5


@shared_task(bind=True, name="messaging.outbound_deliver", acks_late=True, max_retries=OUTBOUND_MAX_RETRIES)
def outbound_deliver_task(self: Task[[int], str], message_id: int) -> str:
    """message/custom/send for one stored message. Only temporary errors that cannot
    have reached WeChat are retried, with backoff; after the last retry the message is
    failed (staff may send it again). Business errors are recorded by the service."""
    from wechat.errors import WeChatError

    try:
        return delivery.outbound_deliver(message_id=message_id)
    except WeChatError as exc:
        return retry_or_give_up(
            self,
            exc,
            lambda reason: delivery.outbound_give_up(message_id=message_id, error=reason),
        )


@shared_task(name="messaging.outbound_fail_stuck")
def outbound_fail_stuck() -> int:
    """Beat: no reply stays pending or sending forever."""
    return delivery.outbound_fail_stuck()


@shared_task(name="messaging.conversations_repair")
def conversations_repair() -> int:
    """Beat: the conversation table recomputed from the log for users active in the last
    hour (whatever the flusher's and the replies' own updates left behind; issue 30)."""
    from . import upkeep

    return upkeep.repair()
