"""Every dashboard figure equals the length of the list it links to (issue 29 §4).

The figures are read from the dashboard as each role sees it, and each link is opened as
that role: the list's rows (the changelist's filtered queryset) must number exactly the
figure. Rows are made so the old mismatches would show: a certification that is not the
account's current one, a failed publication older than the 7 days counted, a menu missing
from WeChat (counted as drifted), accounts with every token state and one with no token.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import resolve
from django.utils import timezone

from accounts.models import AccountTokenStatus
from accounts.tests.factories import OfficialAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def dashboard_items(client) -> list[dict]:
    response = client.get("/admin/")
    assert response.status_code == 200
    return [item for panel in response.context["panels"] for item in panel.get("items", ())]


def rows_behind(client, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, url
    if "cl" in response.context_data:
        return response.context_data["cl"].queryset.count()
    if "page" in response.context_data:  # the conversation workspace: a page of its own
        page = response.context_data["page"]
        assert not page.more  # counted up to COUNT_LIMIT rows: all of them here
        return page.count
    raise AssertionError(f"{url} ({resolve(url.split('?')[0]).url_name}) is not a list page")


def user_wrote(account, openid, at, key):
    from messaging.models import InboundMessage

    InboundMessage.objects.create(
        account=account,
        openid=openid,
        msg_type="text",
        content="你好",
        sent_at=at,
        received_at=at,
        dedupe_key=key,
    )


@pytest.fixture
def rows(admin_user):
    from certification.models import OrderStatus
    from certification.tests.factories import make_order, review_company
    from menus.models import DriftStatus, Menu, MenuVersion, VersionStatus
    from messaging.daily_counts import message_counts_refresh

    now = timezone.now()
    review_company()
    # two succeeded orders ending in 30 days; only one is its account's current certification
    for current in (True, False):
        order = make_order(by=admin_user, until=OrderStatus.IN_REVIEW)
        until = timezone.localdate() + datetime.timedelta(days=30)
        type(order).objects.filter(pk=order.pk).update(status=OrderStatus.SUCCEEDED, valid_until=until)
        type(order.account).objects.filter(pk=order.account_id).update(
            certified_until=until if current else until + datetime.timedelta(days=365)
        )
    make_order(by=admin_user, until=OrderStatus.AWAITING_PAYMENT)
    # menus: one missing from WeChat, failed publications inside and outside the 7 days
    accounts = [OfficialAccountFactory() for _ in range(5)]
    menu = Menu.objects.create(account=accounts[0], drift_status=DriftStatus.MISSING)
    for number, days_ago in enumerate((1, 10), start=1):
        MenuVersion.objects.create(
            menu=menu,
            number=number,
            status=VersionStatus.FAILED,
            finished_at=now - datetime.timedelta(days=days_ago),
        )
    # tokens: failing, expired, expiring, valid; accounts[4] has none (unknown)
    for account, expires, errcode in (
        (accounts[0], now + datetime.timedelta(hours=1), 40164),
        (accounts[1], now - datetime.timedelta(minutes=1), None),
        (accounts[2], now + datetime.timedelta(seconds=60), None),
        (accounts[3], now + datetime.timedelta(hours=1), None),
    ):
        AccountTokenStatus.objects.create(
            account=account, fetched_at=now, expires_at=expires, last_errcode=errcode
        )
    # messages: today and yesterday (Beijing)
    for n, at in enumerate((now, now - datetime.timedelta(days=1, hours=1))):
        user_wrote(accounts[0], "o1", at, f"d{n}")
    message_counts_refresh()
    return accounts


def test_every_figure_matches_its_list_for_the_superuser(admin_client, rows):
    items = [item for item in dashboard_items(admin_client) if "figure" in item]
    assert len(items) >= 14, [item["label"] for item in items]  # tokens, menus, orders, messages
    mismatches = {
        str(item["label"]): (item["value"], behind)
        for item in items
        if item["value"] != (behind := rows_behind(admin_client, item["url"]))
    }
    assert not mismatches, mismatches
    values = {item["figure"]: item["value"] for item in items}
    assert values["expiring"] == 1  # the account's current certification only
    assert values["failed"] == 1  # within the 7 days
    assert values["drifted"] == 1  # "missing from WeChat" counts and is listed
    assert values["received_today"] == 1
    assert [values[f"token_{s}"] for s in ("valid", "expiring", "expired", "failing", "unknown")][:4] == [
        1,
        1,
        1,
        1,
    ]


def test_every_figure_matches_its_list_for_an_operator(client, rows):
    operator = UserFactory(groups=["Operators"])
    for account in rows[:3]:
        account.assigned_staff.add(operator)
    client.force_login(operator)
    items = [item for item in dashboard_items(client) if "figure" in item]
    assert items
    for item in items:
        assert item["value"] == rows_behind(client, item["url"]), item["label"]
    values = {item["figure"]: item["value"] for item in items}
    assert values["token_failing"] == 1 and values["token_valid"] == 0  # accounts[3] is not theirs


def test_every_linked_number_on_the_dashboard_is_a_figure(admin_client, rows):
    """A number with a link that is not a figure could disagree with its list again."""
    linked = [
        item
        for item in dashboard_items(admin_client)
        if item.get("url") and isinstance(item.get("value"), int) and "figure" not in item
    ]
    assert [str(item["label"]) for item in linked] == []


def test_attention_today_lists_what_is_urgent_most_urgent_first(admin_client, rows):
    """Failures first (they have happened), then deadlines and closing windows, soonest first;
    each names its account and links to its page."""
    from messaging.conversations import upkeep

    now = timezone.now()
    wrote = now - datetime.timedelta(hours=47)  # the 48-hour window closes in an hour
    user_wrote(rows[1], "oWaiting", wrote, "w1")
    upkeep.refresh([(rows[1].pk, "oWaiting")])  # what the flusher does after writing the batch
    response = admin_client.get("/admin/")
    attention = response.context["attention"]
    kinds = [item["url"].split("/")[3] for item in attention]
    assert kinds == ["menuversion", "outboundmessage", "order"], kinds
    assert [item["account"] for item in attention[:2]] == [rows[0].name, rows[1].name]
    assert [item["when"] for item in attention] == sorted(item["when"] for item in attention)
    assert 'data-testid="attention"' in response.content.decode()
    for item in attention:
        assert admin_client.get(item["url"]).status_code == 200, item
