"""The template-message client area (wechat/api/templates.py) against the sandbox over
loopback HTTP: templates listed, added (a category template by keyword names), deleted; the
industry; a message sent; a tag's members page by page; the value rules (§h)."""

import pytest

from wechat.api import templates as wx
from wechat.errors import WeChatError
from wechat.tests.conftest import APPID
from wechat.tests.test_client import make_client

OPENID = "oUser000000000000000000000001"
GOOD = {"character_string1": "SN-2024-001", "thing2": "蓝色保温杯", "time3": "2024年5月1日 15:01"}


@pytest.fixture
def client(sb, redis_client):
    return make_client(sb, redis_client)


def test_a_library_template_is_added_listed_and_its_keywords_parsed(client):
    template_id = wx.add_template(client, "OPENTM200000001")
    [listed] = wx.list_templates(client)
    assert listed["template_id"] == template_id and listed["title"] == "订单发货通知"
    assert wx.keywords_of(listed["content"]) == [
        ("character_string1", "character_string"),
        ("thing2", "thing"),
        ("time3", "time"),
    ]


def test_a_category_template_takes_its_keyword_names_and_refuses_unknown_ones(client):
    template_id = wx.add_template(client, "CATEGORY_0001", ["办理事项", "受理编号"])
    content = {t["template_id"]: t["content"] for t in wx.list_templates(client)}[template_id]
    assert wx.keywords_of(content) == [("thing1", "thing"), ("character_string2", "character_string")]
    with pytest.raises(WeChatError) as caught:
        wx.add_template(client, "CATEGORY_0001", ["乱写"])
    assert caught.value.errcode == 40246


def test_an_unknown_library_number_is_refused(client, sb):
    with pytest.raises(WeChatError) as caught:
        wx.add_template(client, "OPENTM999999999")
    assert caught.value.errcode == 40037
    assert sb.state(APPID)["templates"]["templates"] == []


def test_a_template_is_deleted_and_a_delete_wechat_refuses_raises_and_keeps_it(client, sb):
    template_id = wx.add_template(client, "OPENTM200000002")
    sb.force_error("/cgi-bin/template/del_private_template", 45009, times=1)
    with pytest.raises(WeChatError) as caught:
        wx.delete_template(client, template_id)
    assert caught.value.errcode == 45009
    assert [t["template_id"] for t in wx.list_templates(client)] == [template_id]
    wx.delete_template(client, template_id)
    assert wx.list_templates(client) == []
    with pytest.raises(WeChatError) as caught:  # already gone: WeChat answers 40037
        wx.delete_template(client, template_id)
    assert caught.value.errcode == 40037


def test_the_industry_has_two_parts(client):
    industry = wx.get_industry(client)
    assert industry["primary_industry"] == {"first_class": "IT科技", "second_class": "互联网|电子商务"}
    assert set(industry["secondary_industry"]) == {"first_class", "second_class"}


def test_a_message_is_sent_once_with_its_link_and_answers_a_msgid(client, sb):
    template_id = wx.add_template(client, "OPENTM200000001")
    msgid = wx.send(client, touser=OPENID, template_id=template_id, data=GOOD, url="https://example.cn/o/1")
    [sent] = sb.state(APPID)["templates"]["sent"]
    assert (sent["msgid"], sent["touser"], sent["url"], sent["data"]) == (
        msgid,
        OPENID,
        "https://example.cn/o/1",
        GOOD,
    )


def test_a_send_that_times_out_is_not_retried(client, sb):
    """message/template/send is not idempotent: after a lost answer the client gives up
    rather than risk a second message."""
    template_id = wx.add_template(client, "OPENTM200000001")
    sb.force_error("/cgi-bin/message/template/send", "drop", times=1)
    with pytest.raises(WeChatError):
        wx.send(client, touser=OPENID, template_id=template_id, data=GOOD)
    assert sb.state(APPID)["templates"]["sent_count"] == 0


@pytest.mark.parametrize(
    ("data", "errcode"),
    [
        ({**GOOD, "thing2": "这是一个超过二十个字符的商品名称一二三四五六"}, 47003),
        ({"character_string1": "SN-1", "time3": "15:01"}, 47003),
    ],
)
def test_wechat_refuses_values_breaking_its_rules(client, data, errcode):
    template_id = wx.add_template(client, "OPENTM200000001")
    with pytest.raises(WeChatError) as caught:
        wx.send(client, touser=OPENID, template_id=template_id, data=data)
    assert caught.value.errcode == errcode


def test_tag_members_are_read_page_after_page(client, sb):
    import requests

    openids = [f"oUser{n:024d}" for n in range(10_005)]
    requests.post(f"{sb.base_url}/sandbox/templates/{APPID}/tag", json={"tag_id": 7, "openids": openids})
    assert list(wx.tag_members(client, 7)) == openids
    with pytest.raises(WeChatError) as refused:  # a tag the account does not have
        list(wx.tag_members(client, 8))
    assert refused.value.errcode == 45159


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("thing", "一" * 20, None),
        ("thing", "一" * 21, "too_long"),
        ("number", "12.5", None),
        ("number", "12a", "format"),
        ("letter", "abc", None),
        ("letter", "ab1", "format"),
        ("symbol", "%$", None),
        ("symbol", "%$%$%$", "too_long"),
        ("character_string", "A-1_" * 8, None),
        ("character_string", "A" * 33, "too_long"),
        ("time", "15:01", None),
        ("time", "2024年5月1日 15:01", None),
        ("time", "明天", "format"),
        ("date", "2024年5月1日", None),
        ("date", "2024-05-01 ~ 2024-05-03", None),
        ("date", "下周", "format"),
        ("amount", "￥12.50元", None),
        ("amount", "十二元", "format"),
        ("phone_number", "+86-10-12345678", None),
        ("phone_number", "1" * 18, "too_long"),
        ("car_number", "粤A12345", None),
        ("car_number", "粤A1234567", "too_long"),
        ("name", "张三", None),
        ("name", "张" * 11, "too_long"),
        ("phrase", "配送中", None),
        ("phrase", "配送中了吗啊", "too_long"),
        ("phrase", "abc", "format"),
        ("thing", "", "empty"),
        ("thing", "一\n二", "format"),
    ],
)
def test_keyword_rules_per_kind(kind, value, problem):
    assert wx.keyword_problem(kind, value) == problem
