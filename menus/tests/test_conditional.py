"""Conditional (personalised) menus: match rules checked like menu/addconditional does,
the set (default + conditional) published, pulled, drift-checked and fanned out as one
menu against the sandbox, menu/trymatch and menu/delconditional from the editor
(docs/wechat-protocol.md §b; R-MENU-01/02 hold for every menu of the set)."""

import json

import pytest
from django.urls import reverse

from accounts.tests.factories import OfficialAccountFactory
from menus import conditional, services
from menus.models import ClickReply, DriftStatus, Menu, MenuAuditEntry, VersionStatus
from menus.tasks import publish_version
from wechat.api import menus as wechat_menus

pytestmark = pytest.mark.django_db

DEFAULT = {"type": "click", "name": "默认", "key": "D", "reply": "默认回复"}
ANDROID = {"type": "click", "name": "安卓专享", "key": "A", "reply": "安卓用户福利"}
VIP = {"type": "view", "name": "会员中心", "url": "https://vip.example.com/"}
SET = {
    "button": [DEFAULT],
    "conditionalmenu": [
        {"button": [VIP], "matchrule": {"tag_id": "2"}},
        {"button": [ANDROID], "matchrule": {"client_platform_type": "2"}},
    ],
}
USER = "oUser000000000000000000000001"


def issues(data, certified=True):
    return [
        (i.as_dict()["menu"] if hasattr(i, "menu") else None, i.field, i.errcode)
        for i in conditional.validate_set(conditional.normalize_set(data), certified=certified)
    ]


# --- validation -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "field", "errcode"),
    [
        ({}, "matchrule.tag_id", 65304),
        ({"sex": "1"}, "matchrule.sex", 65320),
        ({"tag_id": "2", "language": "zh_CN"}, "matchrule.language", 65320),
        ({"province": "广东"}, "matchrule.province", 65310),
        ({"country": "中国", "city": "广州"}, "matchrule.city", 65311),
        ({"client_platform_type": "7"}, "matchrule.client_platform_type", None),
        ({"tag_id": "vip"}, "matchrule.tag_id", None),
    ],
)
def test_match_rules_are_checked_as_wechat_does(rule, field, errcode):
    data = {"button": [DEFAULT], "conditionalmenu": [{"button": [ANDROID], "matchrule": rule}]}
    assert (0, field, errcode) in issues(data)


def test_each_conditional_menu_is_validated_like_the_default_r_menu_01():
    """R-MENU-01: a conditional menu with four top-level buttons is refused (40016)."""
    four = [{**ANDROID, "key": f"K{i}", "name": f"按钮{i}"} for i in range(4)]
    found = issues(
        {
            "button": [DEFAULT],
            "conditionalmenu": [
                {"button": [ANDROID], "matchrule": {"tag_id": "2"}},
                {"button": four, "matchrule": {"tag_id": "3"}},
            ],
        }
    )
    assert found == [(1, "button", 40016)]
    issue = conditional.validate_set(
        {"button": [DEFAULT], "conditionalmenu": [{"button": four, "matchrule": {"tag_id": "3"}}]},
        certified=True,
    )[0]
    assert issue.as_dict()["location"].startswith("Conditional menu 1")


def test_one_key_means_one_reply_across_the_set_r_menu_02():
    """R-MENU-02: a click key answers with one reply across the default and conditional menus."""
    clash = {
        "button": [DEFAULT],
        "conditionalmenu": [{"button": [{**ANDROID, "key": "D"}], "matchrule": {"tag_id": "2"}}],
    }
    assert (0, "key", None) in issues(clash)
    same = {
        "button": [DEFAULT],
        "conditionalmenu": [{"button": [{**DEFAULT, "name": "也是默认"}], "matchrule": {"tag_id": "2"}}],
    }
    assert issues(same) == []
    assert issues(SET) == []
    assert conditional.set_click_replies(SET) == {"D": "默认回复", "A": "安卓用户福利"}


def test_a_menu_without_conditional_menus_validates_exactly_as_before():
    from menus.validation import validate_menu

    bad = {"button": [{"type": "view", "name": "x", "url": "ftp://a"}]}
    assert [i.as_dict() for i in conditional.validate_set(bad, certified=True)] == [
        i.as_dict() for i in validate_menu(bad, certified=True)
    ]


# --- publishing the set ---------------------------------------------------------------------
def publish(account, user, data, capture):
    services.draft_save(account=account, data=data, by=user)
    with capture():
        version = services.menu_publish(account=account, by=user)
    publish_version.apply(args=[version.pk])
    version.refresh_from_db()
    return version


def test_the_set_is_published_with_addconditional_in_priority_order(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    version = publish(certified_account, operator, SET, django_capture_on_commit_callbacks)
    assert version.status == VersionStatus.PUBLISHED, version.explanation
    state = wechat.sandbox.state(certified_account.appid)
    remote = sorted(state["conditional_menus"], key=lambda m: m["menuid"], reverse=True)
    assert [m["matchrule"] for m in remote] == [{"tag_id": "2"}, {"client_platform_type": "2"}]
    assert "reply" not in json.dumps(remote)
    assert set(ClickReply.objects.filter(account=certified_account).values_list("key", flat=True)) == {
        "D",
        "A",
    }
    assert services.menu_check_drift(account_id=certified_account.pk) == DriftStatus.IN_SYNC

    # someone removes a conditional menu elsewhere: the set drifted
    client = services._client(certified_account)
    wechat_menus.delete_conditional(client, str(remote[0]["menuid"]))
    assert services.menu_check_drift(account_id=certified_account.pk) == DriftStatus.DRIFTED

    # publishing a set without conditional menus removes WeChat's (delconditional)
    again = publish(certified_account, operator, {"button": [DEFAULT]}, django_capture_on_commit_callbacks)
    assert again.status == VersionStatus.PUBLISHED
    state = wechat.sandbox.state(certified_account.appid)
    assert state["conditional_menus"] == []
    assert state["calls"]["/cgi-bin/menu/delconditional"] == 2


def test_an_account_without_conditional_menus_makes_no_extra_call(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    publish(certified_account, operator, {"button": [DEFAULT]}, django_capture_on_commit_callbacks)
    assert set(wechat.sandbox.state(certified_account.appid)["calls"]) - {"/cgi-bin/token"} == {
        "/cgi-bin/menu/create"
    }


def test_a_privacy_rule_is_refused_before_wechat_is_called(wechat, operator, certified_account):
    wechat(certified_account)
    with pytest.raises(services.MenuInvalid) as caught:
        services.draft_save(
            account=certified_account,
            by=operator,
            data={"button": [DEFAULT], "conditionalmenu": [{"button": [ANDROID], "matchrule": {"sex": "2"}}]},
        )
    assert caught.value.issues[0].errcode == 65320
    assert not Menu.objects.filter(account=certified_account, versions__isnull=False).exists()


def test_wechat_refusing_a_conditional_menu_fails_the_version_with_its_code(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    wechat.sandbox.force_error("/cgi-bin/menu/addconditional", 65305, times=5)
    version = publish(certified_account, operator, SET, django_capture_on_commit_callbacks)
    assert (version.status, version.errcode) == (VersionStatus.FAILED, 65305)
    assert "limit" in version.explanation


def test_fan_out_publishes_the_whole_set(wechat, operator, certified_account):
    other = wechat(OfficialAccountFactory(assigned_staff=[operator]))
    fanout = services.fanout_start(data=SET, accounts=[other], by=operator)
    version = fanout.versions.get()
    publish_version.apply(args=[version.pk])
    version.refresh_from_db()
    assert version.status == VersionStatus.PUBLISHED, version.explanation
    assert len(wechat.sandbox.state(other.appid)["conditional_menus"]) == 2


def test_pull_brings_the_conditional_menus_into_the_draft(
    wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    publish(certified_account, operator, SET, django_capture_on_commit_callbacks)
    draft = services.menu_pull(account=certified_account, by=operator)
    assert [m["matchrule"] for m in draft.data["conditionalmenu"]] == [
        {"tag_id": "2"},
        {"client_platform_type": "2"},
    ]
    assert draft.data["conditionalmenu"][1]["button"][0]["reply"] == "安卓用户福利"
    exported = services.wechat_menu_body(draft.data)
    assert exported["conditionalmenu"][0] == {"button": [VIP], "matchrule": {"tag_id": "2"}}


# --- the editor's endpoints -----------------------------------------------------------------
def test_trymatch_tells_which_menu_a_user_sees(
    client, wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    publish(certified_account, operator, SET, django_capture_on_commit_callbacks)
    client.force_login(operator)
    url = reverse("menus:trymatch", args=[certified_account.pk])

    def try_user(user_id):
        return client.post(url, {"user_id": user_id}, content_type="application/json")

    assert try_user(USER).json()["matched"] is None
    wechat.sandbox.set_user(certified_account.appid, USER, client_platform_type="2")
    assert try_user(USER).json()["matched"] == 1
    wechat.sandbox.set_user(certified_account.appid, USER, tag_ids=[2])  # newest wins
    answer = try_user(USER).json()
    assert answer["matched"] == 0 and answer["menu"]["button"][0]["name"] == "会员中心"
    bad = try_user("no such user")
    assert bad.status_code == 400 and bad.json()["errcode"] == 65302  # issue 22 §7: their input
    assert try_user("").status_code == 400


def test_conditional_menus_on_wechat_are_listed_and_deleted_with_confirmation(
    client, wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    wechat(certified_account)
    publish(certified_account, operator, SET, django_capture_on_commit_callbacks)
    client.force_login(operator)
    listed = client.get(reverse("menus:conditional_remote", args=[certified_account.pk])).json()
    assert [m["matchrule"] for m in listed["menus"]] == [{"tag_id": "2"}, {"client_platform_type": "2"}]
    url = reverse("menus:conditional_delete", args=[certified_account.pk])
    menuid = listed["menus"][0]["menuid"]
    unconfirmed = client.post(url, {"menuid": menuid}, content_type="application/json")
    assert unconfirmed.status_code == 400
    assert len(wechat.sandbox.state(certified_account.appid)["conditional_menus"]) == 2
    done = client.post(url, {"menuid": menuid, "confirm": True}, content_type="application/json")
    assert done.status_code == 200 and len(done.json()["menus"]) == 1
    assert MenuAuditEntry.objects.filter(
        account=certified_account, detail=f"menu/delconditional {menuid}"
    ).exists()
    gone = client.post(url, {"menuid": menuid, "confirm": True}, content_type="application/json")
    assert gone.status_code == 400 and gone.json()["errcode"] == 65301  # an unknown menuid: 4xx


def test_conditional_endpoints_are_scoped_to_assigned_accounts(client, operator, wechat):
    stranger = OfficialAccountFactory()
    client.force_login(operator)
    for name in ("trymatch", "conditional_delete"):
        response = client.post(
            reverse(f"menus:{name}", args=[stranger.pk]),
            {"user_id": USER, "menuid": "1", "confirm": True},
            content_type="application/json",
        )
        assert response.status_code == 403
    assert client.get(reverse("menus:conditional_remote", args=[stranger.pk])).status_code == 403
