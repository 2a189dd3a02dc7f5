"""Passive reply XML shapes (wechat/replies.py) and the hardened parser (wechat/messages.py)."""

import pytest

from wechat.messages import (
    EventMessage,
    KfSessionEvent,
    MessageParseError,
    TextMessage,
    parse_message,
    parse_xml,
)
from wechat.replies import Article, describe_reply, news_reply, text_reply, transfer_reply


def test_transfer_reply_without_kf_account_has_no_transinfo_r_kf_03():
    xml = transfer_reply(to_user="oUser", from_user="gh_abc", create_time=1399197672)
    assert xml == (
        "<xml><ToUserName><![CDATA[oUser]]></ToUserName>"
        "<FromUserName><![CDATA[gh_abc]]></FromUserName>"
        "<CreateTime>1399197672</CreateTime>"
        "<MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>"
    )


def test_transfer_reply_with_kf_account_names_the_agent_r_kf_03():
    xml = transfer_reply(to_user="oUser", from_user="gh_abc", kf_account="test1@test", create_time=1399197672)
    data = parse_xml(xml)
    assert data["MsgType"] == "transfer_customer_service"
    assert data["TransInfo"] == {"KfAccount": "test1@test"}
    assert describe_reply(xml) == {"type": "transfer_customer_service", "kf_account": "test1@test"}


def test_text_reply_cannot_be_broken_out_of_cdata():
    xml = text_reply(to_user="o", from_user="gh", content="a]]><MsgType>news</MsgType>", create_time=1)
    data = parse_xml(xml)
    assert data["Content"] == "a]]><MsgType>news</MsgType>"
    assert data["MsgType"] == "text"


def test_news_reply_has_exactly_one_article():
    xml = news_reply(
        to_user="o",
        from_user="gh",
        create_time=1,
        article=Article(title="T", description="D", url="https://e.com", pic_url="https://e.com/p.jpg"),
    )
    data = parse_xml(xml)
    assert data["ArticleCount"] == "1"
    assert data["Articles"]["item"]["PicUrl"] == "https://e.com/p.jpg"
    assert describe_reply(xml)["title"] == "T"


def test_describe_reply_of_success_is_none():
    assert describe_reply("success") is None
    assert describe_reply("") is None


def test_parse_text_message_and_dedupe_key():
    message = parse_message(
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName>"
        "<FromUserName><![CDATA[o1]]></FromUserName>"
        "<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[this is a test]]></Content>"
        "<MsgId>1234567890123456</MsgId></xml>"
    )
    assert isinstance(message, TextMessage)
    assert message.content == "this is a test"
    assert message.msg_id == 1234567890123456
    assert message.dedupe_key == "msg:1234567890123456"


def test_events_dedupe_on_sender_and_create_time():
    message = parse_message(
        "<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName>"
        "<CreateTime>123</CreateTime><MsgType>event</MsgType>"
        "<Event>CLICK</Event><EventKey>K</EventKey></xml>"
    )
    assert isinstance(message, EventMessage) and message.event_key == "K"
    assert message.dedupe_key == "evt:o1:123:CLICK"


def test_kf_switch_session_event_is_typed():
    message = parse_message(
        "<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName>"
        "<CreateTime>123</CreateTime><MsgType>event</MsgType>"
        "<Event>kf_switch_session</Event><FromKfAccount>a@x</FromKfAccount>"
        "<ToKfAccount>b@x</ToKfAccount></xml>"
    )
    assert isinstance(message, KfSessionEvent)
    assert (message.from_kf_account, message.to_kf_account) == ("a@x", "b@x")


def test_nested_push_blocks_become_dicts_and_lists():
    data = parse_xml(
        "<xml><SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum>a</PicMd5Sum>"
        "</item><item><PicMd5Sum>b</PicMd5Sum></item></PicList></SendPicsInfo></xml>"
    )
    assert data["SendPicsInfo"]["PicList"]["item"] == [{"PicMd5Sum": "a"}, {"PicMd5Sum": "b"}]


@pytest.mark.parametrize(
    "body",
    [
        '<!DOCTYPE xml [<!ENTITY a "b">]><xml><A>&a;</A></xml>',
        '<?xml version="1.0"?><!doctype xml SYSTEM "http://evil/x.dtd"><xml/>',
        "<xml><A>1</A>",
        "<root><A>1</A></root>",
        "<xml>" + "<a>" * 10 + "</a>" * 10 + "</xml>",
        "<xml>" + "<a>1</a>" * 300 + "</xml>",
        "",
    ],
)
def test_hostile_or_odd_documents_are_refused(body):
    with pytest.raises(MessageParseError):
        parse_xml(body)


@pytest.mark.parametrize(
    "body",
    [
        "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
        "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><MsgType>text</MsgType></xml>",
        (
            "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>x</CreateTime>"
            "<MsgType>text</MsgType></xml>"
        ),
        (
            "<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>event</MsgType></xml>"
        ),
    ],
)
def test_pushes_missing_required_fields_are_refused(body):
    with pytest.raises(MessageParseError):
        parse_message(body)
