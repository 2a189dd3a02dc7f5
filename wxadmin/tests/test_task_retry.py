"""The one backoff of our tasks: doubling, ±20 % jitter, below what Redis would hand out twice."""

from django.conf import settings

from core.task_retry import backoff_seconds
from menus.tasks import publish_backoff


def test_backoff_doubles_with_jitter_and_never_exceeds_the_visibility_cap():
    cap = settings.TASK_RETRY_MAX_COUNTDOWN
    for retries in range(12):
        for backoff, base in (
            (backoff_seconds, 2.0),
            (publish_backoff, settings.MENU_PUBLISH_RETRY_BASE_SECONDS),
        ):
            planned = min(base * 2**retries, cap / 1.2)
            for _ in range(20):
                seconds = backoff(retries)
                assert 0.8 * planned <= seconds <= 1.2 * planned and seconds <= cap
