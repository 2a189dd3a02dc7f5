"""Every registered admin page renders, in Chinese and in English.

For each model registered on the admin site: the changelist, a search, the add
page (when adding is allowed) and the change page of an existing row (when one
exists after loading the demo data and each app's `admin_smoke_objects`).
"""
import pytest
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

LANGUAGES = ["zh-hans", "en"]


def registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.fixture
def populated(db, admin_user):
    call_command("load_demo", verbosity=0)
    call_command("install_schedules", verbosity=0)
    return admin_user


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("model", "model_admin"), registered(),
                         ids=[model._meta.label for model, _ in registered()])
def test_admin_pages_render(client, populated, model, model_admin, language):
    client.force_login(populated)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    headers = {}
    info = (model._meta.app_label, model._meta.model_name)
    changelist = reverse("admin:{}_{}_changelist".format(*info))
    assert client.get(changelist, **headers).status_code == 200
    if model_admin.search_fields:
        assert client.get(changelist, {"q": "示范"}, **headers).status_code == 200
    request_user_can_add = model_admin.has_add_permission(_request(populated))
    if request_user_can_add:
        assert client.get(reverse("admin:{}_{}_add".format(*info)), **headers).status_code == 200
    obj = model._default_manager.order_by("pk").first()
    if obj is not None:
        url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
        assert client.get(url, **headers).status_code == 200


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


def test_dashboard_renders_in_chinese_by_default(client, populated):
    client.force_login(populated)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "待处理事项" in response.content.decode()
    # the browser's Accept-Language does not switch the language; the switcher's cookie does
    browser_in_english = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")
    assert "待处理事项" in browser_in_english.content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("admin:index"))
    assert "What needs attention" in english.content.decode()


def test_language_switcher_sets_english(client, populated):
    client.force_login(populated)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/admin/"})
    assert response.status_code == 302
    page = client.get(reverse("admin:index"))
    assert "What needs attention" in page.content.decode()


def test_demo_account_list_shows_demo_accounts_in_chinese(client, populated):
    client.force_login(populated)
    response = client.get(reverse("admin:accounts_officialaccount_changelist"))
    text = response.content.decode()
    assert "微行示范服务号" in text and "微行示范客服号" in text
    assert "公众号" in text
