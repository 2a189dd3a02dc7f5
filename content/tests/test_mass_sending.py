# ruff: noqa: F811  (the mass-send fixtures are imported here: parameters named after them redefine them)
"""Mass sends (issue 25) against the sandbox over HTTP, the real PostgreSQL and Redis:
approval (R-MASS-01), sent at most once (R-MASS-02), the month's limit (R-MASS-03),
MASSSENDJOBFINISH and read-back (R-MASS-04), delete (R-MASS-05)."""

import datetime

import pytest
from django.utils import timezone, translation

from accounts.tests.factories import UserFactory
from content.mass import services
from content.mass.transitions import TRANSITIONS
from content.models import MassKind, MassSend, MassSendLog, MassStatus
from content.tests.mass_fixtures import MEDIA, TAG, account, approver, draft, operator, wx  # noqa: F401  (fixtures)
from core.redis_clients import Purpose
from core.redis_clients import client as redis_client_for
from wechat.api import mass as wxmass
from wechat.messages import parse_message
from wechat_sandbox.areas.mass import finish_xml

pytestmark = pytest.mark.django_db(transaction=False)


def prepared(account, operator, draft, **overrides):
    """A send previewed and submitted for approval."""
    fields = {"title": "十二月活动群发", "kind": MassKind.ARTICLE, "draft": draft, **overrides}
    send = services.mass_create(account=account, by=operator, **fields)
    send = services.mass_preview(send=send, by=operator, towxname="editor_wang")
    return services.mass_submit(send=send, by=operator)


def approved(account, operator, approver, draft, **overrides):
    send = prepared(account, operator, draft, **overrides)
    return services.mass_approve(send=send, by=approver, client_confirmation="客户李经理 12月7日微信确认")


def sent(account, operator, approver, draft, **overrides):
    send = approved(account, operator, approver, draft, **overrides)
    services.mass_send_now(send=send, by=approver)
    assert services.run_send(send.pk) == "sent"
    send.refresh_from_db()
    return send


def statuses(send):
    return list(MassSendLog.objects.filter(send=send).values_list("action", flat=True))


# --- the happy path and the history -----------------------------------------------------------
def test_prepared_previewed_approved_sent_once_and_finished_with_totals(
    wx, account, operator, approver, draft
):
    send = sent(account, operator, approver, draft)
    assert send.status == MassStatus.SENT and send.msg_id and send.msg_data_id
    assert send.clientmsgid.startswith(f"wxadmin-{send.pk}-") and send.attempts == 1
    assert [(s["msg_id"], s["media_id"], s["is_to_all"], s["clientmsgid"]) for s in wx.sends()] == [
        (send.msg_id, MEDIA, True, send.clientmsgid)
    ]
    assert [p["towxname"] for p in wx.previews()] == ["editor_wang"]
    # WeChat's push, twice (it retries): recorded once
    from messaging.event_hooks import handler_for

    xml = finish_xml(
        to_user="gh_x",
        send={"msg_id": send.msg_id, "total": 20, "filter": 19},
        status="send success",
        error_count=1,
        now=1,
    )
    for _twice in range(2):
        handler_for("MASSSENDJOBFINISH")(account=account, message=parse_message(xml), now=None)
    send.refresh_from_db()
    assert send.status == MassStatus.FINISHED
    assert (send.total_count, send.filter_count, send.sent_count, send.error_count) == (20, 19, 18, 1)
    assert statuses(send) == ["create", "preview", "submit", "approve", "send", "call", "accepted", "finish"]
    assert services.run_send(send.pk) == MassStatus.FINISHED  # a retried task sends nothing
    assert len(wx.sends()) == 1
    draft.delete()  # the send's record keeps what was sent
    send.refresh_from_db()
    assert send.draft is None and send.media_id == MEDIA


def test_a_tag_send_goes_to_the_tag_only(wx, account, operator, approver, draft):
    send = sent(account, operator, approver, draft, to_all=False, tag_id=TAG)
    assert send.tag_name == "VIP"
    assert [(s["is_to_all"], s["tag_id"], s["filter"]) for s in wx.sends()] == [(False, TAG, 2)]


def test_a_text_send(wx, account, operator, approver, draft):
    send = sent(account, operator, approver, None, kind=MassKind.TEXT, text="本周六闭馆")
    assert send.msg_data_id is None
    assert [(s["msgtype"], s["text"]) for s in wx.sends()] == [("text", "本周六闭馆")]


# --- approval (R-MASS-01) ---------------------------------------------------------------------
def test_the_preparer_cannot_approve_even_holding_the_permission(wx, account, approver, draft):
    send = prepared(account, approver, draft)
    with pytest.raises(services.MassError, match="prepared a mass send cannot approve"):
        services.mass_approve(send=send, by=approver, client_confirmation="ok")
    send.refresh_from_db()
    assert send.status == MassStatus.AWAITING_APPROVAL


def test_operators_and_unassigned_staff_cannot_approve(wx, account, operator, draft):
    send = prepared(account, operator, draft)
    other_operator = UserFactory(groups=["Operators"])
    account.assigned_staff.add(other_operator)
    outsider = UserFactory(groups=["Administrators"])  # holds the permission, not assigned
    for user in (other_operator, outsider):
        with pytest.raises(services.MassError, match="may not approve"):
            services.mass_approve(send=send, by=user, client_confirmation="ok")
    assert not other_operator.has_perm("content.approve_masssend")


def test_approval_needs_the_clients_confirmation_and_a_rejection_its_reason(
    wx, account, operator, approver, draft
):
    send = prepared(account, operator, draft)
    with pytest.raises(services.MassError, match="client's confirmation"):
        services.mass_approve(send=send, by=approver, client_confirmation="  ")
    with pytest.raises(services.MassError, match="why"):
        services.mass_reject(send=send, by=approver, reason="")
    send = services.mass_reject(send=send, by=approver, reason="标题有错别字")
    assert send.status == MassStatus.REJECTED and send.rejection_reason == "标题有错别字"
    # changed after the rejection: a new preview is needed before submitting again
    send = services.mass_update(send=send, by=operator, title="十二月活动（改）")
    with pytest.raises(services.MassError, match="Preview"):
        services.mass_submit(send=send, by=operator)


def test_a_send_without_approval_is_never_sent(wx, account, operator, approver, draft):
    send = prepared(account, operator, draft)
    with pytest.raises(services.MassError, match="cannot be send now"):
        services.mass_send_now(send=send, by=approver)
    assert services.run_send(send.pk) == MassStatus.AWAITING_APPROVAL
    assert wx.sends() == []


def test_submitting_needs_a_preview_first(wx, account, operator, draft):
    send = services.mass_create(account=account, by=operator, title="t", kind=MassKind.ARTICLE, draft=draft)
    with pytest.raises(services.MassError, match="Preview"):
        services.mass_submit(send=send, by=operator)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": MassKind.ARTICLE, "draft": None}, "Choose the draft"),
        ({"kind": MassKind.TEXT, "text": "  "}, "Write the text"),
        ({"kind": MassKind.IMAGE, "media_id": ""}, "media ID"),
        ({"kind": MassKind.TEXT, "text": "x", "to_all": False, "tag_id": 999}, "no tag 999"),
    ],
)
def test_bad_input_is_refused_before_anything_is_stored(wx, account, operator, fields, message):
    with pytest.raises(services.MassError, match=message):
        services.mass_create(account=account, by=operator, title="t", **fields)
    assert not MassSend.objects.exists()


def test_a_draft_not_yet_on_wechat_is_refused(wx, account, operator, draft):
    draft.media_id = ""
    draft.save()
    with pytest.raises(services.MassError, match="not been saved to WeChat"):
        services.mass_create(account=account, by=operator, title="t", kind=MassKind.ARTICLE, draft=draft)


# --- the month's limit (R-MASS-03) ------------------------------------------------------------
def _used(account, n, *, to_all=True, tag_id=None):
    for i in range(n):
        MassSend.objects.create(
            account=account,
            title=f"earlier {i}",
            kind=MassKind.TEXT,
            text="x",
            to_all=to_all,
            tag_id=tag_id,
            status=MassStatus.FINISHED,
            called_at=timezone.now(),
        )


def test_past_the_monthly_limit_nothing_is_sent_and_the_message_says_why_in_chinese(
    wx, account, operator, approver, draft
):
    _used(account, 4)
    usage = services.month_usage(account)
    assert usage.to_all == 4
    send = approved(account, operator, approver, draft)
    assert "WeChat would refuse" in usage.warning(send)
    with translation.override("zh-hans"), pytest.raises(services.MassError) as refused:
        services.mass_send_now(send=send, by=approver)
    assert "本月" in refused.value.user_message and "4" in refused.value.user_message
    send.refresh_from_db()
    assert send.status == MassStatus.APPROVED and wx.sends() == []


def test_last_months_sends_do_not_count(wx, account):
    _used(account, 4)
    MassSend.objects.update(called_at=timezone.now() - datetime.timedelta(days=40))
    assert services.month_usage(account).to_all == 0


def test_a_tag_past_the_limit_is_warned_about(wx, account, operator, draft):
    _used(account, 2)
    _used(account, 2, to_all=False, tag_id=TAG)
    send = services.mass_create(
        account=account, by=operator, title="t", kind=MassKind.TEXT, text="x", to_all=False, tag_id=TAG
    )
    usage = services.month_usage(account)
    assert usage.received_by_tag(TAG) == 4 and "filters them out" in usage.warning(send)


def test_wechats_own_refusal_45028_fails_the_send_in_words(wx, account, operator, approver, draft):
    wx.set_month(4)  # sent four times on the MP website: not known here
    send = approved(account, operator, approver, draft)
    services.mass_send_now(send=send, by=approver)
    assert services.run_send(send.pk) == "failed"
    send.refresh_from_db()
    assert send.status == MassStatus.FAILED and send.errcode == 45028
    assert "used up" in send.status_note
    assert wx.sends() == []


def test_wechat_refusing_the_media_fails_the_send(wx, account, operator, approver, draft):
    """The image was in the materials at preview and approval, and deleted before sending."""
    wx.sb.app(account.appid).areas["mass"]["media"].add("image-0001")
    send = approved(account, operator, approver, None, kind=MassKind.IMAGE, media_id="image-0001")
    wx.sb.app(account.appid).areas["mass"]["media"].discard("image-0001")
    services.mass_send_now(send=send, by=approver)
    assert services.run_send(send.pk) == "failed"
    send.refresh_from_db()
    assert (
        send.status == MassStatus.FAILED
        and send.errcode == 40007
        and "does not know this media" in send.status_note
    )


# --- at most once (R-MASS-02) -----------------------------------------------------------------
def test_a_worker_killed_after_wechat_accepted_never_sends_again(wx, account, operator, approver, draft):
    """The intent was committed and the call reached WeChat, then the worker died before
    recording msg_id: the next run asks with the same clientmsgid, WeChat answers 45065."""
    send = approved(account, operator, approver, draft)
    services.mass_send_now(send=send, by=approver)
    clientmsgid = f"wxadmin-{send.pk}-killed"
    MassSend.objects.filter(pk=send.pk).update(called_at=timezone.now(), clientmsgid=clientmsgid, attempts=1)
    from accounts.wechat_api import client_for

    wxmass.send_to_all_or_tag(client_for(account), msgtype="mpnews", media_id=MEDIA, clientmsgid=clientmsgid)
    assert services.run_send(send.pk) == "sent"
    send.refresh_from_db()
    assert send.status == MassStatus.SENT and send.attempts == 2 and "already gone out" in send.status_note
    assert len(wx.sends()) == 1


def test_a_worker_killed_before_the_call_left_sends_once(wx, account, operator, approver, draft):
    send = approved(account, operator, approver, draft)
    services.mass_send_now(send=send, by=approver)
    MassSend.objects.filter(pk=send.pk).update(called_at=timezone.now(), clientmsgid=f"wxadmin-{send.pk}-x")
    assert services.run_send(send.pk) == "sent"
    assert len(wx.sends()) == 1


def test_a_lost_answer_is_settled_with_the_same_clientmsgid(wx, account, operator, approver, draft, settings):
    """WeChat sent but its answer did not come in time: the send says "being checked", the
    sweep's next run settles it as sent, and followers got one message."""
    settings.WECHAT_HTTP_READ_TIMEOUT = 0.3
    send = approved(account, operator, approver, draft)
    services.mass_send_now(send=send, by=approver)
    wx.sb.force_error("/cgi-bin/message/mass/sendall", 0, delay_ms=800)
    assert services.run_send(send.pk) == "unknown"
    send.refresh_from_db()
    assert send.status == MassStatus.UNKNOWN and "may or may not" in send.status_note
    import time

    time.sleep(0.6)  # the sandbox finished the slow call
    assert services.sweep()["resumed"] == 1  # queued for a worker; run it here
    assert services.run_send(send.pk) == "sent"
    send.refresh_from_db()
    assert send.status == MassStatus.SENT
    assert len(wx.sends()) == 1


def test_wechat_unreachable_keeps_the_send_pending_and_retries_once_back(
    wx, account, operator, approver, draft
):
    send = approved(account, operator, approver, draft)
    services.mass_send_now(send=send, by=approver)
    wx.sb.force_error("/cgi-bin/message/mass/sendall", -1, times=3)
    assert services.run_send(send.pk) == "retry"
    send.refresh_from_db()
    assert send.status == MassStatus.SENDING and "trying again" in send.status_note
    assert services.run_send(send.pk) == "sent"
    assert len(wx.sends()) == 1


def test_an_answer_lost_more_than_a_day_ago_is_not_sent_again(wx, account, operator, approver, draft):
    send = approved(account, operator, approver, draft)
    services.mass_send_now(send=send, by=approver)
    MassSend.objects.filter(pk=send.pk).update(
        called_at=timezone.now() - datetime.timedelta(hours=30), clientmsgid=f"wxadmin-{send.pk}-old"
    )
    assert services.run_send(send.pk) == "unknown"
    send.refresh_from_db()
    assert send.status == MassStatus.UNKNOWN and "MP website" in send.status_note
    assert wx.sends() == []


def test_one_worker_per_send(wx, account, operator, approver, draft):
    send = approved(account, operator, approver, draft)
    services.mass_send_now(send=send, by=approver)
    redis_client_for(Purpose.TASKS).set(f"content:mass-lease:{send.pk}", "other", ex=60)
    assert services.run_send(send.pk) == "busy"
    assert services.sweep()["resumed"] == 0
    assert wx.sends() == []


# --- schedule, read back, events, delete ------------------------------------------------------
def test_a_scheduled_send_goes_out_at_its_time(wx, account, operator, approver, draft):
    send = approved(account, operator, approver, draft)
    at = timezone.now() + datetime.timedelta(hours=2)
    with pytest.raises(services.MassError, match="future"):
        services.mass_schedule(send=send, by=approver, at=timezone.now())
    services.mass_schedule(send=send, by=approver, at=at)
    assert services.sweep()["started"] == 0
    assert services.sweep(now=at + datetime.timedelta(seconds=1))["started"] == 1
    assert services.run_send(send.pk) == "sent"
    assert statuses(MassSend.objects.get(pk=send.pk))[-4:] == ["schedule", "start", "call", "accepted"]


def test_an_accepted_send_without_its_event_is_read_back(wx, account, operator, approver, draft):
    send = sent(account, operator, approver, draft)
    assert services.sweep()["read_back"] == 0  # too early
    later = timezone.now() + datetime.timedelta(minutes=11)
    assert services.sweep(now=later)["read_back"] == 0  # WeChat still SENDING
    wx.sb.app(account.appid).areas["mass"]["sends"][send.msg_id]["status"] = "SEND_SUCCESS"
    assert services.sweep(now=later)["read_back"] == 1
    send.refresh_from_db()
    assert send.status == MassStatus.FINISHED and send.wechat_status == "SEND_SUCCESS"


def test_a_refused_article_says_why(wx, account, operator, approver, draft):
    send = sent(account, operator, approver, draft)
    assert services.record_finish(
        account_id=account.pk, raw={"MsgID": str(send.msg_id), "Status": "err(40002)", "TotalCount": "20"}
    )
    send.refresh_from_db()
    assert send.status == MassStatus.FAILED and "did not confirm within 30 minutes" in send.status_note


def test_only_a_sent_article_is_deleted(wx, account, operator, approver, draft):
    send = sent(account, operator, approver, draft)
    with pytest.raises(services.MassError, match="refused to delete"):
        services.mass_delete(send=send, by=approver)  # WeChat: still sending
    wx.sb.app(account.appid).areas["mass"]["sends"][send.msg_id]["status"] = "SEND_SUCCESS"
    with pytest.raises(services.MassError, match="prepared a mass send"):
        services.mass_delete(send=send, by=operator)
    send = services.mass_delete(send=send, by=approver)
    assert send.status == MassStatus.DELETED
    assert wx.sends()[0]["status"] == "DELETE"
    text = sent(account, operator, approver, None, kind=MassKind.TEXT, text="x")
    with pytest.raises(services.MassError, match="Only an article"):
        services.mass_delete(send=text, by=approver)


@pytest.mark.parametrize("status", list(MassStatus))
@pytest.mark.parametrize(
    "name", ["submit", "approve", "reject", "schedule", "unschedule", "send", "delete", "cancel"]
)
def test_every_status_by_every_staff_transition(wx, account, operator, approver, draft, status, name):
    """The state table is the guard: a transition from a status it does not list changes nothing."""
    send = MassSend.objects.create(
        account=account,
        title="t",
        kind=MassKind.ARTICLE,
        draft=draft,
        status=status,
        created_by=operator,
        previewed_at=timezone.now(),
        msg_id=1,
    )
    calls = {
        "submit": lambda: services.mass_submit(send=send, by=operator),
        "approve": lambda: services.mass_approve(send=send, by=approver, client_confirmation="ok"),
        "reject": lambda: services.mass_reject(send=send, by=approver, reason="no"),
        "schedule": lambda: services.mass_schedule(
            send=send, by=approver, at=timezone.now() + datetime.timedelta(hours=1)
        ),
        "unschedule": lambda: services.mass_unschedule(send=send, by=approver),
        "send": lambda: services.mass_send_now(send=send, by=approver),
        "delete": lambda: services.mass_delete(send=send, by=approver),
        "cancel": lambda: services.mass_cancel(send=send, by=operator),
    }
    transition = TRANSITIONS[name]
    if status in transition.sources:
        if name == "delete":
            return  # needs WeChat's agreement: test_only_a_sent_article_is_deleted
        calls[name]()
        send.refresh_from_db()
        assert send.status == transition.target
    else:
        with pytest.raises(services.MassError):
            calls[name]()
        send.refresh_from_db()
        assert send.status == status
