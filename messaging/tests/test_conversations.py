"""The conversation workspace: reply windows (docs/wechat-protocol.md §c), sending through
message/custom/send against the sandbox, retries, the list order, and who may do what."""

import datetime
import io
import itertools

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging.conversations import delivery, selectors, services, upkeep
from messaging.conversations.models import OutboundMessage, OutboundStatus
from messaging.models import InboundMessage, KfSession
from messaging.tests.factories import KfAccountFactory

OPENID = "oUser0000000000000000000001"
_keys = itertools.count()
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35"
    b"\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


def user_wrote(account, openid=OPENID, *, at=None, msg_type="text", event="", content="你好"):
    at = at or timezone.now()
    return InboundMessage.objects.create(
        account=account,
        dedupe_key=f"k{next(_keys)}",
        openid=openid,
        msg_type=msg_type,
        event=event,
        content=content,
        sent_at=at,
        received_at=at,
    )


def sent(account, openid=OPENID, *, at=None, status=OutboundStatus.SENT):
    return OutboundMessage.objects.create(
        account=account,
        openid=openid,
        msg_type="text",
        text="好的",
        status=status,
        created_at=at or timezone.now(),
    )


@pytest.fixture
def account(db):
    return OfficialAccountFactory(name="示例咖啡")


# --- the window -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_no_message_from_the_user_means_no_window(account):
    window = selectors.reply_window(account=account, openid=OPENID)
    assert (window.is_open, window.errcode) == (False, 45015)
    assert "45015" in window.explain()


@pytest.mark.django_db
def test_a_user_message_opens_48_hours_for_5_messages(account):
    start = timezone.now()
    user_wrote(account, at=start)
    window = selectors.reply_window(account=account, openid=OPENID, now=start)
    assert (window.kind, window.limit, window.remaining) == ("message", 5, 5)
    for _ in range(4):
        sent(account, at=start)
    sent(account, at=start, status=OutboundStatus.FAILED)  # failed sends use nothing up
    assert selectors.reply_window(account=account, openid=OPENID, now=start).remaining == 1
    sent(account, at=start)
    full = selectors.reply_window(account=account, openid=OPENID, now=start)
    assert (full.is_open, full.can_send, full.errcode) == (True, False, 45047)
    later = start + datetime.timedelta(hours=48, seconds=1)
    closed = selectors.reply_window(account=account, openid=OPENID, now=later)
    assert (closed.is_open, closed.errcode) == (False, 45015)
    assert "48" in closed.explain()


@pytest.mark.django_db
def test_a_click_opens_one_minute_for_3_and_unfollowing_closes(account):
    start = timezone.now()
    user_wrote(account, at=start, msg_type="event", event="CLICK", content="TODAY")
    window = selectors.reply_window(
        account=account, openid=OPENID, now=start + datetime.timedelta(seconds=59)
    )
    assert (window.kind, window.limit, window.is_open) == ("event", 3, True)
    assert not selectors.reply_window(
        account=account, openid=OPENID, now=start + datetime.timedelta(seconds=61)
    ).is_open
    user_wrote(
        account,
        at=start + datetime.timedelta(seconds=2),
        msg_type="event",
        event="VIEW",
        content="https://example.com",
    )  # a link opens no window
    assert selectors.reply_window(account=account, openid=OPENID, now=start).kind == "event"
    user_wrote(account, at=start + datetime.timedelta(seconds=3), msg_type="event", event="unsubscribe")
    gone = selectors.reply_window(account=account, openid=OPENID, now=start + datetime.timedelta(seconds=4))
    assert (gone.is_open, gone.errcode) == (False, 45015)
    assert "unfollowed" in gone.explain()


@pytest.mark.django_db
def test_window_is_explained_in_chinese(account):
    from django.utils import translation

    user_wrote(account)
    with translation.override("zh-hans"):
        text = selectors.reply_window(account=account, openid=OPENID).explain()
    assert "小时" in text and "5" in text


# --- sending --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_sending_outside_the_window_is_refused_and_stores_nothing(account):
    with pytest.raises(services.ConversationError) as caught:
        services.outbound_send(account=account, openid=OPENID, msg_type="text", text="在吗", by=None)
    assert "45015" in " ".join(caught.value.messages)
    assert not OutboundMessage.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("text", {"text": "   "}, "text"),
        ("news", {"news": {"title": "", "url": "https://example.com"}}, "news_title"),
        ("news", {"news": {"title": "活动", "url": "javascript:alert(1)"}}, "news_url"),
        ("image", {"image": SimpleUploadedFile("a.png", b"not an image")}, "image"),
        ("voice", {}, "msg_type"),
    ],
)
def test_bad_replies_name_the_field_and_store_nothing(account, kind, fields, field):
    user_wrote(account)
    with pytest.raises(services.ConversationError) as caught:
        services.outbound_send(account=account, openid=OPENID, msg_type=kind, by=None, **fields)
    assert field in caught.value.message_dict
    assert not OutboundMessage.objects.exists()


@pytest.fixture
def sandboxed(account, sandbox, settings, redis_client):
    """The account registered in the sandbox, the user having written to both sides."""
    settings.WECHAT_API_BASE = sandbox.base_url
    sandbox.register_app(account.appid, account.appsecret, wechat_id=account.wechat_id)
    user_wrote(account)
    sandbox.record_interaction(account.appid, OPENID)
    return sandbox


@pytest.mark.django_db
def test_text_news_and_image_replies_reach_the_sandbox_as_the_kf_account(account, sandboxed):
    """R-KF-02/R-KF-03: sent as the agent of the user's open session, by default."""
    kf = KfAccountFactory(account=account, kf_account=f"amy@{account.wechat_id}")
    sandboxed.app(account.appid).kf_accounts[kf.kf_account] = {"kf_account": kf.kf_account}
    KfSession.objects.create(
        account=account, openid=OPENID, kf_account=kf.kf_account, opened_at=timezone.now()
    )
    assert services.default_kf_account(account=account, openid=OPENID) == kf.kf_account
    messages = [
        services.outbound_send(
            account=account,
            openid=OPENID,
            msg_type="text",
            by=None,
            text="您好，这里是客服",
            kf_account=kf.kf_account,
        ),
        services.outbound_send(
            account=account,
            openid=OPENID,
            msg_type="news",
            by=None,
            news={"title": "新品上市", "url": "https://example.com/new"},
            kf_account=kf.kf_account,
        ),
        services.outbound_send(
            account=account,
            openid=OPENID,
            msg_type="image",
            by=None,
            image=SimpleUploadedFile("menu.png", PNG),
            kf_account=kf.kf_account,
        ),
    ]
    for message in messages:
        assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.SENT
    got = sandboxed.state(account.appid)["sent_messages"]
    assert [m["msgtype"] for m in got] == ["text", "news", "image"]
    assert {m["kf_account"] for m in got} == {kf.kf_account}
    assert got[0]["text"]["content"] == "您好，这里是客服"
    assert got[1]["news"]["articles"][0]["url"] == "https://example.com/new"
    image = OutboundMessage.objects.get(pk=messages[2].pk)
    assert got[2]["image"]["media_id"] == image.media_id in sandboxed.state(account.appid)["media"]


@pytest.mark.django_db
def test_a_team_requires_choosing_one_of_its_accounts(account, sandboxed):
    """R-KF-02: with a customer-service team, a reply goes out as one of its accounts."""
    KfAccountFactory(account=account, kf_account=f"amy@{account.wechat_id}")
    with pytest.raises(services.ConversationError) as caught:
        services.outbound_send(
            account=account, openid=OPENID, msg_type="text", text="hi", by=None, kf_account="nobody@x"
        )
    assert "kf_account" in caught.value.message_dict


@pytest.mark.django_db
def test_wechat_refusal_is_recorded_in_words_and_the_message_can_be_retried(account, sandboxed):
    message = services.outbound_send(account=account, openid=OPENID, msg_type="text", text="稍等", by=None)
    sandboxed.force_error("/cgi-bin/message/custom/send", 45047)
    assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.FAILED
    message.refresh_from_db()
    assert (message.status, message.errcode) == (OutboundStatus.FAILED, 45047)
    assert "5" in message.explanation and "48" in message.explanation
    assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.FAILED  # no-op
    services.outbound_retry(message=message, by=None)
    assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.SENT
    assert len(sandboxed.state(account.appid)["sent_messages"]) == 1
    with pytest.raises(services.ConversationError):
        services.outbound_retry(message=OutboundMessage.objects.get(pk=message.pk), by=None)


@pytest.mark.django_db
def test_a_window_that_closed_while_queued_fails_without_calling_wechat(account, sandboxed):
    message = services.outbound_send(account=account, openid=OPENID, msg_type="text", text="晚了", by=None)
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=49)):
        assert delivery.outbound_deliver(message_id=message.pk) == OutboundStatus.FAILED
    message.refresh_from_db()
    assert message.errcode == 45015 and "48" in message.explanation
    assert "/cgi-bin/message/custom/send" not in sandboxed.state(account.appid)["calls"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_send_runs_in_a_worker_and_temporary_errors_are_retried(
    account, sandboxed, settings, celery_worker_thread
):
    from messaging.tests.test_kf_tasks import wait_for

    sandboxed.force_error("/cgi-bin/message/custom/send", -1, times=settings.WECHAT_HTTP_MAX_ATTEMPTS)
    message = services.outbound_send(
        account=account, openid=OPENID, msg_type="text", text="马上处理", by=None
    )
    assert wait_for(
        lambda: (
            OutboundMessage.objects.get(pk=message.pk).status in (OutboundStatus.SENT, OutboundStatus.FAILED)
        ),
        timeout=40,
    )
    message.refresh_from_db()
    assert message.status == OutboundStatus.SENT, message.explanation
    assert message.attempts == 2
    assert len(sandboxed.state(account.appid)["sent_messages"]) == 1


@pytest.mark.django_db
def test_after_the_last_retry_a_reply_is_failed_with_the_reason(account, sandboxed, settings):
    """No reply stays pending: a temporary error on the last try fails it (staff may resend)."""
    from messaging.conversations.tasks import OUTBOUND_MAX_RETRIES, outbound_deliver_task

    message = services.outbound_send(account=account, openid=OPENID, msg_type="text", text="稍后", by=None)
    sandboxed.force_error("/cgi-bin/message/custom/send", -1, times=settings.WECHAT_HTTP_MAX_ATTEMPTS)
    assert outbound_deliver_task.apply(args=[message.pk], retries=OUTBOUND_MAX_RETRIES).get() == "failed"
    message.refresh_from_db()
    assert (message.status, message.errcode) == (OutboundStatus.FAILED, -1)
    assert message.errmsg.startswith("-1 ")  # "errcode errmsg" of the last error
    assert not sandboxed.state(account.appid)["sent_messages"]


# --- the list -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_unanswered_conversations_come_first_the_soonest_closing_on_top(account):
    now = timezone.now()
    user_wrote(account, "oAnswered00000001", at=now - datetime.timedelta(hours=1))
    sent(account, "oAnswered00000001", at=now - datetime.timedelta(minutes=30))
    user_wrote(account, "oRecent0000000001", at=now - datetime.timedelta(hours=2))
    user_wrote(account, "oUrgent0000000001", at=now - datetime.timedelta(hours=47))
    user_wrote(account, "oClosed0000000001", at=now - datetime.timedelta(hours=50))
    user_wrote(account, "oEventOnly0000001", at=now, msg_type="event", event="subscribe")
    upkeep.repair(now=now, since=datetime.timedelta(days=3))  # rows written outside the flusher
    rows = list(selectors.conversations(user=UserFactory(is_superuser=True), now=now))
    assert [r["openid"] for r in rows] == [
        "oUrgent0000000001",
        "oRecent0000000001",
        "oClosed0000000001",
        "oAnswered00000001",
    ]
    rows = selectors.with_accounts(rows, now=now)
    assert (rows[0]["hours_left"], rows[0]["window_open"]) == (1, True)
    assert [
        r["openid"]
        for r in selectors.conversations(user=UserFactory(is_superuser=True), state="unanswered", now=now)
    ][:1] == ["oUrgent0000000001"]


@pytest.mark.django_db
def test_a_page_of_the_list_is_the_same_rows_in_the_same_order_read_rank_by_rank(
    account, client, monkeypatch
):
    """Issue 30: `conversation_page` walks each rank (waiting, unanswered and closed,
    answered) along its index to the page's end and sorts only those; its pages are the
    pages of `conversations`, and the count stops at COUNT_LIMIT rows ("more than")."""
    now = timezone.now()
    other = OfficialAccountFactory(name="另一个号")
    for n in range(9):  # three of each rank, two accounts, times that tie
        wrote = now - datetime.timedelta(hours=[1, 5, 30, 60, 70, 100, 3, 3, 40][n])
        user_wrote(account if n % 2 else other, f"oPage{n:012d}", at=wrote)
        if n >= 6:
            sent(account if n % 2 else other, f"oPage{n:012d}", at=wrote + datetime.timedelta(minutes=5))
    upkeep.repair(now=now, since=datetime.timedelta(days=8))
    admin = UserFactory(is_superuser=True)
    whole = [(r["account_id"], r["openid"]) for r in selectors.conversations(user=admin, now=now)]
    assert len(whole) == 9
    for state in ("", "unanswered", "waiting", "open"):
        expected = [
            (r["account_id"], r["openid"]) for r in selectors.conversations(user=admin, state=state, now=now)
        ]
        pages = []
        for number in range(1, 10):
            page = selectors.conversation_page(user=admin, number=number, per_page=2, state=state, now=now)
            pages += [(r["account_id"], r["openid"]) for r in page.rows]
            if not page.has_next:
                break
        assert pages == expected, state
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 4)
    page = selectors.conversation_page(user=admin, number=1, per_page=2, now=now)
    assert (page.pages, page.more, page.has_next) == (2, True, True)
    page = selectors.conversation_page(user=admin, number=5, per_page=2, now=now)  # past the counted pages
    assert (len(page.rows), page.has_next) == (1, False)
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 1000)
    page = selectors.conversation_page(user=admin, number=9, per_page=2, now=now)  # past the end: the last
    assert (page.number, page.pages, page.more, len(page.rows)) == (5, 5, False, 1)
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 4)
    client.force_login(admin)
    response = client.get("/admin/messaging/outboundmessage/conversations/", {"page": 2})
    assert "第 2 页，共超过 1 页" in response.content.decode()  # 50 a page, 4 counted: "more than"


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["9223372036854775807", "184467440737095517"])
def test_a_huge_page_number_gets_a_page_not_an_error(account, client, monkeypatch, number):
    """Issue 30: with more conversations than the list counts the page is not clamped to the
    counted pages, so a page number the address check takes (up to 2**63 - 1; a word or 0 is a
    400 before the view) reached PostgreSQL as an OFFSET beyond bigint: a 500. It now gets a
    page, empty past the end."""
    for n in range(3):
        user_wrote(account, f"oOdd{n:014d}")
    upkeep.repair()
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 1)  # "more than": no clamp to the last page
    client.force_login(UserFactory(is_superuser=True))
    response = client.get("/admin/messaging/outboundmessage/conversations/", {"page": number})
    assert response.status_code == 200
    assert "oOdd" not in response.content.decode()  # past the end: no row


# --- access ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_operators_may_reply_finance_may_not():
    operator = UserFactory(groups=["Operators"])
    finance = UserFactory(groups=["Finance"])
    assert operator.has_perm("messaging.reply_to_users")
    assert not finance.has_perm("messaging.reply_to_users")
    assert not finance.has_perm("messaging.view_outboundmessage")


@pytest.mark.django_db
def test_workspace_pages_are_scoped_to_assigned_accounts(client, account, sandboxed):
    operator = UserFactory(groups=["Operators"])
    mine = OfficialAccountFactory(assigned_staff=[operator], name="我的账号")
    user_wrote(mine, "oMine000000000001")
    upkeep.repair()
    client.force_login(operator)
    listing = client.get(reverse("admin:messaging_workspace"))
    assert listing.status_code == 200
    assert b"oMine000000000001" in listing.content and OPENID.encode() not in listing.content
    for name in ("messaging_workspace_detail", "messaging_workspace_poll"):
        assert client.get(reverse(f"admin:{name}", args=[account.pk, OPENID])).status_code == 403
    send = reverse("admin:messaging_workspace_send", args=[account.pk, OPENID])
    assert client.post(send, {"msg_type": "text", "text": "x"}).status_code == 403
    message = sent(account, status=OutboundStatus.FAILED)
    assert client.post(reverse("admin:messaging_workspace_retry", args=[message.pk])).status_code == 403
    assert OutboundMessage.objects.count() == 1
    finance = UserFactory(groups=["Finance"])
    account.assigned_staff.add(finance)
    client.force_login(finance)
    assert client.get(reverse("admin:messaging_workspace")).status_code == 403


@pytest.mark.django_db
def test_send_endpoint_answers_json_with_the_reason(client, account, sandboxed):
    operator = UserFactory(groups=["Operators"])
    account.assigned_staff.add(operator)
    client.force_login(operator)
    url = reverse("admin:messaging_workspace_send", args=[account.pk, "oSomeoneElse000001"])
    refused = client.post(url, {"msg_type": "text", "text": "你好"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 400 and "45015" in refused.json()["error"]
    url = reverse("admin:messaging_workspace_send", args=[account.pk, OPENID])
    image = io.BytesIO(PNG)
    image.name = "pic.png"
    ok = client.post(url, {"msg_type": "image", "image": image}, HTTP_ACCEPT="application/json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["items"][-1]["status"] == OutboundStatus.PENDING
    assert ok.json()["window"]["remaining"] == 4
    poll = client.get(reverse("admin:messaging_workspace_poll", args=[account.pk, OPENID]))
    assert [i["direction"] for i in poll.json()["items"]] == ["in", "out"]
    page = client.get(reverse("admin:messaging_workspace_detail", args=[account.pk, OPENID]))
    assert page.status_code == 200 and b"<script>" not in page.content


@pytest.mark.django_db
def test_replies_stuck_on_their_way_are_failed_once_and_can_be_retried(account):
    user_wrote(account)
    stuck = sent(account, status=OutboundStatus.SENDING, at=timezone.now() - datetime.timedelta(minutes=20))
    # the worker had started the call (issue 23: without it the message says "not sent")
    OutboundMessage.objects.filter(pk=stuck.pk).update(call_started_at=stuck.created_at)
    fresh = sent(account, status=OutboundStatus.PENDING)
    assert delivery.outbound_fail_stuck() == 1
    assert delivery.outbound_fail_stuck() == 0  # selects by state: a second run does nothing
    stuck.refresh_from_db()
    assert stuck.status == OutboundStatus.FAILED and "may or may not" in stuck.explanation
    assert OutboundMessage.objects.get(pk=fresh.pk).status == OutboundStatus.PENDING
    retried = services.outbound_retry(message=stuck, by=None)
    assert retried.status == OutboundStatus.PENDING
    assert retried.created_at > timezone.now() - datetime.timedelta(minutes=1)


@pytest.mark.django_db
def test_dashboard_counts_open_unanswered_conversations_of_visible_accounts(rf, account):
    from messaging.dashboard import panels

    operator = UserFactory(groups=["Operators"])
    mine = OfficialAccountFactory(assigned_staff=[operator])
    user_wrote(mine, "oWaiting000000001")
    user_wrote(mine, "oAnswered00000001")
    sent(mine, "oAnswered00000001")
    user_wrote(account, "oNotMine000000001")
    upkeep.repair()  # rows written outside the flusher
    request = rf.get("/admin/")
    request.user = operator
    panel = panels(request)[-1]
    assert panel["items"][0]["value"] == 1
    assert "state=waiting" in panel["items"][0]["url"]
    request.user = UserFactory(groups=["Finance"])
    assert panels(request) == []
