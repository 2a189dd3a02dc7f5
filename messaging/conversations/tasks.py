"""Celery tasks of the conversation workspace: deliver one outgoing message (thin)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from core.task_retry import DATABASE_ERRORS, backoff_seconds, retry_or_give_up

from . import delivery

logger = logging.getLogger(__name__)

OUTBOUND_MAX_RETRIES = 5
#: database errors (PostgreSQL restarting), beyond the WeChat retries
DATABASE_RETRIES = 20


@shared_task(
    bind=True,
    name="messaging.outbound_deliver",
    acks_late=True,
    max_retries=OUTBOUND_MAX_RETRIES + DATABASE_RETRIES,
)
def outbound_deliver_task(
    self: Task[[int, dict[str, Any] | None], str], message_id: int, outcome: dict[str, Any] | None = None
) -> str:
    """message/custom/send for one stored message. Only temporary errors that cannot
    have reached WeChat are retried, with backoff; after the last retry the message is
    failed (staff may send it again). Business errors are recorded by the service.
    A database error is retried like menu publishing does (issue 23, point 8); when the
    call's outcome is known but could not be written, the retry carries it."""
    from wechat.errors import WeChatError

    try:
        if outcome is not None:
            return delivery.outbound_record_outcome(message_id=message_id, outcome=outcome)
        return delivery.outbound_deliver(message_id=message_id)
    except delivery.OutcomeNotRecorded as exc:
        logger.warning("reply %s: outcome not recorded (database error), retrying with it", message_id)
        raise self.retry(
            args=(message_id,),
            kwargs={"outcome": exc.outcome},
            exc=exc,
            countdown=backoff_seconds(min(self.request.retries, 3)),
        )
    except DATABASE_ERRORS as exc:
        logger.warning("reply %s: database error, retrying: %s", message_id, exc)
        raise self.retry(exc=exc, countdown=backoff_seconds(min(self.request.retries, 3)))
    except WeChatError as exc:
        return retry_or_give_up(
            self,
            exc,
            lambda reason: delivery.outbound_give_up(message_id=message_id, error=reason),
            max_retries=OUTBOUND_MAX_RETRIES,
        )


@shared_task(name="messaging.outbound_fail_stuck")
def outbound_fail_stuck() -> dict[str, int]:
    """Beat (every 30 s): queue again the replies whose task was lost; fail the ones no
    task could settle for 15 minutes."""
    return delivery.outbound_sweep()


@shared_task(name="messaging.conversations_repair")
def conversations_repair() -> int:
    """Beat: the conversation table recomputed from the log for users active in the last
    hour (whatever the flusher's and the replies' own updates left behind; issue 30)."""
    from . import upkeep

    return upkeep.repair()
