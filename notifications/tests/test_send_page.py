"""The admin send page (issue 26): one follower, a tag, a CSV whose bad rows are listed and
kept for confirmation; the daily quota shown; other tenants' templates neither offered nor
accepted; staff without the send permission refused."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from notifications import services
from notifications.models import Delivery, Send, SendStatus, Template

OPENIDS = [f"oUser{n:024d}" for n in range(1, 4)]
URL = "/admin/notifications/send/add/"


@pytest.fixture
def template(account):
    return Template.objects.create(
        account=account,
        template_id="tpl_page",
        title="订单发货通知",
        content="{{character_string1.DATA}}{{thing2.DATA}}",
        keywords=[["character_string1", "character_string"], ["thing2", "thing"]],
    )


@pytest.fixture
def staff(client, operator):
    client.force_login(operator)
    return client


def test_the_add_url_is_the_send_page_and_shows_the_daily_quota(staff, template, settings, redis_client):
    settings.NOTIFICATIONS_DAILY_QUOTA = 12345
    assert reverse("admin:notifications_send_add") == URL
    page = staff.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = page.content.decode()
    assert page.status_code == 200
    assert "12345" in text and "每天" in text
    assert "订单发货通知" in text and "character_string1, thing2" in text


def test_one_follower_is_queued_with_the_values_given(staff, template, redis_client):
    response = staff.post(
        URL,
        {
            "template": template.pk,
            "target_kind": "one",
            "openid": OPENIDS[0],
            "values": "character_string1=SN-1\nthing2=蓝色保温杯",
            "url": "https://example.cn/o/1",
        },
    )
    send = Send.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "admin:notifications_send_change", args=[send.pk]
    )
    assert (send.status, send.total, send.url) == (SendStatus.QUEUED, 1, "https://example.cn/o/1")
    assert Delivery.objects.get().openid == OPENIDS[0]
    assert send.data == {"character_string1": "SN-1", "thing2": "蓝色保温杯"}


def test_a_value_breaking_wechats_rules_is_shown_and_nothing_is_created(staff, template, redis_client):
    response = staff.post(
        URL,
        {
            "template": template.pk,
            "target_kind": "tag",
            "tag_id": "101",
            "values": "character_string1=SN-1\nthing2=这是一个超过二十个字符的商品名称一二三四五六",
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    assert "thing2" in response.content.decode() and "长度" in response.content.decode()
    assert not Send.objects.exists()


def test_a_csv_with_bad_rows_lists_them_and_waits_for_confirmation(staff, template, operator, redis_client):
    csv_text = (
        "openid,character_string1,thing2\n"
        f"{OPENIDS[0]},SN-1,杯子\n"
        "not an openid,SN-2,杯子\n"
        f"{OPENIDS[1]},SN-3,茶壶\n"
    )
    upload = SimpleUploadedFile("to.csv", csv_text.encode(), content_type="text/csv")
    response = staff.post(URL, {"template": template.pk, "target_kind": "csv", "csv_file": upload})
    send = Send.objects.get()
    assert response.status_code == 302
    assert send.status == SendStatus.AWAITING_CONFIRMATION and send.total == 2
    assert [row for row, _why in send.bad_rows] == [3]
    page = staff.get(response.url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "第 3 行" in page
    services.send_transition(send=send, name="confirm", by=operator)
    send.refresh_from_db()
    assert send.status == SendStatus.QUEUED


def test_a_csv_with_no_good_row_creates_nothing(staff, template, redis_client):
    upload = SimpleUploadedFile("to.csv", b"openid,character_string1,thing2\nbad id,SN,x\n")
    response = staff.post(URL, {"template": template.pk, "target_kind": "csv", "csv_file": upload})
    assert response.status_code == 200 and not Send.objects.exists()


def test_the_chosen_kind_needs_its_recipients(staff, template, redis_client):
    response = staff.post(URL, {"template": template.pk, "target_kind": "one", "values": "thing2=x"})
    assert response.status_code == 200 and not Send.objects.exists()


def test_another_tenants_template_is_neither_offered_nor_accepted(staff, template, redis_client):
    other = Template.objects.create(
        account=OfficialAccountFactory(),
        template_id="tpl_other",
        title="别家模板",
        keywords=[["thing1", "thing"]],
    )
    assert "别家模板" not in staff.get(URL).content.decode()
    response = staff.post(
        URL, {"template": other.pk, "target_kind": "one", "openid": OPENIDS[0], "values": "thing1=x"}
    )
    assert response.status_code == 200 and not Send.objects.exists()


def test_staff_without_the_send_permission_are_refused(client, account, template, redis_client):
    viewer = UserFactory(is_staff=True)
    account.assigned_staff.add(viewer)
    client.force_login(viewer)
    assert client.get(URL).status_code == 403
    response = client.post(
        URL, {"template": template.pk, "target_kind": "one", "openid": OPENIDS[0], "values": "thing2=x"}
    )
    assert response.status_code == 403 and not Send.objects.exists()


def test_a_template_delete_wechat_refuses_keeps_it_and_says_why(client, wechat, account, operator):
    """The admin's delete, after its confirmation page: WeChat refuses (45009 here), so the
    template stays, on WeChat and here, and the page says why."""
    from accounts.wechat_api import client_for
    from wechat.api import templates as wx

    wx.add_template(client_for(account), "OPENTM200000001")
    services.templates_sync(account=account, by=None)
    template = Template.objects.get(account=account)
    client.force_login(operator)
    url = reverse("admin:notifications_template_delete", args=[template.pk])
    assert client.get(url).status_code == 200  # the confirmation page
    wechat.force_error("/cgi-bin/template/del_private_template", 45009, times=1)
    response = client.post(url, {"post": "yes"}, follow=True, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 200 and "微信拒绝" in response.content.decode()
    assert Template.objects.filter(pk=template.pk).exists()
    assert len(wechat.state(account.appid)["templates"]["templates"]) == 1
    client.post(url, {"post": "yes"})
    assert not Template.objects.filter(pk=template.pk).exists()
    assert wechat.state(account.appid)["templates"]["templates"] == []


def test_a_chosen_template_gets_one_input_per_keyword_with_wechats_rule(staff, template, redis_client):
    page = staff.get(URL + f"?template={template.pk}", HTTP_ACCEPT_LANGUAGE="zh-hans")
    text = page.content.decode()
    assert 'name="kw_character_string1"' in text and 'name="kw_thing2"' in text
    assert 'name="values"' not in text
    assert 'maxlength="20"' in text  # thing: 20 characters
    assert "最多 20 个字符" in text  # the rule for a thing, in Chinese
    assert "notifications/send.js" in text
    # before a template is chosen: the name=value lines and a hint
    plain = staff.get(URL).content.decode()
    assert 'name="values"' in plain and 'name="kw_thing2"' not in plain


def test_the_keyword_inputs_make_the_values_and_each_rule_is_checked(staff, template, redis_client):
    base = {"template": template.pk, "target_kind": "one", "openid": OPENIDS[0]}
    refused = staff.post(URL, {**base, "kw_character_string1": "SN-1", "kw_thing2": ""})
    assert refused.status_code == 200 and not Send.objects.exists()
    assert "thing2" in refused.content.decode()
    too_long = staff.post(URL, {**base, "kw_character_string1": "SN-1", "kw_thing2": "一" * 21})
    assert too_long.status_code == 200 and not Send.objects.exists()
    sent = staff.post(URL, {**base, "kw_character_string1": "SN-1", "kw_thing2": "蓝色保温杯"})
    assert sent.status_code == 302
    assert Send.objects.get().data == {"character_string1": "SN-1", "thing2": "蓝色保温杯"}


def test_the_delivery_log_search_is_exact_and_by_kind(staff, template, redis_client):
    """An OpenID (case-sensitive, as WeChat's), a msgid or a template ID, each exactly."""
    send = services.template_send(
        account=template.account,
        template=template,
        rows=[
            (2, OPENIDS[0], {"character_string1": "SN-1", "thing2": "杯子"}),
            (3, OPENIDS[1], {"character_string1": "SN-2", "thing2": "杯子"}),
        ],
        by=None,
    )
    Delivery.objects.filter(send=send, openid=OPENIDS[0]).update(msgid=3000000123)

    def found(term):
        page = staff.get(f"/admin/notifications/delivery/?q={term}")
        assert page.status_code == 200
        return sorted(d.openid for d in page.context["cl"].result_list)

    assert found(OPENIDS[1]) == [OPENIDS[1]]
    assert found(OPENIDS[1].upper()) == []
    assert found("3000000123") == [OPENIDS[0]]
    assert found("tpl_page") == sorted(OPENIDS[:2])
    assert found("nobody-at-all") == []


def test_the_delivery_log_is_newest_first_without_sort_links(staff, template, redis_client):
    """The log grows to millions of rows: newest first only (the (…, id) indexes), no header sort
    links (Unfold rebuilt them for every row: half the page's time), and a sort asked for in the
    URL is ignored rather than sorting the whole log."""
    services.template_send(
        account=template.account,
        template=template,
        rows=[
            (n + 2, openid, {"character_string1": "SN-1", "thing2": "杯子"})
            for n, openid in enumerate(OPENIDS)
        ],
        by=None,
    )
    page = staff.get("/admin/notifications/delivery/")
    assert page.status_code == 200
    assert "?o=" not in page.content.decode()
    sorted_by_openid = staff.get("/admin/notifications/delivery/?o=1")
    ids = [d.pk for d in sorted_by_openid.context["cl"].result_list]
    assert ids == sorted(ids, reverse=True)
