"""Routing precedence: click → welcome → keywords → transfer (R-MENU-02, R-KF-03) → nothing."""

import datetime
import importlib
import sys

import pytest
from django.utils import timezone

from accounts.tests.factories import OfficialAccountFactory
from messaging.models import Route
from messaging.routing import route_message
from messaging.tests.factories import (
    KeywordRuleFactory,
    KfAccountFactory,
    TransferRuleFactory,
    WelcomeReplyFactory,
)
from messaging.tests.pushes import event_xml, text_xml
from wechat.messages import parse_message

NOW = timezone.make_aware(datetime.datetime(2026, 11, 30, 10, 0))  # noqa: DTZ001 - a Monday, 10:00 Shanghai


def kf_account(**extra):
    """A certified service account with the customer-service plug-in in developer mode."""
    return OfficialAccountFactory(
        kf_enabled=True, developer_mode=True, certified_until=datetime.date(2099, 1, 1), **extra
    )


def route(account, xml):
    return route_message(account=account, message=parse_message(xml), now=NOW)


@pytest.mark.django_db
def test_higher_priority_keyword_rule_wins():
    account = OfficialAccountFactory()
    KeywordRuleFactory(account=account, match_type="contains", pattern="价", reply_text="low", priority=1)
    KeywordRuleFactory(account=account, match_type="contains", pattern="价格", reply_text="high", priority=5)
    decision = route(account, text_xml(account, "价格"))
    assert (decision.route, decision.text) == (Route.KEYWORD, "high")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("match_type", "pattern", "text", "expected"),
    [
        ("exact", "你好", "你好", True),
        ("exact", "你好", " 你好 ", True),
        ("exact", "你好", "你好啊", False),
        ("exact", "Hello", "hello", True),
        ("contains", "优惠", "有什么优惠吗", True),
        ("contains", "优惠", "没有", False),
        ("regex", r"^订单\d{6}$", "订单123456", True),
        ("regex", r"^订单\d{6}$", "订单12345", False),
    ],
)
def test_keyword_match_types(match_type, pattern, text, expected):
    account = OfficialAccountFactory()
    KeywordRuleFactory(account=account, match_type=match_type, pattern=pattern, reply_text="r")
    assert (route(account, text_xml(account, text)).route == Route.KEYWORD) is expected


@pytest.mark.django_db
def test_inactive_keyword_rules_and_other_accounts_rules_are_ignored():
    account = OfficialAccountFactory()
    KeywordRuleFactory(account=account, pattern="你好", is_active=False)
    KeywordRuleFactory(pattern="你好")  # another account's rule
    assert route(account, text_xml(account, "你好")).route == Route.NONE


@pytest.mark.django_db
def test_news_keyword_reply_renders_one_article():
    account = OfficialAccountFactory()
    KeywordRuleFactory(
        account=account,
        pattern="活动",
        reply_type="news",
        news_title="双十一",
        news_description="全场五折",
        news_url="https://example.com/a",
        news_pic_url="https://example.com/a.jpg",
    )
    message = parse_message(text_xml(account, "活动"))
    decision = route_message(account=account, message=message, now=NOW)
    reply = parse_message_reply(decision.render(message))
    assert reply["MsgType"] == "news"
    assert reply["ArticleCount"] == "1"
    assert reply["Articles"]["item"]["Title"] == "双十一"
    assert reply["Articles"]["item"]["Url"] == "https://example.com/a"


def parse_message_reply(xml):
    from wechat.messages import parse_xml

    return parse_xml(xml)


@pytest.mark.django_db
def test_click_uses_the_menu_button_reply_r_menu_02():
    """R-MENU-02: a click event is answered with the published button's reply."""
    from menus.models import ClickReply, Menu, MenuVersion

    account = kf_account()
    version = MenuVersion.objects.create(
        menu=Menu.objects.create(account=account), status="published", data={"button": []}
    )
    ClickReply.objects.create(account=account, key="V1001_PRICE", reply="今日价格：99 元", version=version)
    # A keyword rule or transfer rule that would match the key text must not win.
    KeywordRuleFactory(account=account, match_type="contains", pattern="V1001")
    TransferRuleFactory(account=account, match_type="any", pattern="")
    decision = route(account, event_xml(account, "CLICK", key="V1001_PRICE"))
    assert (decision.route, decision.text) == (Route.CLICK, "今日价格：99 元")


@pytest.mark.django_db
def test_click_with_unknown_key_gets_no_reply():
    account = OfficialAccountFactory()
    assert route(account, event_xml(account, "CLICK", key="NOPE")).route == Route.NONE


def test_a_broken_click_reply_provider_stops_the_import_instead_of_answering_success_r_menu_02(
    monkeypatch,
):
    """R-MENU-02 (issue 16): routing reads menus.selectors.click_reply_for with a plain import,
    so a broken or missing provider fails loudly at start-up; it used to be swallowed, and
    every click was answered with `success`."""
    monkeypatch.setitem(sys.modules, "menus.selectors", None)  # importing it now raises ImportError
    monkeypatch.delitem(sys.modules, "messaging.routing")  # restored after the test
    with pytest.raises(ImportError):
        importlib.import_module("messaging.routing")


@pytest.mark.django_db
def test_subscribe_gets_the_welcome_reply():
    account = OfficialAccountFactory()
    WelcomeReplyFactory(account=account, reply_text="感谢关注！")
    decision = route(account, event_xml(account, "subscribe"))
    assert (decision.route, decision.text) == (Route.WELCOME, "感谢关注！")


@pytest.mark.django_db
def test_keyword_rule_beats_transfer_rule():
    account = kf_account()
    KeywordRuleFactory(account=account, match_type="contains", pattern="人工", reply_text="请稍候")
    TransferRuleFactory(account=account, match_type="contains", pattern="人工")
    assert route(account, text_xml(account, "转人工")).route == Route.KEYWORD


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("keyword_priority", "transfer_priority", "expected"),
    [
        (1, 5, Route.TRANSFER),  # the higher priority answers, whatever the kind of rule
        (5, 5, Route.KEYWORD),  # a tie goes to the keyword rule
        (6, 5, Route.KEYWORD),
    ],
)
def test_keyword_and_transfer_rules_share_one_priority_order_r_kf_03(
    keyword_priority, transfer_priority, expected
):
    """R-KF-03, issue 12: one documented order, shown in the rules' admin."""
    account = kf_account()
    KeywordRuleFactory(
        account=account, match_type="contains", pattern="人工", reply_text="请稍候", priority=keyword_priority
    )
    TransferRuleFactory(account=account, match_type="contains", pattern="人工", priority=transfer_priority)
    TransferRuleFactory(
        account=account, match_type="exact", pattern="别的", priority=99
    )  # higher but not matching: no effect
    assert route(account, text_xml(account, "转人工")).route == expected


@pytest.mark.django_db
def test_transfer_rule_without_kf_account_r_kf_03():
    """R-KF-03: a matching user message is handed to customer service."""
    account = kf_account()
    TransferRuleFactory(account=account, match_type="contains", pattern="人工")
    decision = route(account, text_xml(account, "我要人工服务"))
    assert decision.route == Route.TRANSFER
    assert decision.kf_account == ""


@pytest.mark.django_db
def test_transfer_rule_with_a_named_agent_r_kf_03():
    account = kf_account()
    agent = KfAccountFactory(account=account, kf_account=f"alice@{account.wechat_id}")
    TransferRuleFactory(account=account, match_type="exact", pattern="人工", kf_account=agent)
    decision = route(account, text_xml(account, "人工"))
    assert (decision.route, decision.kf_account) == (Route.TRANSFER, agent.kf_account)


@pytest.mark.django_db
def test_events_are_never_transferred_r_kf_03():
    account = kf_account()
    TransferRuleFactory(account=account, match_type="any", pattern="")
    for event in ("subscribe", "CLICK", "VIEW", "LOCATION", "unsubscribe"):
        assert route(account, event_xml(account, event, key="x")).route == Route.NONE


@pytest.mark.django_db
def test_image_messages_are_transferred_by_any_rules_only():
    account = kf_account()
    TransferRuleFactory(account=account, match_type="contains", pattern="人工")
    image = (
        f"<xml><ToUserName>{account.original_id}</ToUserName><FromUserName>o1</FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType>image</MsgType>"
        "<PicUrl>http://x/y.jpg</PicUrl><MediaId>m</MediaId><MsgId>5</MsgId></xml>"
    )
    assert route(account, image).route == Route.NONE
    TransferRuleFactory(account=account, match_type="any", pattern="")
    assert route(account, image).route == Route.TRANSFER


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"kf_enabled": False}, "plug-in off"),
        ({"developer_mode": False}, "not in developer mode"),
        ({"certified_until": datetime.date(2020, 1, 1)}, "certification expired (R-KF-01)"),
        ({"account_type": "subscription"}, "subscription account (R-KF-01)"),
    ],
)
def test_no_transfer_unless_plugin_on_developer_mode_and_certified_service(changes, why):
    account = kf_account()
    TransferRuleFactory(account=account, match_type="any", pattern="")
    for field, value in changes.items():
        setattr(account, field, value)
    account.save()
    assert route(account, text_xml(account, "人工")).route == Route.NONE, why


@pytest.mark.django_db
@pytest.mark.parametrize(("hour", "expected"), [(8, True), (10, False), (19, True), (23, True)])
def test_outside_office_hours_rule_transfers_everything_at_night(hour, expected):
    account = kf_account()
    TransferRuleFactory(
        account=account,
        match_type="any",
        pattern="",
        active_from=datetime.time(18, 0),
        active_until=datetime.time(9, 0),
    )
    moment = timezone.make_aware(datetime.datetime(2026, 11, 30, hour, 0))  # noqa: DTZ001 - made aware here
    decision = route_message(account=account, message=parse_message(text_xml(account, "在吗")), now=moment)
    assert (decision.route == Route.TRANSFER) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[abc", "a [ … ] set is not closed (at character 1)"),
        ("(ab", "a ( is not closed (at character 1)"),
        ("*a", "*, + or ? follows nothing (at character 1)"),
    ],
)
def test_regex_errors_are_said_in_words_not_pythons_message(pattern, expected):
    """RE2's error text is English in every language; the rule form says it in ours."""
    from django.utils import translation

    from messaging.models import validate_pattern

    message = validate_pattern("regex", pattern)["pattern"].messages[0]
    assert expected in message
    with translation.override("zh-hans"):
        chinese = validate_pattern("regex", pattern)["pattern"].messages[0]
    assert "第 1 个字符" in chinese and "set" not in chinese
