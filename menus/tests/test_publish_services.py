"""Publish, pull, delete and drift against the sandbox over HTTP (R-MENU-02, R-MENU-03)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from menus import services, wire
from menus.models import (
    ClickReply,
    DriftStatus,
    Menu,
    MenuAuditEntry,
    MenuVersion,
    VersionSource,
    VersionStatus,
)
from menus.selectors import click_reply_for
from menus.tasks import publish_version

from .menu_cases import CLICK, VIEW

pytestmark = pytest.mark.django_db

MENU = {
    "button": [
        {**CLICK, "reply": "今天播放《晴天》"},
        {
            "name": "菜单",
            "sub_button": [VIEW, {"type": "click", "name": "赞一下", "key": "GOOD", "reply": "谢谢！"}],
        },
    ]
}


def publish(account, user, *, django_capture_on_commit_callbacks):
    services.draft_save(account=account, data=MENU, by=user)
    with django_capture_on_commit_callbacks() as callbacks:
        version = services.menu_publish(account=account, by=user)
    assert len(callbacks) == 1  # the task is enqueued only after the commit
    publish_version.apply(args=[version.pk])
    version.refresh_from_db()
    return version


def test_publish_freezes_the_draft_and_creates_the_menu_on_wechat(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    """R-MENU-03: the menu is created through the API; the version ends published."""
    wechat(certified_account)
    version = publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    assert version.status == VersionStatus.PUBLISHED
    assert version.errcode == 0 and version.attempts == 1
    live = wechat.sandbox.state(certified_account.appid)["menu"]["button"]
    assert [b["name"] for b in live] == ["今日歌曲", "菜单"]
    assert "reply" not in live[0]  # our extension never leaves the building
    assert not MenuVersion.objects.filter(status=VersionStatus.DRAFT).exists()
    assert MenuAuditEntry.objects.filter(version=version, action="published").exists()


def test_click_reply_for_answers_from_the_published_version_only(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    """R-MENU-02: a click button's reply is served once its version is published."""
    wechat(certified_account)
    services.draft_save(account=certified_account, data=MENU, by=operator)
    assert click_reply_for(account=certified_account, key="GOOD") is None  # draft only
    publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    assert click_reply_for(account=certified_account, key="GOOD") == "谢谢！"
    assert click_reply_for(account=certified_account, key="V1001_TODAY_MUSIC") == "今天播放《晴天》"
    assert click_reply_for(account=certified_account, key="NOPE") is None
    other = OfficialAccountFactory()
    assert click_reply_for(account=other, key="GOOD") is None
    assert click_reply_for(account=certified_account.pk, key="GOOD") == "谢谢！"  # id works too


def test_click_reply_lookup_is_one_query(
    wechat, operator, certified_account, django_capture_on_commit_callbacks, django_assert_num_queries
):
    wechat(certified_account)
    publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    with django_assert_num_queries(1):
        click_reply_for(account=certified_account, key="GOOD")


def test_temporary_errors_are_retried_until_published(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    # the client retries "system busy" 3 times itself; the 4th failure reaches the task,
    # which retries with backoff
    wechat.sandbox.force_error("/cgi-bin/menu/create", -1, times=4)
    version = publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    assert version.status == VersionStatus.PUBLISHED
    assert version.attempts == 2
    assert MenuAuditEntry.objects.filter(version=version, action="retry").count() == 1


def test_permanent_error_fails_at_once_with_errcode_and_explanation(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    wechat.sandbox.force_error("/cgi-bin/menu/create", 40007, times=1)
    version = publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    assert version.status == VersionStatus.FAILED
    assert version.attempts == 1
    assert version.errcode == 40007
    assert "media_id" in version.explanation
    assert not ClickReply.objects.exists()


def test_temporary_error_that_never_ends_fails_after_the_last_retry(
    wechat, settings, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    wechat.sandbox.force_error("/cgi-bin/menu/create", -1, times=100)
    version = publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    assert version.status == VersionStatus.FAILED
    assert version.attempts == settings.MENU_PUBLISH_MAX_RETRIES + 1
    assert version.errcode == -1


def test_daily_quota_stops_publishing_before_wechat_does(
    wechat, settings, operator, certified_account, django_capture_on_commit_callbacks
):
    """menu/create is limited to 1000 calls a day per account; we count and stop first."""
    wechat(certified_account)
    settings.MENU_CREATE_DAILY_QUOTA = 1
    first = publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    second = publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    assert first.status == VersionStatus.PUBLISHED
    assert second.status == VersionStatus.FAILED and second.errcode == 45009
    assert wechat.sandbox.state(certified_account.appid)["calls"]["/cgi-bin/menu/create"] == 1


def test_publishing_without_a_draft_is_refused(operator, certified_account):
    with pytest.raises(services.MenuError):
        services.menu_publish(account=certified_account, by=operator)


def test_staff_cannot_publish_for_an_unassigned_account(operator):
    """Staff only publish for accounts assigned to them."""
    theirs = OfficialAccountFactory()
    with pytest.raises(PermissionDenied):
        services.draft_save(account=theirs, data=MENU, by=operator)
    with pytest.raises(PermissionDenied):
        services.menu_publish(account=theirs, by=operator)
    with pytest.raises(PermissionDenied):
        services.fanout_start(data=MENU, accounts=[theirs], by=operator)


def test_sent_versions_are_immutable(wechat, operator, certified_account, django_capture_on_commit_callbacks):
    wechat(certified_account)
    version = publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    version.data = {"button": []}
    with pytest.raises(Exception, match="cannot be changed"):
        version.save()


def test_pull_imports_the_live_menu_into_a_draft_keeping_known_replies(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    """R-MENU-03: the menu is queried through the API (menu/get) into a new draft."""
    wechat(certified_account)
    publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    draft = services.menu_pull(account=certified_account, by=operator)
    assert draft.status == VersionStatus.DRAFT
    assert wire.canonical(draft.data) == wire.canonical(MENU)
    assert draft.data["button"][1]["sub_button"][1]["reply"] == "谢谢！"


def test_pull_selfmenu_converts_a_website_menu(wechat, operator, certified_account):
    """get_current_selfmenu_info: website buttons (text/news…) become API buttons."""
    wechat(certified_account)
    wechat.sandbox.set_website_menu(
        certified_account.appid,
        [
            {"type": "text", "name": "联系我们", "value": "电话 0755-12345678"},
            {
                "name": "更多",
                "sub_button": {
                    "list": [
                        {"type": "view", "name": "官网", "url": "https://example.com/"},
                        {
                            "type": "news",
                            "name": "新闻",
                            "value": "x",
                            "news_info": {
                                "list": [{"title": "t", "content_url": "https://mp.weixin.qq.com/s/abc"}]
                            },
                        },
                    ]
                },
            },
        ],
    )
    draft = services.menu_pull(account=certified_account, by=operator, selfmenu=True)
    first, more = draft.data["button"]
    assert first["type"] == "click" and first["reply"] == "电话 0755-12345678" and first["key"]
    assert more["sub_button"][1] == {"type": "view", "name": "新闻", "url": "https://mp.weixin.qq.com/s/abc"}


@pytest.mark.parametrize("selfmenu", [False, True])
def test_pull_when_wechat_has_no_menu_gives_an_empty_draft(wechat, operator, certified_account, selfmenu):
    """R-MENU-03: menu/get answers 46003 "menu no exist" (docs/wechat-protocol.md): no menu, not an error;
    get_current_selfmenu_info answers without buttons. Both pull an empty draft."""
    wechat(certified_account)
    assert wechat.sandbox.state(certified_account.appid)["menu"] is None
    draft = services.menu_pull(account=certified_account, by=operator, selfmenu=selfmenu)
    assert draft.data == {"button": []}
    assert draft.status == VersionStatus.DRAFT and draft.source == VersionSource.PULL
    assert MenuVersion.objects.get() == draft


def test_pull_raises_the_other_wechat_errors(wechat, operator, certified_account):
    from wechat.errors import WeChatError

    wechat(certified_account)
    wechat.sandbox.force_error("/cgi-bin/menu/get", 48001)
    with pytest.raises(WeChatError) as error:
        services.menu_pull(account=certified_account, by=operator)
    assert error.value.errcode == 48001
    assert not MenuVersion.objects.exists()


def test_delete_on_wechat_removes_the_menu_and_the_click_replies(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    """R-MENU-03: the menu is deleted through the API; R-MENU-02: no clicks are left."""
    wechat(certified_account)
    publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    services.menu_delete_remote(account=certified_account, by=operator)
    assert wechat.sandbox.state(certified_account.appid)["menu"] is None
    assert click_reply_for(account=certified_account, key="GOOD") is None
    assert Menu.objects.get(account=certified_account).drift_status == DriftStatus.MISSING
    assert MenuAuditEntry.objects.filter(action="delete_remote").count() == 1


def test_drift_check_flags_a_menu_edited_elsewhere_and_is_idempotent(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    publish(
        certified_account, operator, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    assert services.menu_check_drift(account_id=certified_account.pk) == DriftStatus.IN_SYNC
    # someone edits the menu on the website / another tool
    import requests

    token = requests.get(
        f"{wechat.sandbox.base_url}/cgi-bin/token",
        timeout=5,
        params={
            "grant_type": "client_credential",
            "appid": certified_account.appid,
            "secret": str(certified_account.appsecret),
        },
    ).json()["access_token"]
    requests.post(
        f"{wechat.sandbox.base_url}/cgi-bin/menu/create",
        timeout=5,
        params={"access_token": token},
        json={"button": [VIEW]},
    )
    assert services.menu_check_drift(account_id=certified_account.pk) == DriftStatus.DRIFTED
    assert services.menu_check_drift(account_id=certified_account.pk) == DriftStatus.DRIFTED
    assert MenuAuditEntry.objects.filter(action="drift").count() == 1  # run twice, one entry
    assert Menu.objects.get(account=certified_account).drift_status == DriftStatus.DRIFTED


def test_sweeper_requeues_a_stuck_version_once_then_fails_it_and_runs_twice_harmlessly(
    operator, certified_account, django_capture_on_commit_callbacks
):
    """A version nobody worked on is queued again once; stuck again, it fails with a reason."""
    services.draft_save(account=certified_account, data=MENU, by=operator)
    version = services.menu_publish(account=certified_account, by=operator)
    stale = timezone.now() - datetime.timedelta(hours=1)
    window = datetime.timedelta(minutes=15)
    MenuVersion.objects.filter(pk=version.pk).update(updated_at=stale)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.versions_sweep_stuck(older_than=window) == {"requeued": 1, "failed": 0}
    assert len(callbacks) == 1  # the task goes to the broker again after the commit
    assert services.versions_sweep_stuck(older_than=window) == {"requeued": 0, "failed": 0}
    version.refresh_from_db()
    assert version.status == VersionStatus.PENDING and version.requeued_at is not None
    assert MenuAuditEntry.objects.filter(version=version, action="requeued").count() == 1
    MenuVersion.objects.filter(pk=version.pk).update(updated_at=stale)  # stuck once more
    assert services.versions_sweep_stuck(older_than=window) == {"requeued": 0, "failed": 1}
    assert services.versions_sweep_stuck(older_than=window) == {"requeued": 0, "failed": 0}
    version.refresh_from_db()
    assert version.status == VersionStatus.FAILED and "queued again" in version.explanation
    # a late task finds nothing to do
    assert services.version_send(version_id=version.pk, final_attempt=True) == "skipped"
