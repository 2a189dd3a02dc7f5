"""Prometheus metrics: what each counts, measured through the real code paths."""

import datetime
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from core.metrics import exposition
from wechat.crypto import signature
from wechat.errors import WeChatError

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_callback_latency_and_outcome_by_status(client):
    account = OfficialAccountFactory(server_token="MetricsServerToken0123456789abcd")
    stamp, nonce = str(int(time.time())), "abc"
    good = {
        "signature": signature("MetricsServerToken0123456789abcd", stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "echostr": "e",
    }
    before = (
        value("wxadmin_callback_duration_seconds_count"),
        value("wxadmin_callback_responses_total", status="200"),
        value("wxadmin_callback_responses_total", status="403"),
        value("wxadmin_callback_responses_total", status="404"),
    )

    assert client.get(f"/wechat/{account.appid}/", good).status_code == 200
    assert client.get(f"/wechat/{account.appid}/", {**good, "signature": "x"}).status_code == 403
    assert client.get("/wechat/wx00000000000000ff/", good).status_code == 404
    client.get("/admin/login/")  # not a callback: not counted

    after = (
        value("wxadmin_callback_duration_seconds_count"),
        value("wxadmin_callback_responses_total", status="200"),
        value("wxadmin_callback_responses_total", status="403"),
        value("wxadmin_callback_responses_total", status="404"),
    )
    assert [b - a for a, b in zip(before, after, strict=True)] == [3, 1, 1, 1]
    assert value("wxadmin_callback_duration_seconds_bucket", le="10.0") >= 3


def test_token_fetches_and_failures_per_account(sandbox, settings, redis_client):
    from accounts.services import account_token_refresh

    settings.WECHAT_API_BASE = sandbox.base_url
    good = OfficialAccountFactory()
    sandbox.register_app(good.appid, str(good.appsecret))
    wrong = OfficialAccountFactory()
    sandbox.register_app(wrong.appid, "f" * 32)  # WeChat knows another secret

    account_token_refresh(account=good)
    with pytest.raises(WeChatError) as refused:
        account_token_refresh(account=wrong)

    assert value("wxadmin_token_fetches_total", appid=good.appid) == 1
    assert (
        value("wxadmin_token_fetch_failures_total", appid=good.appid, errcode=str(refused.value.errcode)) == 0
    )
    assert value("wxadmin_token_fetches_total", appid=wrong.appid) >= 1
    assert (
        value("wxadmin_token_fetch_failures_total", appid=wrong.appid, errcode=str(refused.value.errcode))
        >= 1
    )


def test_menu_publications_by_outcome(sandbox, settings, redis_client, django_capture_on_commit_callbacks):
    from menus import services
    from menus.tasks import publish_version

    settings.WECHAT_API_BASE = sandbox.base_url
    settings.MENU_PUBLISH_RETRY_BASE_SECONDS = 0.01
    settings.MENU_PUBLISH_RATE_PER_SECOND = 0
    settings.WECHAT_HTTP_MAX_ATTEMPTS = 1  # a temporary error reaches the task, which retries
    user = UserFactory(is_superuser=True)
    account = OfficialAccountFactory()
    sandbox.register_app(account.appid, str(account.appsecret), wechat_id=account.wechat_id)
    menu = {"button": [{"type": "click", "name": "今日歌曲", "key": "K1", "reply": "hi"}]}
    before = {
        outcome: value("wxadmin_menu_publications_total", outcome=outcome)
        for outcome in ("published", "failed", "retry")
    }

    def publish():
        services.draft_save(account=account, data=menu, by=user)
        with django_capture_on_commit_callbacks(execute=False):
            version = services.menu_publish(account=account, by=user)
        publish_version.apply(args=[version.pk])

    sandbox.force_error("/cgi-bin/menu/create", -1, times=1)  # one temporary error, then fine
    publish()
    sandbox.force_error("/cgi-bin/menu/create", 40007, times=1)  # a lasting error
    publish()

    delta = {
        outcome: value("wxadmin_menu_publications_total", outcome=outcome) - count
        for outcome, count in before.items()
    }
    assert delta == {"published": 1, "failed": 1, "retry": 1}


def test_reminders_sent_by_milestone(time_machine):
    from certification.models import OrderStatus
    from certification.services.review import order_succeed
    from certification.tasks import send_reminders
    from certification.tests.factories import make_account, make_order

    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    succeeded = datetime.datetime(2026, 3, 15, 9, tzinfo=shanghai)
    staff = [UserFactory(groups=["Operators"]), UserFactory(groups=["Finance"])]
    order = make_order(
        account=make_account(staff=staff),
        by=staff[1],
        until=OrderStatus.IN_REVIEW,
        now=succeeded - datetime.timedelta(days=10),
    )
    order_succeed(order=order, by=staff[1], now=succeeded)
    before = value("wxadmin_reminders_sent_total", milestone="annual_review")

    time_machine.move_to(datetime.datetime(2026, 12, 15, 9, tzinfo=shanghai), tick=False)
    assert send_reminders.apply().get()["annual_review"] == 1
    assert send_reminders.apply().get()["annual_review"] == 0  # sent once, counted once

    assert value("wxadmin_reminders_sent_total", milestone="annual_review") - before == 1


WRITER = """
import sys
from core import metrics
for _ in range(int(sys.argv[1])):
    metrics.MENU_PUBLICATIONS.labels(outcome="published").inc()
metrics.callback_observed(status=200, seconds=0.02)
"""


def test_multiprocess_files_of_every_role_are_merged(tmp_path):
    """Web and worker processes write their own files; /metrics sums them (multiprocess mode)."""
    for role, count in (("web", 2), ("worker", 3), ("worker", 4)):
        (tmp_path / role).mkdir(exist_ok=True)
        subprocess.run(
            [sys.executable, "-c", WRITER, str(count)],
            cwd=ROOT,
            check=True,
            timeout=60,
            env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / role), "PATH": "/usr/bin:/bin"},
        )
    assert len(list(tmp_path.glob("*/*.db"))) >= 3

    text = exposition(str(tmp_path))[0].decode()
    assert 'wxadmin_menu_publications_total{outcome="published"} 9.0' in text
    assert 'wxadmin_callback_responses_total{status="200"} 3.0' in text
    assert "wxadmin_callback_duration_seconds_count 3.0" in text
