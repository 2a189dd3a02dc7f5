"""Issue 22 §7: garbage in ids, dates, JSON and OpenIDs gets a 4xx or a form error, never a
5xx, and changes nothing. Each case is one the issue reproduced as an Operator."""

import json

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.models import OfficialAccount
from accounts.tests.factories import EntityFactory, OfficialAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

GARBAGE_IDS = ["abc", "1.5", "-1", "99999999999999999999", "1\x00", "١"]


@pytest.fixture
def operator(client):
    user = UserFactory(groups=["Operators"])
    OfficialAccountFactory(assigned_staff=[user])
    client.force_login(user)
    client.raise_request_exception = False
    return user


def autocomplete_fields():
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.autocomplete_fields:
            yield pytest.param(model, name, id=f"{model._meta.label}.{name}")


@pytest.mark.parametrize(("model", "field"), list(autocomplete_fields()))
@pytest.mark.parametrize("value", GARBAGE_IDS)
def test_a_non_numeric_autocomplete_value_is_a_form_error(client, operator, model, field, value):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    before = model.objects.count()
    response = client.post(url, {field: value})
    assert response.status_code in (200, 400, 403), response.status_code
    assert model.objects.count() == before


def date_hierarchies():
    for model, model_admin in admin.site._registry.items():
        if model_admin.date_hierarchy:
            yield pytest.param(model, model_admin.date_hierarchy, id=model._meta.label)


@pytest.mark.parametrize(("model", "field"), list(date_hierarchies()))
@pytest.mark.parametrize(
    "query",
    [
        "{f}__year=99999",
        "{f}__year=9999&{f}__month=12",
        "{f}__year=9999&{f}__month=12&{f}__day=31",
        "{f}__year=0",
        "{f}__year=abc",
        "{f}__year=2026&{f}__month=13",
        "{f}__year=2026&{f}__month=2&{f}__day=30",
        "{f}__year=-1",
    ],
)
def test_an_out_of_range_date_drilldown_is_not_a_500(client, operator, model, field, query):
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    response = client.get(url + "?" + query.format(f=field))
    assert response.status_code < 500


def test_notification_with_a_non_numeric_id(client, operator):
    response = client.get("/admin/certification/notification/abc/change/")
    assert response.status_code < 500


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999999999999999999", "1.5"])
def test_admin_search_with_a_bad_page(client, operator, page):
    response = client.get("/admin/search/", {"s": "a", "page": page})
    assert response.status_code < 500


@pytest.mark.parametrize("suffix", ["", "poll/", "send/"])
def test_nul_in_an_openid_of_the_conversation_pages(client, operator, suffix):
    account = OfficialAccount.objects.filter(assigned_staff=operator).get()
    for base in (f"/admin/messaging/outboundmessage/conversations/{account.pk}/o%00x/", ""):
        if not base:
            continue
        method = client.post if suffix == "send/" else client.get
        assert method(base + suffix).status_code == 400
    response = client.get(f"/admin/messaging/inboundmessage/conversation/{account.pk}/o%00x/")
    assert response.status_code == 400


BAD_STRINGS = ["a\x00b", "\ud800", "x\udfffy"]


@pytest.mark.parametrize("bad", BAD_STRINGS)
@pytest.mark.parametrize("endpoint", ["draft", "import", "validate", "trymatch"])
def test_nul_or_lone_surrogate_in_menu_json_is_a_400(client, operator, bad, endpoint):
    account = OfficialAccount.objects.filter(assigned_staff=operator).get()
    menu = {"button": [{"type": "click", "name": bad, "key": "k"}]}
    body = {"import": {"json": json.dumps(menu)}, "trymatch": {"user_id": bad}}.get(endpoint, menu)
    raw = json.dumps(body)  # \\u escapes: the JSON itself is well-formed
    response = client.post(f"/menus/{account.pk}/{endpoint}/", raw, content_type="application/json")
    assert response.status_code == 400, response.content[:300]


def test_entity_garbage_in_a_form_changes_nothing(client, operator):
    entity = EntityFactory(created_by=operator)
    url = reverse("admin:accounts_entity_change", args=[entity.pk])
    response = client.post(url, {"full_name": "\x00", "kind": "enterprise"})
    assert response.status_code == 200
