"""The statistics sync pages (issue 28): start a backfill from its page or the account list
(asking for the range first), bad ranges refused in words, the sync state scoped, retry."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from insights.models import Backfill, SyncDay
from wechat.api import datacube

END = datacube.available_until(timezone.now())


@pytest.fixture(autouse=True)
def _pages_in_english(client):
    """The pages answer in Chinese by default; these tests read them in English."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_the_pages_read_in_chinese_by_default(client, operator, account):
    del client.cookies[settings.LANGUAGE_COOKIE_NAME]
    client.force_login(operator)
    page = client.get(reverse("admin:insights_backfill_add"), {"account": account.pk}).content.decode()
    assert "统计数据补录" in page and "第一天" in page


def test_a_backfill_is_started_from_its_page_with_the_account_preselected(client, operator, account):
    client.force_login(operator)
    url = reverse("admin:insights_backfill_add")
    page = client.get(url, {"account": account.pk})
    assert page.status_code == 200 and f'value="{account.pk}" selected' in page.content.decode()
    start = END - datetime.timedelta(days=29)
    answer = client.post(url, {"account": account.pk, "start": start.isoformat(), "end": END.isoformat()})
    backfill = Backfill.objects.get()
    assert answer.status_code == 302 and answer.url == reverse(
        "admin:insights_backfill_change", args=[backfill.pk]
    )
    assert (backfill.start, backfill.end, backfill.days_total, backfill.requested_by) == (
        start,
        END,
        240,  # 30 days × 8 statistics (all after 2025-11-01, so the per-article ones too)
        operator,
    )
    assert SyncDay.objects.filter(account=account, status="pending").count() == 240
    shown = client.get(answer.url).content.decode()
    assert "<progress" in shown and "Nothing is missing." in shown


def test_a_bad_range_is_refused_on_the_form_and_nothing_is_planned(client, operator, account):
    client.force_login(operator)
    today = END + datetime.timedelta(days=2)
    answer = client.post(
        reverse("admin:insights_backfill_add"),
        {"account": account.pk, "start": END.isoformat(), "end": today.isoformat()},
    )
    assert answer.status_code == 200 and "the last day you can ask for now is" in answer.content.decode()
    assert not Backfill.objects.exists() and not SyncDay.objects.exists()


def test_another_tenants_account_cannot_be_chosen_or_seen(client, operator, account):
    other = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1), name="别家公众号")
    SyncDay.objects.create(account=other, area="user_summary", day=END, status="missing", reason="别家原因")
    theirs = Backfill.objects.create(account=other, start=END, end=END, note="别家备注")
    client.force_login(operator)
    answer = client.post(
        reverse("admin:insights_backfill_add"),
        {"account": other.pk, "start": END.isoformat(), "end": END.isoformat()},
    )
    assert (
        answer.status_code == 200
        and not Backfill.objects.filter(account=other, status="running").exclude(pk=theirs.pk).exists()
    )
    for name in ("admin:insights_syncday_changelist", "admin:insights_backfill_changelist"):
        page = client.get(reverse(name)).content.decode()
        assert "别家公众号" not in page and "别家原因" not in page and "别家备注" not in page
    assert client.get(reverse("admin:insights_backfill_change", args=[theirs.pk])).status_code in (403, 404)


def test_the_account_list_action_asks_for_the_range_then_starts_one_backfill_per_account(
    client, operator, account
):
    second = OfficialAccountFactory(assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1))
    uncertified = OfficialAccountFactory(assigned_staff=[operator], certified_until=None, name="未认证号")
    client.force_login(operator)
    url = reverse("admin:accounts_officialaccount_changelist")
    chosen = [str(a.pk) for a in (account, second, uncertified)]
    asked = client.post(url, {"action": "backfill_accounts", "_selected_action": chosen})
    assert asked.status_code == 200 and b'name="confirm" value="yes"' in asked.content
    assert not Backfill.objects.exists()
    start = END - datetime.timedelta(days=6)
    done = client.post(
        url,
        {
            "action": "backfill_accounts",
            "_selected_action": chosen,
            "confirm": "yes",
            "start": start.isoformat(),
            "end": END.isoformat(),
        },
        follow=True,
    )
    assert set(Backfill.objects.values_list("account_id", flat=True)) == {account.pk, second.pk}
    text = done.content.decode()
    assert "2 backfills started" in text and "未认证号" in text and "certified account" in text


def test_missing_days_are_listed_with_why_and_can_be_fetched_again(
    client, operator, account, django_capture_on_commit_callbacks
):
    missing = SyncDay.objects.create(
        account=account,
        area="articles",
        day=END,
        status="missing",
        errcode=-1,
        attempts=2,
        reason="system error",
    )
    client.force_login(operator)
    url = reverse("admin:insights_syncday_changelist")
    page = client.get(url, {"status__exact": "missing", "q": "system"}).content.decode()
    assert "system error" in page
    assert client.get(url, {"q": "-1"}).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as queued:
        answer = client.post(url, {"action": "retry_selected", "_selected_action": [missing.pk]})
    assert answer.status_code == 302 and len(queued) == 1
    missing.refresh_from_db()
    assert missing.status == "pending" and missing.attempts == 2


def test_finance_staff_reach_no_statistics_sync_page(client, db):
    finance = UserFactory(groups=["Finance"])
    client.force_login(finance)
    for name in (
        "admin:insights_syncday_changelist",
        "admin:insights_backfill_changelist",
        "admin:insights_backfill_add",
    ):
        assert client.get(reverse(name)).status_code == 403
