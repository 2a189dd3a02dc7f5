"""Celery settings for faults: a dead worker's task comes back in minutes, never twice."""

from django.conf import settings

from .test_token_settings import start_up_error


def test_visibility_timeout_not_above_the_time_limit_stops_start_up():
    error = start_up_error(CELERY_TASK_TIME_LIMIT="90", CELERY_BROKER_VISIBILITY_TIMEOUT="90")
    assert "CELERY_BROKER_VISIBILITY_TIMEOUT" in error


def test_defaults_bring_a_dead_workers_task_back_within_two_minutes():
    from wxadmin.celery import app

    options = app.conf.broker_transport_options
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    # sized to the time limit, not Redis' 1-hour default; checked for every 10 s
    assert options["visibility_timeout"] == settings.CELERY_TASK_TIME_LIMIT + 20
    assert options["visibility_timeout"] + options["unacked_restore_interval"] <= 120
    assert options["unacked_restore_throttle"] == 1
    assert options["socket_timeout"] <= 5 and options["socket_connect_timeout"] <= 5


def test_retry_countdowns_stay_below_what_redis_would_hand_out_twice():
    from core.task_retry import backoff_seconds as kf_backoff
    from menus.tasks import publish_backoff as menu_backoff

    cap = settings.CELERY_BROKER_VISIBILITY_TIMEOUT - settings.CELERY_TASK_TIME_LIMIT
    assert settings.TASK_RETRY_MAX_COUNTDOWN == cap  # noqa: SIM300 - a setting, not a constant
    for retries in range(12):
        assert menu_backoff(retries) <= cap
        assert kf_backoff(retries) <= cap
