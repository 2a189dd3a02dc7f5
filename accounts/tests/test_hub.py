"""The account hub: one page per account with its status at a glance and a way to each place."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def hub_url(account):
    return reverse("admin:accounts_officialaccount_hub", args=[account.pk])


@pytest.fixture
def account():
    return OfficialAccountFactory(
        name="示例咖啡", certified_until=datetime.date(2099, 1, 1), kf_enabled=True, wechat_id="demo_cafe"
    )


def test_hub_shows_every_area_with_its_status_and_links(admin_client, account):
    """R-CERT-16 badge, R-MENU-04 token status, menu, messages today and the KF team."""
    from accounts.models import AccountTokenStatus
    from certification.tests.factories import make_order
    from messaging.models import InboundMessage, KfAccountStatus
    from messaging.tests.factories import KfAccountFactory

    AccountTokenStatus.objects.create(
        account=account, fetched_at=timezone.now(), expires_at=timezone.now() + datetime.timedelta(hours=2)
    )
    InboundMessage.objects.create(
        account=account,
        openid="o1",
        msg_type="text",
        content="你好",
        sent_at=timezone.now(),
        received_at=timezone.now(),
        dedupe_key="k1",
    )
    from messaging.daily_counts import message_counts_refresh

    message_counts_refresh()  # what the periodic task does: the hub reads the daily rollup
    KfAccountFactory(account=account, status=KfAccountStatus.ACTIVE, online=True)
    KfAccountFactory(account=account, status=KfAccountStatus.FAILED)
    from django.contrib.auth import get_user_model

    order = make_order(
        by=get_user_model().objects.get(username="admin"), account=account, kind="annual_review"
    )
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = admin_client.get(hub_url(account))
    assert response.status_code == 200
    sections = {s["key"]: s for s in response.context["sections"]}
    assert list(sections) == [
        "account",
        "console",
        "token",
        "menu",
        "certification",
        "messages",
        "content",
        "mass",
        "kf",
        "audience",
        "insights",
    ]
    values = {s: {i["label"]: str(i["value"]) for i in sections[s]["items"]} for s in sections}
    assert values["token"]["Access token"] == "valid"
    assert values["menu"]["Published menu"] == "Nothing published yet"
    assert "Certified until 2099-01-01" in values["certification"]["Badge"]
    assert values["certification"]["Order"].startswith(f"#{order.pk}")
    assert values["messages"]["Messages today"] == "1"
    assert values["mass"]["Mass sends to all this month"] == "0 of 4"  # issue 25
    assert values["kf"]["Agents"] == "1 active, 1 online"
    assert values["kf"]["Failed"].startswith("1 agent")
    html = response.content.decode()
    for url in (
        reverse("admin:menus_menu_editor", args=[account.pk]),
        reverse("admin:certification_order_change", args=[order.pk]),
        reverse("admin:messaging_inboundmessage_changelist") + f"?account__id__exact={account.pk}",
        reverse("admin:messaging_kfaccount_changelist") + f"?account__id__exact={account.pk}",
        reverse("admin:accounts_officialaccount_change", args=[account.pk]),
    ):
        assert f'href="{url}"' in html.replace("&amp;", "&")
    # every link the hub offers opens (filters included)
    for section in sections.values():
        for link in section["links"]:
            assert admin_client.get(link["url"]).status_code == 200, link


def test_account_list_and_change_page_lead_to_the_hub(admin_client, account):
    listing = admin_client.get(
        reverse("admin:accounts_officialaccount_changelist"), {"q": "示例咖啡"}
    ).content.decode()
    assert f'href="{hub_url(account)}"' in listing
    change = admin_client.get(
        reverse("admin:accounts_officialaccount_change", args=[account.pk])
    ).content.decode()
    assert f'href="{hub_url(account)}"' in change


def test_staff_see_the_hub_of_their_accounts_only(client, account):
    operator = UserFactory(groups=["Operators"])
    mine = OfficialAccountFactory(assigned_staff=[operator])
    client.force_login(operator)
    response = client.get(hub_url(mine))
    assert response.status_code == 200
    keys = [s["key"] for s in response.context["sections"]]
    assert "certification" in keys and "kf" in keys  # operators view orders, run the team
    denied = client.get(hub_url(account))  # not assigned: 403, in Chinese, with a way back
    assert denied.status_code == 403
    text = denied.content.decode()
    assert "你无权打开此页面" in text and reverse("admin:index") in text
    assert client.get(reverse("admin:accounts_officialaccount_hub", args=[999999])).status_code == 404
