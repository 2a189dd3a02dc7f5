"""Per-account order of publication: a newer version always wins (R-MENU-03).

WeChat keeps the last menu/create it received, so an older version retried after a
newer one would silently bring the old buttons back. The menu's sent number (checked
in the database) and the account's publish lock prevent it.
"""

import time

import pytest
from django.db import connection
from django.utils import translation

from accounts.tests.factories import OfficialAccountFactory
from menus import services
from menus.models import Menu, MenuAuditEntry, MenuVersion, VersionStatus
from menus.selectors import fanout_counts, version_summary

from .conftest import worker_env

pytestmark = pytest.mark.django_db


def menu(label: str) -> dict:
    return {"button": [{"type": "click", "name": label, "key": f"K_{label}", "reply": label}]}


def publish(account, user, label, capture):
    """Save and publish a draft; the enqueue is captured (run by the test, not the broker)."""
    services.draft_save(account=account, data=menu(label), by=user)
    with capture():
        return services.menu_publish(account=account, by=user)


def test_r_menu_03_an_older_version_waiting_for_its_retry_is_superseded_by_a_newer_one(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    """R-MENU-03: #1 fails temporarily and waits for its retry; #2 is published and sent;
    #1 is superseded, its retry sends nothing, and WeChat keeps #2."""
    wechat(certified_account)
    sandbox = wechat.sandbox
    first = publish(certified_account, operator, "一", django_capture_on_commit_callbacks)
    sandbox.force_error("/cgi-bin/menu/create", -1, times=3)  # the client's three tries
    with pytest.raises(services.TemporaryPublishError):
        services.version_send(version_id=first.pk, final_attempt=False)
    second = publish(certified_account, operator, "二", django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert first.status == VersionStatus.PENDING  # it may be in flight: its task decides

    assert services.version_send(version_id=second.pk, final_attempt=False) == "published"
    assert services.version_send(version_id=first.pk, final_attempt=False) == "skipped"

    first.refresh_from_db()
    assert first.status == VersionStatus.SUPERSEDED and first.explanation
    assert sandbox.state(certified_account.appid)["menu_history"] == [["二"]]
    assert MenuAuditEntry.objects.filter(version=first, action="superseded").count() == 1
    with translation.override("zh-hans"):
        assert version_summary(first)["status_display"] == "已被取代"


def test_publishing_supersedes_older_versions_that_no_worker_has_started(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    first = publish(certified_account, operator, "一", django_capture_on_commit_callbacks)
    second = publish(certified_account, operator, "二", django_capture_on_commit_callbacks)
    first.refresh_from_db()
    assert first.status == VersionStatus.SUPERSEDED  # never sent: nothing to wait for
    assert services.version_send(version_id=first.pk, final_attempt=False) == "skipped"
    assert services.version_send(version_id=second.pk, final_attempt=False) == "published"
    assert wechat.sandbox.state(certified_account.appid)["menu_history"] == [["二"]]


def test_the_database_check_refuses_a_version_older_than_the_last_one_sent(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    """The sent number alone (another worker just sent a newer version) stops the call."""
    wechat(certified_account)
    version = publish(certified_account, operator, "一", django_capture_on_commit_callbacks)
    Menu.objects.filter(account=certified_account).update(sent_number=version.number + 1)
    assert services.version_send(version_id=version.pk, final_attempt=False) == "superseded"
    version.refresh_from_db()
    assert version.status == VersionStatus.SUPERSEDED
    assert wechat.sandbox.state(certified_account.appid)["menu_history"] == []


def test_a_fan_out_supersedes_pending_versions_of_its_accounts_and_counts_them(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    earlier = publish(certified_account, operator, "一", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks():
        fanout = services.fanout_start(data=menu("二"), accounts=[certified_account], by=operator)
    earlier.refresh_from_db()
    assert earlier.status == VersionStatus.SUPERSEDED
    assert fanout_counts(fanout) == {"published": 0, "failed": 0, "pending": 1, "superseded": 0}


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_workers_with_retries_never_send_an_older_version_after_a_newer_one(
    wechat, operator, start_worker
):
    """R-MENU-03 under load: two real worker processes, a 50 % "system busy" rate (so
    versions retry and interleave), five versions per account published in quick
    succession. The newest version wins on every account, WeChat's menu never went
    back to an older version, and none stays pending."""
    sandbox = wechat.sandbox
    accounts = [wechat(OfficialAccountFactory(assigned_staff=[operator])) for _ in range(3)]
    env = worker_env(wechat, connection)
    start_worker(env, "order-a")
    start_worker(env, "order-b")
    sandbox.fail_rate = 0.5
    sandbox.latency_ms = 200
    labels = ["v1", "v2", "v3", "v4", "v5"]
    for label in labels:
        for account in accounts:
            services.draft_save(account=account, data=menu(label), by=operator)
            services.menu_publish(account=account, by=operator)
        time.sleep(0.4)

    deadline = time.monotonic() + 90
    while MenuVersion.objects.filter(status=VersionStatus.PENDING).exists() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert not MenuVersion.objects.filter(status=VersionStatus.PENDING).exists()
    for account in accounts:
        versions = list(MenuVersion.objects.filter(menu__account=account).order_by("number"))
        assert versions[-1].status == VersionStatus.PUBLISHED, version_summary(versions[-1])
        assert {v.status for v in versions} <= {VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED}
        history = [names[0] for names in sandbox.state(account.appid)["menu_history"]]
        assert history and history[-1] == "v5"
        assert history == sorted(history), history  # never an older menu after a newer one
        published = [v for v in versions if v.status == VersionStatus.PUBLISHED]
        assert [v.finished_at for v in published] == sorted(v.finished_at for v in published)
