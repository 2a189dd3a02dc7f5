"""Editor endpoints that talk to WeChat (the sandbox over HTTP): compare, pull, delete, publish."""

import json

import pytest
from django.urls import reverse

from menus.models import MenuVersion, VersionStatus

from .menu_cases import CLICK, VIEW

pytestmark = pytest.mark.django_db


def post(client, name, account, body):
    return client.post(
        reverse(f"menus:{name}", args=[account.pk]), json.dumps(body), content_type="application/json"
    )


def test_compare_with_wechat_shows_no_buttons_when_wechat_has_no_menu(
    client, wechat, operator, certified_account
):
    wechat(certified_account)
    client.force_login(operator)
    response = client.get(reverse("menus:remote", args=[certified_account.pk]))
    assert response.status_code == 200
    assert response.json() == {"menu": {"button": []}}


def test_publish_endpoint_then_compare_then_delete(
    client, wechat, operator, certified_account, django_capture_on_commit_callbacks
):
    from menus.tasks import publish_version

    wechat(certified_account)
    client.force_login(operator)
    menu = {"button": [{**CLICK, "reply": "你好"}, VIEW]}
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(client, "publish", certified_account, {"menu": menu})
    assert response.status_code == 200, response.content
    assert response.json()["version"]["status"] == "pending"
    publish_version.apply(args=[response.json()["version"]["id"]])
    assert len(callbacks) == 1
    latest = client.get(reverse("menus:latest_version", args=[certified_account.pk])).json()
    assert latest["version"]["status"] == "published"
    remote = client.get(reverse("menus:remote", args=[certified_account.pk])).json()
    assert remote["menu"] == {"button": [CLICK, VIEW]}  # in menu/create's shape

    assert post(client, "delete_remote", certified_account, {}).status_code == 400  # confirm
    assert wechat.sandbox.state(certified_account.appid)["menu"] is not None
    assert post(client, "delete_remote", certified_account, {"confirm": True}).status_code == 200
    assert wechat.sandbox.state(certified_account.appid)["menu"] is None


def test_pull_endpoint_explains_wechat_errors(client, wechat, operator, certified_account):
    wechat(certified_account)
    wechat.sandbox.force_error("/cgi-bin/menu/get", 48001)
    client.force_login(operator)
    response = post(client, "pull", certified_account, {})
    assert response.status_code == 502
    assert response.json()["errcode"] == 48001
    assert response.json()["error"]  # the human explanation
    assert not MenuVersion.objects.filter(status=VersionStatus.DRAFT).exists()


def test_pull_endpoint_when_wechat_has_no_menu_pulls_an_empty_draft(
    client, wechat, operator, certified_account
):
    """R-MENU-03: 46003 "menu no exist" is no menu (as "compare with WeChat" shows it), not an error."""
    wechat(certified_account)
    client.force_login(operator)
    response = post(client, "pull", certified_account, {})
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True
    assert [issue["errcode"] for issue in response.json()["issues"]] == [40016]  # no buttons
    assert MenuVersion.objects.get(status=VersionStatus.DRAFT).data == {"button": []}
