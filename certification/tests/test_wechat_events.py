"""WeChat's certification events (docs/wechat-protocol.md §f) update orders by themselves:
through the real callback, once per push, recorded as done by WeChat, told to staff."""

import datetime

import pytest
import requests
from django.http import HttpRequest

from accounts.models import OfficialAccount
from accounts.tests.factories import UserFactory
from certification import deadlines
from certification.models import (
    FailureReason,
    Notification,
    Order,
    OrderEvent,
    OrderStatus,
    WeChatEvent,
)
from certification.services.review import order_succeed
from certification.tests.factories import make_account, make_order
from messaging.models import InboundMessage
from messaging.tests.pushes import build_push

SH = datetime.timezone(datetime.timedelta(hours=8))
SYSTEM = "weixin_system"


# The callback's caches and dedupe keys start empty, as in the messaging tests.
from messaging.tests.conftest import _clean_messaging_state  # noqa: E402, F401


def unix(day: datetime.date) -> int:
    return int(datetime.datetime(day.year, day.month, day.day, 12, tzinfo=SH).timestamp())


def cert_xml(
    account, event: str, *, create_time: int, expired: datetime.date | None = None, reason: str = ""
) -> str:
    extra = f"<ExpiredTime>{unix(expired)}</ExpiredTime>" if expired else ""
    if event.endswith("_fail"):
        extra = f"<FailTime>{create_time}</FailTime><FailReason><![CDATA[{reason}]]></FailReason>"
    return (
        f"<xml><ToUserName><![CDATA[{account.original_id}]]></ToUserName>"
        f"<FromUserName><![CDATA[{SYSTEM}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{extra}</xml>"
    )


def push(client, account, xml: str):
    query, body = build_push(account, xml)
    response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
    assert response.status_code == 200, response.content
    assert response.content == b"success"


@pytest.fixture
def staff():
    return UserFactory(groups=["Operators"])


def in_review(staff, **kwargs):
    account = make_account(staff=[staff], message_mode="safe", **kwargs)
    return make_order(account=account, until=OrderStatus.IN_REVIEW)


@pytest.mark.django_db
def test_success_push_succeeds_the_order_with_wechats_date_once_under_retries(client, staff):
    """R-POST-02: success moves the order in review to succeeded, certified until WeChat's
    ExpiredTime; three deliveries of the push (same CreateTime) change it once."""
    order = in_review(staff)
    created = int(datetime.datetime.now(tz=SH).timestamp())
    ours = deadlines.certification_valid_until(datetime.datetime.now(tz=SH).date())
    xml = cert_xml(order.account, "qualification_verify_success", create_time=created, expired=ours)
    for _ in range(3):
        push(client, order.account, xml)
    order.refresh_from_db()
    assert order.status == OrderStatus.SUCCEEDED and order.valid_until == ours
    assert OfficialAccount.objects.get(pk=order.account_id).certified_until == ours
    event = OrderEvent.objects.get(order=order, action="wechat_qualification_verify_success")
    assert event.by is None and event.to_status == "succeeded"
    record = WeChatEvent.objects.get(account=order.account)
    assert (record.order, record.date_mismatch, record.needs_attention) == (order, False, False)
    note = Notification.objects.get(user=staff, milestone="qualification_verify_success")
    assert note.order == order and f"#{order.pk}" in note.body
    assert InboundMessage.objects.filter(account=order.account).count() == 1


@pytest.mark.django_db
def test_success_with_a_different_expiry_date_is_flagged(client, staff):
    """WeChat's ExpiredTime is checked against our own date (R-POST-02); WeChat's wins,
    the difference is flagged on the record, the order and the notification."""
    order = in_review(staff)
    today = datetime.datetime.now(tz=SH).date()
    ours = deadlines.certification_valid_until(today)
    theirs = ours + datetime.timedelta(days=1)
    push(
        client,
        order.account,
        cert_xml(order.account, "qualification_verify_success", create_time=unix(today), expired=theirs),
    )
    order.refresh_from_db()
    assert order.valid_until == theirs
    record = WeChatEvent.objects.get(account=order.account)
    assert record.date_mismatch and (record.expires_on, record.our_date) == (theirs, ours)
    assert "不一致" in OrderEvent.objects.get(order=order, action="wechat_qualification_verify_success").note
    assert "不一致" in Notification.objects.get(user=staff).body


@pytest.mark.django_db
def test_naming_success_after_qualification_success_is_recorded_on_the_order(client, staff):
    order = in_review(staff)
    today = datetime.datetime.now(tz=SH).date()
    ours = deadlines.certification_valid_until(today)
    push(
        client,
        order.account,
        cert_xml(order.account, "qualification_verify_success", create_time=unix(today), expired=ours),
    )
    push(
        client,
        order.account,
        cert_xml(order.account, "naming_verify_success", create_time=unix(today) + 60, expired=ours),
    )
    assert OrderEvent.objects.filter(order=order, action="wechat_naming_verify_success").exists()
    assert Notification.objects.filter(user=staff).count() == 2
    assert not WeChatEvent.objects.filter(needs_attention=True).exists()


@pytest.mark.django_db
def test_failure_push_fails_the_order_with_the_named_reason_r_cert_12(client, staff):
    """R-CERT-12: WeChat's FailReason names one of the six reasons; it is recorded."""
    order = in_review(staff)
    push(
        client,
        order.account,
        cert_xml(
            order.account,
            "qualification_verify_fail",
            create_time=1_780_000_000,
            reason="运营者身份证信息有误",
        ),
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.FAILED
    assert order.failure_reason == FailureReason.OPERATOR_ID_WRONG
    event = OrderEvent.objects.get(order=order, action="wechat_qualification_verify_fail")
    assert "运营者身份证信息有误" in event.note and event.by is None


@pytest.mark.django_db
def test_failure_push_with_an_unknown_reason_is_left_for_staff(client, staff):
    """R-CERT-12 allows exactly six reasons: an unmappable one changes nothing but is
    recorded on the order and flagged for staff."""
    order = in_review(staff)
    push(
        client,
        order.account,
        cert_xml(order.account, "naming_verify_fail", create_time=1_780_000_000, reason="其他问题"),
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_REVIEW
    assert WeChatEvent.objects.get(account=order.account).needs_attention
    assert "其他问题" in OrderEvent.objects.get(order=order, action="wechat_naming_verify_fail").note
    assert Notification.objects.get(user=staff).title.startswith("请核对")


@pytest.mark.django_db
def test_annual_renew_opens_the_annual_review_or_flags_the_open_one_r_post_03(client, staff):
    """R-POST-03: annual_renew opens the pre-filled annual review; a second notice finds
    it open and notes it there."""
    order = in_review(staff)
    order_succeed(order=order, by=None)
    account = OfficialAccount.objects.get(pk=order.account_id)
    push(
        client,
        account,
        cert_xml(account, "annual_renew", create_time=1_780_000_000, expired=account.certified_until),
    )
    annual = Order.objects.get(account=account, kind="annual_review")
    assert annual.status == OrderStatus.DRAFT and annual.renews_id == order.pk
    push(
        client,
        account,
        cert_xml(account, "annual_renew", create_time=1_780_000_100, expired=account.certified_until),
    )
    assert Order.objects.filter(account=account, kind="annual_review").count() == 1
    assert OrderEvent.objects.filter(order=annual, action="wechat_annual_renew").count() == 2


@pytest.mark.django_db
def test_verify_expired_lapses_the_account_r_post_04_r_kf_01(client, staff):
    """R-POST-04 / R-KF-01: the certification is gone, the plug-in off, staff told that
    WeChat may change the name by force."""
    order = in_review(staff)
    order_succeed(order=order, by=None)
    OfficialAccount.objects.filter(pk=order.account_id).update(kf_enabled=True)
    account = OfficialAccount.objects.get(pk=order.account_id)
    push(
        client,
        account,
        cert_xml(account, "verify_expired", create_time=1_780_000_000, expired=account.certified_until),
    )
    account.refresh_from_db()
    assert account.certified_until is None and account.kf_enabled is False
    assert OrderEvent.objects.filter(order=order, action="wechat_verify_expired").exists()
    assert "强制修改该帐号的名称" in Notification.objects.get(user=staff, milestone="verify_expired").body


@pytest.mark.django_db
def test_unassigned_account_event_goes_to_the_administrators(client):
    admin = UserFactory(groups=["Administrators"])
    account = make_account(message_mode="plaintext")
    push(client, account, cert_xml(account, "verify_expired", create_time=1_780_000_000))
    assert Notification.objects.get(milestone="verify_expired").user == admin


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_user_sends_each_certification_event(sandbox, live_server):
    """Offline: the sandbox pushes all six events, signed and encrypted, to the callback."""
    staff = UserFactory(groups=["Operators"])
    account = make_account(staff=[staff], message_mode="safe")
    sandbox.register_app(
        account.appid,
        account.appsecret,
        token=account.server_token,
        encoding_aes_key=account.encoding_aes_key,
        message_mode=account.message_mode,
        callback_url=f"{live_server.url}/wechat/{account.appid}/",
        original_id=account.original_id,
        wechat_id=account.wechat_id,
    )
    events = [
        "qualification_verify_fail",
        "naming_verify_fail",
        "qualification_verify_success",
        "naming_verify_success",
        "annual_renew",
        "verify_expired",
    ]
    for event in events:
        body = {"type": event, "fail_reason": "其他问题"}
        response = requests.post(
            f"{sandbox.base_url}/sandbox/simulate/{account.appid}", json=body, timeout=30
        )
        assert response.status_code == 200, response.text
    assert sorted(WeChatEvent.objects.filter(account=account).values_list("event", flat=True)) == sorted(
        events
    )
    assert Notification.objects.filter(user=staff).count() == 6


@pytest.mark.django_db(transaction=True)
def test_staff_push_a_wechat_event_from_the_order_page_offline(client, sandbox, live_server, settings):
    """From the order page, the sandbox pushes a success as WeChat would: the order
    succeeds through the real callback, and the admin lists the event."""
    from django.urls import reverse

    settings.WECHAT_API_BASE = sandbox.base_url
    settings.WECHAT_SIMULATE_CALLBACK_BASE = sandbox.callback_base = live_server.url
    staff = UserFactory(groups=["Finance"])
    order = make_order(
        account=make_account(staff=[staff], message_mode="compatible"), by=staff, until=OrderStatus.IN_REVIEW
    )
    account = order.account
    sandbox.register_app(
        account.appid,
        account.appsecret,
        token=account.server_token,
        encoding_aes_key=account.encoding_aes_key,
        message_mode=account.message_mode,
        original_id=account.original_id,
    )
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(request=HttpRequest(), username=staff.username, password="pw-for-tests-123")
    page = client.get(reverse("admin:certification_order_change", args=[order.pk]))
    url = reverse("admin:certification_order_simulate_event", args=[order.pk])
    assert url in page.content.decode()
    expires = datetime.date.today() + datetime.timedelta(days=365)  # noqa: DTZ011 - any zone's today
    response = client.post(url, {"event": "qualification_verify_success", "expires_on": expires.isoformat()})
    assert response.status_code == 302, response.content.decode()[:2000]
    order.refresh_from_db()
    assert order.status == OrderStatus.SUCCEEDED and order.valid_until == expires
    listing = client.get(reverse("admin:certification_wechatevent_changelist"))
    assert f"#{order.pk}" in listing.content.decode()
