"""Celery tasks for menus: thin wrappers taking ids and calling one service each."""
from __future__ import annotations

import random

from celery import shared_task
from django.conf import settings

from . import services


def backoff_seconds(retries: int) -> float:
    """Exponential backoff with jitter, capped: base, 2×base, 4×base … ≤ 5 minutes."""
    base = float(settings.MENU_PUBLISH_RETRY_BASE_SECONDS)
    return min(base * (2 ** retries), 300.0) * random.uniform(0.8, 1.2)


@shared_task(bind=True, name="menus.publish_version", acks_late=True, ignore_result=True,
             max_retries=settings.MENU_PUBLISH_MAX_RETRIES)
def publish_version(self, version_id: int) -> str:
    """menu/create for one frozen version. Temporary WeChat errors retry with backoff
    (bounded); the last attempt records the failure, so no version stays pending.
    The outcome lives on the MenuVersion, so no Celery result is stored."""
    final = self.request.retries >= self.max_retries
    try:
        return services.version_send(version_id=version_id, final_attempt=final)
    except services.TemporaryPublishError as exc:
        raise self.retry(exc=exc, countdown=backoff_seconds(self.request.retries))


@shared_task(name="menus.check_drift")
def check_drift() -> int:
    """Beat: queue one drift check per account that has a published menu."""
    from .models import Menu, VersionStatus

    account_ids = list(Menu.objects.filter(versions__status=VersionStatus.PUBLISHED)
                       .values_list("account_id", flat=True).distinct())
    for account_id in account_ids:
        check_drift_for_account.delay(account_id)
    return len(account_ids)


@shared_task(name="menus.check_drift_for_account")
def check_drift_for_account(account_id: int) -> str:
    return services.menu_check_drift(account_id=account_id)


@shared_task(name="menus.fail_stuck_versions")
def fail_stuck_versions() -> int:
    """Beat: no version stays pending forever (worker died, message lost)."""
    return services.versions_fail_stuck()
