"""Celery tasks for access tokens: thin wrappers around accounts.services."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings

from core import redis_clients
from core.queueing import enqueue_now
from core.task_retry import backoff_seconds
from wechat.errors import WeChatError

from .models import OfficialAccount
from .services import account_token_refresh, token_refresh_plan


@shared_task(bind=True, name="accounts.refresh_account_token", max_retries=3)
def refresh_account_token(
    self: Task[[int, bool], dict[str, Any]], account_id: int, force: bool = False
) -> dict[str, Any]:
    """Refresh one account's token (idempotent); retry only temporary WeChat errors.

    The result names the account and the outcome, never the token.
    """
    account = OfficialAccount.objects.filter(pk=account_id).first()
    if account is None:
        return {"account": account_id, "skipped": "account deleted"}
    try:
        status = account_token_refresh(account=account, force=force)
    except WeChatError as error:
        # max_retries is set above (None would mean "retry for ever" to Celery).
        if error.temporary and (self.max_retries is None or self.request.retries < self.max_retries):
            # The shared backoff (5 s, 10 s, then capped): 15 s × 2ⁿ went past
            # TASK_RETRY_MAX_COUNTDOWN, so Redis could hand the waiting retry to a second worker.
            raise self.retry(countdown=backoff_seconds(self.request.retries, base=5.0))
        return {"account": account_id, "errcode": error.errcode}
    return {"account": account_id, "expires_at": status.expires_at.isoformat() if status.expires_at else None}


@shared_task(name="accounts.refresh_expiring_tokens")
def refresh_expiring_tokens() -> dict[str, int]:
    """Beat: queue a refresh for every account whose token expires soon, spread out.

    A Redis marker per account stops a second beat run from queueing the same
    account while its refresh is still waiting for its countdown.
    """
    plan = token_refresh_plan()
    client = redis_clients.client(redis_clients.Purpose.TASKS)
    marker_ttl = int(settings.TOKEN_REFRESH_SPREAD_SECONDS) + 60
    queued = 0
    for account_id, countdown in plan:
        if not client.set(f"wechat:token-refresh-queued:{account_id}", "1", nx=True, ex=marker_ttl):
            continue
        if not enqueue_now(refresh_account_token, account_id, countdown=countdown).sent:
            client.delete(f"wechat:token-refresh-queued:{account_id}")  # the next beat run tries again
            break
        queued += 1
    return {"due": len(plan), "queued": queued}
