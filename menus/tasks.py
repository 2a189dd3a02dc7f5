"""Celery tasks for menus: thin wrappers taking ids and calling one service each."""

from __future__ import annotations

import logging
import random

from celery import Task, shared_task
from django.conf import settings

from core.queueing import enqueue_now
from core.task_retry import DATABASE_ERRORS, backoff_seconds

from . import limits, services

logger = logging.getLogger(__name__)
# database errors and busy-account waits, beyond the WeChat retries
DATABASE_RETRIES = 20


def publish_backoff(retries: int) -> float:
    """MENU_PUBLISH_RETRY_BASE_SECONDS, doubling, capped (see core.task_retry)."""
    return backoff_seconds(retries, base=float(settings.MENU_PUBLISH_RETRY_BASE_SECONDS))


@shared_task(
    bind=True,
    name="menus.publish_version",
    acks_late=True,
    ignore_result=True,
    max_retries=DATABASE_RETRIES + settings.MENU_PUBLISH_MAX_RETRIES,
)
def publish_version(self: Task[[int], str], version_id: int) -> str:
    """menu/create for one frozen version (R-MENU-03). Temporary WeChat errors retry with
    backoff; the version's attempts (in the database) bound them and the last one records
    the failure, so no version stays pending. A busy account (another worker is sending
    its menu) and database errors retry too. The outcome lives on the MenuVersion, so no
    Celery result is stored."""
    try:
        return services.version_send(version_id=version_id, final_attempt=False)
    except services.TemporaryPublishError as exc:
        raise self.retry(exc=exc, countdown=publish_backoff(exc.attempts - 1))
    except limits.AccountBusy as exc:
        raise self.retry(exc=exc, countdown=random.uniform(1, 3))
    except DATABASE_ERRORS as exc:
        logger.warning("menu version %s: database error, retrying: %s", version_id, exc)
        raise self.retry(exc=exc, countdown=publish_backoff(min(self.request.retries, 3)))


@shared_task(name="menus.check_drift")
def check_drift() -> int:
    """Beat: queue one drift check per account that has a published menu."""
    from .models import Menu, VersionStatus

    account_ids = list(
        Menu.objects.filter(versions__status=VersionStatus.PUBLISHED)
        .values_list("account_id", flat=True)
        .distinct()
    )
    for account_id in account_ids:
        enqueue_now(check_drift_for_account, account_id)
    return len(account_ids)


@shared_task(name="menus.check_drift_for_account")
def check_drift_for_account(account_id: int) -> str:
    return services.menu_check_drift(account_id=account_id)


@shared_task(name="menus.fail_stuck_versions")
def fail_stuck_versions() -> dict[str, int]:
    """Beat: no version stays pending forever (message lost): queue it again once, then
    fail it."""
    return services.versions_sweep_stuck()
