"""The one WeChat exception type: codes, suffix stripping, temporariness, explanations."""

import pickle

from django.utils import translation

from wechat.errors import ERR_NETWORK, WeChatError, clean_errmsg, explain


def test_rid_and_hint_suffixes_are_stripped_from_errmsg():
    assert clean_errmsg("invalid appid rid: 6513aa28-57d848c6-68a55827") == "invalid appid"
    assert clean_errmsg("api freq out of limit hint: [Xc4Rza0012ge21]") == "api freq out of limit"
    err = WeChatError(40164, "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: 65")
    assert err.errmsg == "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist"


def test_system_busy_minute_quota_and_network_errors_are_temporary():
    assert WeChatError(-1, "system error").temporary
    assert WeChatError(45011, "api minute-quota reach limit").temporary
    assert WeChatError(ERR_NETWORK, "ConnectionError").temporary


def test_daily_quota_45009_is_not_temporary():
    assert not WeChatError(45009, "reach max api daily quota limit").temporary


def test_whitelist_and_wrong_secret_explanations_say_what_to_do():
    assert "whitelist" in explain(40164)
    assert "AppSecret" in explain(40125)
    assert "quota" in WeChatError(45009).explanation


def test_unknown_code_gets_a_generic_explanation_naming_it():
    assert "99999" in explain(99999)


def test_explanations_are_translated_to_simplified_chinese():
    with translation.override("zh-hans"):
        assert "白名单" in explain(40164)


def test_error_survives_pickling_for_celery():
    err = pickle.loads(pickle.dumps(WeChatError(45009, "quota", api="/cgi-bin/menu/create")))
    assert (err.errcode, err.errmsg, err.temporary) == (45009, "quota", False)
    assert err.api == "/cgi-bin/menu/create"
