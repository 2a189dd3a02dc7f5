"""Template messages end to end against the sandbox over loopback HTTP (issue 26)."""

import itertools

import pytest
import requests

from notifications import services
from notifications.models import Delivery, DeliveryStatus, SendStatus, Template
from notifications.services import NotificationError
from notifications.transitions import TRANSITIONS
from wechat.api import templates as wx
from wechat.errors import WeChatError

OPENIDS = [f"oUser{n:024d}" for n in range(1, 6)]
GOOD = {"character_string1": "SN-2024-001", "thing2": "蓝色保温杯", "time3": "2024年5月1日 15:01"}


@pytest.fixture
def template(wechat, account):
    from accounts.wechat_api import client_for

    wx.add_template(client_for(account), "OPENTM200000001")
    services.templates_sync(account=account, by=None)
    return Template.objects.get(account=account)


def test_sync_lists_templates_with_their_keywords_and_the_industry(template, account):
    assert template.title == "订单发货通知"
    assert template.keywords == [
        ["character_string1", "character_string"],
        ["thing2", "thing"],
        ["time3", "time"],
    ]
    assert account.template_industry.primary == "IT科技 / 互联网|电子商务"


def test_a_category_template_is_added_with_its_keywords_and_an_unknown_one_is_refused(
    wechat, account, operator
):
    added = services.template_add(
        account=account,
        template_id_short="CATEGORY_0001",
        keyword_names=["办理事项", "办理进度"],
        by=operator,
    )
    assert added.keywords == [["thing1", "thing"], ["phrase2", "phrase"]]
    with pytest.raises(NotificationError, match="keyword names"):
        services.template_add(
            account=account, template_id_short="CATEGORY_0001", keyword_names=["乱写"], by=operator
        )
    assert Template.objects.filter(account=account).count() == 1


def test_deleting_a_template_deletes_it_on_wechat(template, wechat, account, operator):
    services.template_delete(template=template, by=operator)
    assert wechat.state(account.appid)["templates"]["templates"] == []
    assert not Template.objects.exists()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({**GOOD, "thing2": "这是一个超过二十个字符的商品名称一二三四五六"}, "too long"),
        ({**GOOD, "remark": "谢谢"}, "no longer shows"),
        ({**GOOD, "thing2": {"value": "杯子", "color": "#ff0000"}}, "colours"),
        ({"character_string1": "SN-1", "time3": "15:01"}, "thing2: missing"),
        ({**GOOD, "time3": "明天"}, "not a valid time"),
    ],
)
def test_values_breaking_wechats_rules_are_refused_before_anything_is_sent(
    template, account, operator, data, problem
):
    with pytest.raises(NotificationError, match=problem):
        services.template_send(account=account, template=template, openid=OPENIDS[0], data=data, by=operator)
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("thing", "a" * 20),
        ("thing", "a" * 21),
        ("character_string", "A" * 33),
        ("time", "25点"),
        ("phrase", "配送中"),
        ("phrase", "abc"),
        ("amount", "￥12.50元"),
        ("number", "1e5"),
    ],
)
def test_the_validator_and_the_sandbox_agree(wechat, account, kind, value):
    """The check before sending and the sandbox (WeChat's 47003) refuse the same values."""
    from accounts.wechat_api import client_for
    from wechat_sandbox.areas.templates import _state

    _state(wechat.app(account.appid))["templates"]["tpl_x"] = {
        "template_id": "tpl_x",
        "content": f"{{{{{kind}1.DATA}}}}",
    }
    local = Template(account=account, template_id="tpl_x", keywords=[[f"{kind}1", kind]])
    ours_ok = not services.value_problems(local, {f"{kind}1": value})
    errcode = 0
    try:
        wx.send(client_for(account), touser=OPENIDS[0], template_id="tpl_x", data={f"{kind}1": value})
    except WeChatError as exc:
        errcode = exc.errcode
    assert errcode in (0, 47003)
    assert ours_ok == (errcode == 0)


def test_one_follower_gets_the_message_and_the_log_has_its_msgid(template, wechat, account, operator):
    send = services.template_send(
        account=account,
        template=template,
        openid=OPENIDS[0],
        data=GOOD,
        url="https://example.cn/o/1",
        by=operator,
    )
    assert services.run_send(send.pk) == "completed"
    delivery = Delivery.objects.get(send=send)
    assert delivery.status == DeliveryStatus.SENT and delivery.msgid
    sent = wechat.state(account.appid)["templates"]["sent"]
    assert [(m["msgid"], m["touser"], m["url"]) for m in sent] == [
        (delivery.msgid, OPENIDS[0], "https://example.cn/o/1")
    ]
    send.refresh_from_db()
    assert (send.status, send.total, send.sent, send.failed) == (SendStatus.COMPLETED, 1, 1, 0)


def test_a_csv_with_bad_rows_names_them_and_sends_the_good_rows_only_after_confirmation(
    template, wechat, account, operator
):
    csv_text = (
        "openid,character_string1,thing2,time3\n"
        f"{OPENIDS[0]},SN-1,杯子,15:01\n"
        "not an openid,SN-2,杯子,15:01\n"
        f"{OPENIDS[1]},SN-3,这是一个超过二十个字符的商品名称一二三四五六,15:01\n"
        f"{OPENIDS[2]},SN-4,茶壶,16:30\n"
    )
    checked = services.check_csv(template, csv_text.encode())
    assert [number for number, _reason in checked.bad] == [3, 4]
    assert "row 4" in checked.bad[1][1] and "thing2" in checked.bad[1][1]
    send = services.template_send(
        account=account, template=template, rows=checked.good, by=operator, bad_rows=len(checked.bad)
    )
    assert send.status == SendStatus.AWAITING_CONFIRMATION
    assert services.run_send(send.pk) == SendStatus.AWAITING_CONFIRMATION
    assert wechat.state(account.appid)["templates"]["sent_count"] == 0
    services.send_transition(send=send, name="confirm", by=operator)
    services.run_send(send.pk)
    sent = wechat.state(account.appid)["templates"]["sent"]
    assert sorted((m["touser"], m["data"]["thing2"]) for m in sent) == [
        (OPENIDS[0], "杯子"),
        (OPENIDS[2], "茶壶"),
    ]


def test_a_tag_is_sent_to_its_members(template, wechat, account, operator):
    requests.post(
        f"{wechat.base_url}/sandbox/templates/{account.appid}/tag", json={"tag_id": 101, "openids": OPENIDS}
    )
    send = services.template_send(account=account, template=template, tag_id=101, data=GOOD, by=operator)
    services.run_send(send.pk)
    send.refresh_from_db()
    assert (send.total, send.sent) == (5, 5)
    assert sorted(m["touser"] for m in wechat.state(account.appid)["templates"]["sent"]) == OPENIDS


def test_an_unsubscribed_follower_is_logged_as_refused_and_the_others_are_sent(
    template, wechat, account, operator
):
    requests.post(
        f"{wechat.base_url}/sandbox/templates/{account.appid}/users", json={"unsubscribed": [OPENIDS[1]]}
    )
    rows = [(n, openid, GOOD) for n, openid in enumerate(OPENIDS[:3], start=2)]
    send = services.template_send(account=account, template=template, rows=rows, by=operator)
    services.run_send(send.pk)
    refused = Delivery.objects.get(send=send, openid=OPENIDS[1])
    assert (refused.status, refused.errcode, refused.error) == (
        DeliveryStatus.REFUSED,
        43004,
        "the user unsubscribed",
    )
    send.refresh_from_db()
    assert (send.sent, send.failed, send.status) == (2, 1, SendStatus.COMPLETED)


def test_the_daily_quota_reached_mid_send_waits_for_the_next_day_and_says_so(
    template, wechat, account, operator, settings
):
    settings.NOTIFICATIONS_DAILY_QUOTA = 3
    settings.NOTIFICATIONS_BATCH_SIZE = 2
    rows = [(n, openid, GOOD) for n, openid in enumerate(OPENIDS, start=2)]
    send = services.template_send(account=account, template=template, rows=rows, by=operator)
    assert services.run_send(send.pk) == "waiting_quota"
    send.refresh_from_db()
    assert send.status == SendStatus.WAITING_QUOTA and "quota of 3" in send.status_note and send.resume_at
    assert Delivery.objects.filter(send=send, status=DeliveryStatus.PENDING).count() == 2
    assert wechat.state(account.appid)["templates"]["sent_count"] == 3


def test_a_message_interrupted_mid_call_is_never_sent_again(template, wechat, account, operator):
    """A worker killed between recording the intent and the answer: the row stays CALLING;
    the next run marks it unknown and sends only the others (nothing twice)."""
    rows = [(n, openid, GOOD) for n, openid in enumerate(OPENIDS[:3], start=2)]
    send = services.template_send(account=account, template=template, rows=rows, by=operator)
    first = Delivery.objects.filter(send=send).order_by("id").first()
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.CALLING)
    services.run_send(send.pk)
    first.refresh_from_db()
    assert first.status == DeliveryStatus.UNKNOWN
    assert sorted(m["touser"] for m in wechat.state(account.appid)["templates"]["sent"]) == OPENIDS[1:3]


def test_templatesendjobfinish_records_each_outcome_once(template, wechat, account, operator, redis_client):
    from messaging.event_hooks import handler_for
    from wechat.messages import parse_message

    rows = [(n, openid, GOOD) for n, openid in enumerate(OPENIDS[:2], start=2)]
    send = services.template_send(account=account, template=template, rows=rows, by=operator)
    services.run_send(send.pk)
    from wechat_sandbox.areas.templates import finish_xml

    handler = handler_for("TEMPLATESENDJOBFINISH")
    for delivery, status in zip(
        Delivery.objects.filter(send=send).order_by("id"), ("success", "failed:user block")
    ):
        xml = finish_xml(to_user="gh_x", openid=delivery.openid, msgid=delivery.msgid, status=status, now=1)
        for _twice in range(2):
            handler(account=account, message=parse_message(xml), now=None)
    assert services.drain_finish_events() == 2
    assert list(Delivery.objects.filter(send=send).order_by("id").values_list("status", flat=True)) == [
        DeliveryStatus.DELIVERED,
        DeliveryStatus.USER_BLOCK,
    ]


def test_staff_without_the_send_permission_cannot_send(template, account):
    from accounts.tests.factories import UserFactory

    finance = UserFactory(groups=["Finance"])
    with pytest.raises(NotificationError, match="may not send"):
        services.template_send(account=account, template=template, openid=OPENIDS[0], data=GOOD, by=finance)


@pytest.mark.parametrize(("status", "name"), list(itertools.product(SendStatus.values, TRANSITIONS)))
def test_every_status_by_every_transition(template, account, operator, status, name):
    """The state table decides: an allowed transition lands on its target, any other is
    refused and changes nothing."""
    send = services.template_send(
        account=account, template=template, openid=OPENIDS[0], data=GOOD, by=operator
    )
    send.__class__.objects.filter(pk=send.pk).update(status=status)
    send.refresh_from_db()
    transition = TRANSITIONS[name]
    if not transition.by_staff:
        moved = services._move(send.pk, name)
        send.refresh_from_db()
        assert moved == (status in transition.sources)
        assert send.status == (transition.target if moved else status)
        return
    if status in transition.sources:
        assert services.send_transition(send=send, name=name, by=operator).status == transition.target
    else:
        with pytest.raises(NotificationError, match="cannot be"):
            services.send_transition(send=send, name=name, by=operator)
        send.refresh_from_db()
        assert send.status == status


def test_the_delivery_log_is_pruned_in_batches_keeping_sends_in_flight(template, account, settings):
    """Deliveries past NOTIFICATIONS_DELIVERY_RETENTION_DAYS go, batch by batch; a pending or
    calling one stays whatever its age; the send keeps its totals; a second run finds nothing."""
    import datetime

    from django.utils import timezone

    from notifications.retention import deliveries_prune

    rows = [(n, f"oOld{n:025d}", GOOD) for n in range(7)]
    old = services.template_send(account=account, template=template, rows=rows, by=None)
    services.run_send(old.pk)
    old.refresh_from_db()
    assert old.sent == 7
    one = {"account": account, "template": template, "data": GOOD, "by": None}
    waiting = services.template_send(openid=OPENIDS[0], **one)
    recent = services.template_send(openid=OPENIDS[1], **one)
    long_ago = timezone.now() - datetime.timedelta(days=200)
    Delivery.objects.filter(send__in=[old, waiting]).update(created_at=long_ago)
    Delivery.objects.filter(send=recent).update(status=DeliveryStatus.DELIVERED)
    settings.NOTIFICATIONS_DELIVERY_RETENTION_DAYS = 0
    assert deliveries_prune() == 0  # 0 keeps everything
    settings.NOTIFICATIONS_DELIVERY_RETENTION_DAYS = 180
    assert deliveries_prune(batch_size=3) == 7
    assert not Delivery.objects.filter(send=old).exists()
    assert Delivery.objects.filter(send=waiting, status=DeliveryStatus.PENDING).count() == 1
    assert Delivery.objects.filter(send=recent).count() == 1
    old.refresh_from_db()
    assert old.sent == 7  # the send keeps its totals
    assert deliveries_prune(batch_size=3) == 0


def test_a_template_add_whose_answer_was_lost_is_read_back_from_wechat(wechat, account, operator):
    """Issue 23 §3: WeChat added it and the answer never came: the list is read back, so the new
    template is here, and staff read that WeChat did not answer rather than a refusal."""
    wechat.force_error("/cgi-bin/template/api_add_template", "lost", times=1, appid=account.appid)
    with pytest.raises(NotificationError, match="read back from WeChat"):
        services.template_add(
            account=account, template_id_short="CATEGORY_0001", keyword_names=["办理事项"], by=operator
        )
    assert Template.objects.filter(account=account).count() == 1  # what WeChat has


def test_a_template_delete_whose_answer_was_lost_ends_deleted_here_too(template, wechat, account, operator):
    """A delete is idempotent: asked again after the lost answer, WeChat says it is gone (40037)."""
    wechat.force_error("/cgi-bin/template/del_private_template", "lost", times=1, appid=account.appid)
    services.template_delete(template=template, by=operator)
    assert wechat.state(account.appid)["templates"]["templates"] == []
    assert not Template.objects.exists()  # gone on WeChat, gone here
