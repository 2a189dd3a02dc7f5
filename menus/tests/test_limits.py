"""The Redis limits: per-account daily menu/create quota and the cluster-wide rate."""

import datetime
import time
from zoneinfo import ZoneInfo

import pytest

from menus import limits

CHINA = ZoneInfo("Asia/Shanghai")


def test_daily_quota_counts_per_account_per_china_day(redis_client, settings):
    settings.MENU_CREATE_DAILY_QUOTA = 2
    before_midnight = datetime.datetime(2026, 11, 29, 23, 59, tzinfo=CHINA)
    assert limits.daily_quota_take("wxa", now=before_midnight)
    assert limits.daily_quota_take("wxa", now=before_midnight)
    assert not limits.daily_quota_take("wxa", now=before_midnight)
    assert limits.daily_quota_used("wxa", now=before_midnight) == 2  # refusals don't count
    assert limits.daily_quota_take("wxb", now=before_midnight)  # another account
    # midnight in Beijing (16:00 UTC) starts a new day
    after_midnight = datetime.datetime(2026, 11, 29, 16, 0, 1, tzinfo=datetime.UTC)
    assert limits.daily_quota_take("wxa", now=after_midnight)


def test_global_rate_spaces_calls_across_callers(redis_client, settings):
    settings.MENU_PUBLISH_RATE_PER_SECOND = 20  # one call per 50 ms
    started = time.monotonic()
    waits = [limits.global_rate_wait(bucket="menus:test-rate") for _ in range(12)]
    elapsed = time.monotonic() - started
    # a small burst goes at once, the rest are spaced 50 ms apart
    assert elapsed >= 0.35, elapsed
    # The limiter asks for no more waiting than that spacing. (Its own sleeps, not the wall
    # time, are bounded: on a loaded machine the Redis calls themselves can take seconds.)
    assert sum(waits) < 2.0, waits


@pytest.mark.parametrize("rate", [0, None])
def test_no_rate_means_no_waiting(redis_client, settings, rate):
    settings.MENU_PUBLISH_RATE_PER_SECOND = rate
    started = time.monotonic()
    for _ in range(50):
        assert limits.global_rate_wait(bucket="menus:test-rate") == 0.0
    assert time.monotonic() - started < 0.5
