"""The menu validator (R-MENU-01, R-MENU-02): table tests, pointers, translation, normalising."""

import pytest
from django.utils import translation

from menus.validation import (
    click_replies,
    normalize_menu,
    validate_menu,
)

from .menu_cases import CASES, CLICK, VIEW, one, sub


@pytest.mark.parametrize(
    ("menu", "certified", "errcode"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_validator_rejects_with_the_wechat_errcode_it_prevents(menu, certified, errcode):
    """R-MENU-01/R-MENU-02: every WeChat rule is checked and names its errcode."""
    issues = validate_menu(menu, certified=certified)
    if errcode is None:
        assert issues == []
    else:
        assert errcode in {issue.errcode for issue in issues}, [str(i) for i in issues]


def test_every_case_of_the_rule_table_is_listed_once():
    """The table is consumed by the validator and the sandbox tests: a pasted copy adds
    nothing but run time (issue 16), so neither a name nor a menu may repeat."""
    names = [case[0] for case in CASES]
    assert len(names) == len(set(names))
    menus = [repr(case[1:]) for case in CASES]
    assert len(menus) == len(set(menus))


def test_r_menu_01_at_most_three_top_level_buttons_and_five_sub_buttons():
    four = {"button": [CLICK, VIEW, {**CLICK, "key": "b"}, {**CLICK, "key": "c"}]}
    assert [i.errcode for i in validate_menu(four, certified=True)] == [40016]
    six = {"button": [{"name": "父", "sub_button": [{**CLICK, "key": f"k{i}"} for i in range(6)]}]}
    assert [i.errcode for i in validate_menu(six, certified=True)] == [40023]


def test_error_points_at_the_exact_sub_button_and_field():
    menu = {
        "button": [
            CLICK,
            {"name": "父", "sub_button": [VIEW, {**VIEW, "name": "坏", "url": "javascript:alert(1)"}]},
        ]
    }
    [issue] = validate_menu(menu, certified=True)
    assert issue.path == (1, 1)
    assert issue.field == "url"
    assert issue.dotted == "button[1].sub_button[1]"
    assert issue.location == "Button 2 › Sub-button 2"
    assert "40054" in str(issue)


def test_byte_lengths_are_utf8_not_characters():
    """Six Chinese characters are 18 bytes: over the 16-byte top-level limit."""
    [issue] = validate_menu(one({**CLICK, "name": "一二三四五六"}), certified=True)
    assert issue.errcode == 40018
    assert "18 bytes" in issue.message


def test_messages_are_translated_into_chinese():
    with translation.override("zh-hans"):
        [issue] = validate_menu(one({**CLICK, "name": "一二三四五六"}), certified=True)
        text = str(issue)
    assert "字节" in text and "40018" in text


def test_keys_must_be_unique_within_the_menu():
    """R-MENU-02: a click key identifies its reply, so keys are unique in a menu."""
    menu = {"button": [CLICK, {"name": "父", "sub_button": [dict(CLICK)]}]}
    [issue] = validate_menu(menu, certified=True)
    assert issue.path == (1, 0) and issue.field == "key" and issue.errcode is None


def test_not_a_menu_at_all_is_rejected():
    assert validate_menu([], certified=True)[0].errcode == 40016
    assert validate_menu({"button": "x"}, certified=True)[0].errcode == 40016


def test_button_with_both_type_and_sub_buttons_is_rejected():
    menu = {"button": [{**CLICK, "sub_button": [VIEW]}]}
    assert 40017 in [i.errcode for i in validate_menu(menu, certified=True)]


def test_normalize_generates_unique_keys_for_blank_ones_and_drops_stale_fields():
    """R-MENU-02: keys are generated when left blank and unique within the menu."""
    menu = {
        "button": [
            {"type": "click", "name": " 甲 ", "key": "", "url": "https://left.over/"},
            {
                "name": "父",
                "sub_button": [
                    {"type": "click", "name": "乙"},
                    {"type": "scancode_push", "name": "丙", "key": ""},
                ],
            },
            {"type": "view", "name": "丁", "url": "https://a.cn", "sub_button": [], "key": "x"},
        ]
    }
    out = normalize_menu(menu)
    keys = [
        out["button"][0]["key"],
        out["button"][1]["sub_button"][0]["key"],
        out["button"][1]["sub_button"][1]["key"],
    ]
    assert all(keys) and len(set(keys)) == 3
    assert out["button"][0]["name"] == "甲"
    assert "url" not in out["button"][0]
    assert out["button"][2] == {"type": "view", "name": "丁", "url": "https://a.cn"}
    assert validate_menu(out, certified=True) == []


def test_normalize_accepts_the_selfmenu_sub_button_list_shape():
    menu = {"button": [{"name": "父", "sub_button": {"list": [dict(CLICK)]}}]}
    out = normalize_menu(menu)
    assert out["button"][0]["sub_button"] == [CLICK]


def test_click_replies_maps_keys_to_reply_text():
    menu = sub({**CLICK, "reply": "你好"})
    assert click_replies(menu) == {"V1001_TODAY_MUSIC": "你好"}
