"""The editor page and its JSON endpoints: drafts, validation, import/export, copy, access."""

import json

import pytest
from django.urls import reverse

from accounts.tests.factories import OfficialAccountFactory
from menus.models import MenuAuditEntry, MenuVersion, VersionStatus

from .menu_cases import CLICK, VALID_MENU, VIEW

pytestmark = pytest.mark.django_db


def post(client, name, account, body):
    return client.post(
        reverse(f"menus:{name}", args=[account.pk]), json.dumps(body), content_type="application/json"
    )


def test_editor_page_shows_phone_preview_and_config(client, operator, certified_account):
    client.force_login(operator)
    response = client.get(reverse("admin:menus_menu_editor", args=[certified_account.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="phone-preview"' in html
    assert "menus/editor.js" in html
    assert certified_account.appsecret not in html
    assert certified_account.server_token not in html


def test_editor_of_an_unassigned_account_is_forbidden(client, operator):
    theirs = OfficialAccountFactory()
    client.force_login(operator)
    assert client.get(reverse("admin:menus_menu_editor", args=[theirs.pk])).status_code == 403
    assert post(client, "save_draft", theirs, {"menu": VALID_MENU}).status_code == 403
    assert post(client, "publish", theirs, {}).status_code == 403
    assert not MenuVersion.objects.exists()


def test_save_draft_generates_blank_keys_and_records_audit(client, operator, certified_account):
    """R-MENU-02: keys are generated when left blank."""
    client.force_login(operator)
    menu = {"button": [{"type": "click", "name": "你好", "key": "", "reply": "欢迎"}]}
    response = post(client, "save_draft", certified_account, {"menu": menu})
    assert response.status_code == 200, response.content
    draft = MenuVersion.objects.get(menu__account=certified_account, status=VersionStatus.DRAFT)
    assert draft.data["button"][0]["key"].startswith("MENU_")
    assert draft.data["button"][0]["reply"] == "欢迎"
    assert MenuAuditEntry.objects.filter(account=certified_account, action="save_draft").exists()
    # saving again updates the one draft
    post(client, "save_draft", certified_account, {"menu": VALID_MENU})
    assert MenuVersion.objects.filter(menu__account=certified_account).count() == 1


def test_invalid_draft_is_refused_with_pointer_and_errcode(client, operator, certified_account):
    client.force_login(operator)
    menu = {"button": [CLICK, {"name": "父", "sub_button": [{**VIEW, "url": "ftp://x.cn"}]}]}
    response = post(client, "save_draft", certified_account, {"menu": menu})
    assert response.status_code == 400
    [issue] = response.json()["issues"]
    assert issue["pointer"] == "button[1].sub_button[0]"
    assert issue["errcode"] == 40054
    assert not MenuVersion.objects.exists()


def test_validate_endpoint_answers_issues_without_writing(client, operator, uncertified_account):
    client.force_login(operator)
    menu = {
        "button": [
            {
                "type": "miniprogram",
                "name": "小程序",
                "url": "https://a.cn",
                "appid": "wx286b93c14bbf93aa",
                "pagepath": "pages/index",
            }
        ]
    }
    response = post(client, "validate", uncertified_account, {"menu": menu})
    assert response.status_code == 200
    assert [i["errcode"] for i in response.json()["issues"]] == [40119]
    assert not MenuVersion.objects.exists()


def test_bad_json_body_is_a_clear_error(client, operator, certified_account):
    client.force_login(operator)
    response = client.post(
        reverse("menus:save_draft", args=[certified_account.pk]), "{nope", content_type="application/json"
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]


def test_discard_draft_returns_to_empty(client, operator, certified_account):
    client.force_login(operator)
    post(client, "save_draft", certified_account, {"menu": VALID_MENU})
    response = post(client, "discard_draft", certified_account, {})
    assert response.status_code == 200
    assert response.json()["state"]["working"] == {"button": []}
    assert not MenuVersion.objects.exists()


def test_import_then_export_round_trips_wechat_json(client, operator, certified_account):
    client.force_login(operator)
    text = json.dumps({"menu": {"button": [{**CLICK, "sub_button": []}, VIEW], "menuid": 1}})
    response = post(client, "import", certified_account, {"json": text})
    assert response.status_code == 200, response.content
    exported = client.get(reverse("menus:export", args=[certified_account.pk]))
    assert exported["Content-Disposition"].startswith("attachment")
    assert json.loads(exported.content) == {"button": [CLICK, VIEW]}


def test_import_of_invalid_json_names_the_problem(client, operator, certified_account):
    from django.conf import settings

    client.force_login(operator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = post(client, "import", certified_account, {"json": '{"button": ['})
    assert response.status_code == 400
    # where the problem is, in our words (the parser's "Expecting value" is English only)
    assert "line 1, column 13" in response.json()["error"]
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = post(client, "import", certified_account, {"json": '{"button": ['})
    assert chinese.json()["error"] == "这不是有效的 JSON：问题在第 1 行第 13 列。"


def test_export_leaves_out_click_replies_unless_asked(client, operator, certified_account):
    client.force_login(operator)
    post(client, "save_draft", certified_account, {"menu": {"button": [{**CLICK, "reply": "嗨"}]}})
    url = reverse("menus:export", args=[certified_account.pk])
    assert "reply" not in json.loads(client.get(url).content)["button"][0]
    assert json.loads(client.get(url + "?replies=1").content)["button"][0]["reply"] == "嗨"


def test_copy_to_accounts_validates_each_target(client, operator, certified_account, uncertified_account):
    """Miniprogram buttons only on certified accounts: the uncertified target refuses it."""
    other_certified = OfficialAccountFactory(
        assigned_staff=[operator], certified_until=certified_account.certified_until
    )
    client.force_login(operator)
    menu = {
        "button": [
            CLICK,
            {
                "type": "miniprogram",
                "name": "小程序",
                "url": "https://a.cn",
                "appid": "wx286b93c14bbf93aa",
                "pagepath": "pages/index",
            },
        ]
    }
    post(client, "save_draft", certified_account, {"menu": menu})
    response = post(
        client, "copy", certified_account, {"accounts": [uncertified_account.pk, other_certified.pk]}
    )
    assert response.status_code == 200
    assert len(response.json()["refused"]) == 1
    assert MenuVersion.objects.filter(menu__account=other_certified, status="draft").exists()
    assert not MenuVersion.objects.filter(menu__account=uncertified_account).exists()


def test_copy_with_malformed_account_ids_is_a_clear_error(client, operator, certified_account):
    client.force_login(operator)
    post(client, "save_draft", certified_account, {"menu": VALID_MENU})
    response = post(client, "copy", certified_account, {"accounts": ["1; drop"]})
    assert response.status_code == 400 and "accounts" in response.json()["error"]


def test_copy_to_an_unassigned_account_is_forbidden(client, operator, certified_account):
    theirs = OfficialAccountFactory()
    client.force_login(operator)
    post(client, "save_draft", certified_account, {"menu": VALID_MENU})
    assert post(client, "copy", certified_account, {"accounts": [theirs.pk]}).status_code == 403
    assert not MenuVersion.objects.filter(menu__account=theirs).exists()


def test_account_list_shows_the_menu_column_without_a_query_per_row(
    client, operator, django_assert_max_num_queries
):
    for _ in range(3):
        OfficialAccountFactory(assigned_staff=[operator])
    client.force_login(operator)
    url = reverse("admin:accounts_officialaccount_changelist")
    client.get(url)
    with django_assert_max_num_queries(30) as few:
        client.get(url)
    for _ in range(5):
        OfficialAccountFactory(assigned_staff=[operator])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count("data-menu-drift=") == 8


def test_admin_lists_of_menu_models_open(client, operator, certified_account):
    client.force_login(operator)
    post(client, "save_draft", certified_account, {"menu": VALID_MENU})
    for name in ("menu", "menuversion", "menuauditentry", "fanout"):
        assert client.get(reverse(f"admin:menus_{name}_changelist")).status_code == 200


def test_dashboard_panel_counts_only_assigned_accounts(client, operator, certified_account):
    from menus import services
    from menus.models import Menu

    theirs = OfficialAccountFactory()
    services.draft_save(account=theirs, data={"button": [CLICK]}, by=None)
    Menu.objects.filter(account=theirs).update(drift_status="drifted")
    services.draft_save(account=certified_account, data=VALID_MENU, by=operator)
    Menu.objects.filter(account=certified_account).update(drift_status="drifted")
    client.force_login(operator)
    from django.test import RequestFactory

    from menus.dashboard import panels

    request = RequestFactory().get("/admin/")
    request.user = operator
    [panel] = panels(request)
    assert panel["items"][0]["value"] == 1
