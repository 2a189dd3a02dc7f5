"""One scoping rule everywhere: history, revert, entity choices, CSV import by name, filters.

Staff reach only what their role and assigned accounts allow (accounts.selectors).
"""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.importing import import_accounts_csv
from accounts.models import Entity, OfficialAccount
from accounts.tests.factories import EntityFactory, OfficialAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign():
    """Another tenant's account (with a history row) that nobody above is assigned to."""
    account = OfficialAccountFactory(name="别人的服务号")
    account.entity.bank_account_number = "6222000011112222"
    account.entity.save()
    account.certified_until = datetime.date(2027, 6, 30)
    account.save()
    return account


def history_form_url(obj, model):
    record = obj.history.order_by("-history_id").first()
    return reverse(f"admin:accounts_{model}_simple_history", args=[obj.pk, record.history_id])


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_history_pages_of_another_tenant_answer_403_and_show_nothing(client, request, role, foreign):
    user = request.getfixturevalue(role)
    OfficialAccountFactory(assigned_staff=[user])
    client.force_login(user)
    for url in (
        reverse("admin:accounts_entity_history", args=[foreign.entity.pk]),
        history_form_url(foreign.entity, "entity"),
        reverse("admin:accounts_officialaccount_history", args=[foreign.pk]),
        history_form_url(foreign, "officialaccount"),
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert b"6222000011112222" not in response.content


@pytest.mark.parametrize("role", ["operator", "finance"])
def test_staff_cannot_revert_even_their_own_rows_and_nothing_changes(client, request, role):
    user = request.getfixturevalue(role)
    account = OfficialAccountFactory(assigned_staff=[user], name="旧名字")
    account.name = "新名字"
    account.save()
    token = account.server_token
    old = account.history.order_by("history_id").first()
    client.force_login(user)
    url = reverse("admin:accounts_officialaccount_simple_history", args=[account.pk, old.history_id])
    page = client.get(url)
    assert page.status_code == 200  # viewing their own account's past is fine
    assert b'name="_save"' not in page.content  # but no revert button
    response = client.post(
        url,
        {
            "entity": account.entity_id,
            "name": "旧名字",
            "original_id": account.original_id,
            "appid": account.appid,
            "account_type": "service",
            "message_mode": "safe",
            "token_source": "classic",
            "new_server_token": "abc123",
        },
    )
    assert response.status_code == 403
    account.refresh_from_db()
    assert (account.name, account.server_token) == ("新名字", token)


def test_superuser_revert_keeps_credentials_and_certification_state(client):
    admin = get_user_model().objects.create_superuser("root", "r@example.com", "pw-123-root")
    account = OfficialAccountFactory(name="旧名字")
    secrets_before = (account.appsecret, account.server_token, account.encoding_aes_key)
    first = account.history.order_by("history_id").first()
    account.name = "新名字"
    account.certified_until = datetime.date(2027, 6, 30)
    account.save()
    client.force_login(admin)
    response = client.post(
        reverse("admin:accounts_officialaccount_simple_history", args=[account.pk, first.history_id]),
        {
            "entity": account.entity_id,
            "name": "旧名字",
            "original_id": account.original_id,
            "wechat_id": account.wechat_id,
            "appid": account.appid,
            "account_type": "service",
            "message_mode": "safe",
            "token_source": "classic",
            "developer_mode": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    account = OfficialAccount.objects.get(pk=account.pk)
    assert account.name == "旧名字"
    assert (account.appsecret, account.server_token, account.encoding_aes_key) == secrets_before
    assert account.certified_until == datetime.date(2027, 6, 30)


def test_account_forms_offer_only_the_users_entities(client, operator, foreign):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    own_new = EntityFactory(created_by=operator)
    client.force_login(operator)
    add = client.get(reverse("admin:accounts_officialaccount_add"))
    field = add.context["adminform"].form.fields["entity"]
    assert set(field.queryset) == {mine.entity, own_new}
    # posting another tenant's entity id is refused by the form, and nothing is created
    before = OfficialAccount.objects.count()
    response = client.post(
        reverse("admin:accounts_officialaccount_add"),
        {
            "entity": foreign.entity_id,
            "name": "偷挂的号",
            "original_id": "gh_0123456789ab",
            "account_type": "service",
            "appid": "wx0123456789abcdef",
            "message_mode": "safe",
            "token_source": "classic",
            "new_appsecret": "a" * 32,
            "new_server_token": "tok123",
            "new_encoding_aes_key": "A" * 43,
        },
    )
    assert response.status_code == 200
    assert "entity" in response.context["adminform"].form.errors
    assert OfficialAccount.objects.count() == before
    # the change form too
    change = client.get(reverse("admin:accounts_officialaccount_change", args=[mine.pk]))
    assert foreign.entity not in change.context["adminform"].form.fields["entity"].queryset


def test_entity_autocomplete_lists_only_the_users_entities(client, operator, foreign):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    client.force_login(operator)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "accounts", "model_name": "officialaccount", "field_name": "entity", "term": ""},
    )
    assert response.status_code == 200
    ids = {int(row["id"]) for row in response.json()["results"]}
    assert ids == {mine.entity_id}


def test_csv_import_cannot_attach_an_account_to_another_tenants_entity(operator, foreign):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    row = "{entity},偷挂的号,,gh_0123456789ab,wx0123456789abcdef,{s},tok123,{k},safe"
    header = "entity,name,wechat_id,original_id,appid,appsecret,token,encoding_aes_key,message_mode"
    for name in (foreign.entity.full_name, foreign.entity.short_name):
        text = header + "\n" + row.format(entity=name, s="a" * 32, k="A" * 43) + "\n"
        report = import_accounts_csv(text, user=operator)
        assert not report.ok and report.problems[0].line == 2
    assert not OfficialAccount.objects.filter(appid="wx0123456789abcdef").exists()
    text = header + "\n" + row.format(entity=mine.entity.full_name, s="a" * 32, k="A" * 43) + "\n"
    assert import_accounts_csv(text, user=operator).ok


def test_account_list_entity_filter_names_only_visible_entities(client, operator, foreign):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    client.force_login(operator)
    page = client.get(reverse("admin:accounts_officialaccount_changelist"))
    html = page.content.decode()
    assert str(mine.entity) in html
    assert foreign.entity.full_name not in html and str(foreign.entity) not in html


def test_entity_of_another_tenant_answers_403(client, operator, foreign):
    client.force_login(operator)
    url = reverse("admin:accounts_entity_change", args=[foreign.entity.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"full_name": "改掉", "kind": "enterprise", "subtype": "general_enterprise"})
    assert response.status_code == 403
    assert Entity.objects.get(pk=foreign.entity.pk).full_name != "改掉"


def test_entity_access_follows_its_accounts_once_it_has_any(client, operator):
    """Issue 22 §4: the creator loses an entity once only another tenant's accounts are under it."""
    mine = EntityFactory(created_by=operator, bank_account_number="6222000000000001")
    url = reverse("admin:accounts_entity_change", args=[mine.pk])
    client.force_login(operator)
    assert client.get(url).status_code == 200  # created, nothing under it yet
    OfficialAccountFactory(entity=mine, name="别人挂上来的号")  # assigned to nobody of ours
    assert client.get(url).status_code == 403
    response = client.post(url, {"full_name": "改掉", "bank_account_number": "6222999999999999"})
    assert response.status_code == 403
    assert Entity.objects.get(pk=mine.pk).bank_account_number == "6222000000000001"
    OfficialAccountFactory(entity=mine, assigned_staff=[operator])  # one of ours too: back
    assert client.get(url).status_code == 200


def _errors_for_taken(client, operator, taken_from):
    """The form errors of an add with the entity name, AppID and original ID of `taken_from`."""
    client.force_login(operator)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the words are asserted in English
    own_entity = EntityFactory(created_by=operator)
    entity = client.post(
        reverse("admin:accounts_entity_add"),
        {"full_name": taken_from.entity.full_name, "kind": "enterprise", "subtype": "general_enterprise"},
    )
    account = client.post(
        reverse("admin:accounts_officialaccount_add"),
        {
            "entity": own_entity.pk,
            "name": "新服务号",
            "original_id": taken_from.original_id,
            "account_type": "service",
            "appid": taken_from.appid,
            "message_mode": "safe",
            "token_source": "classic",
            "new_appsecret": "a" * 32,
            "new_server_token": "Token123",
            "new_encoding_aes_key": "A" * 43,
        },
    )
    assert entity.status_code == account.status_code == 200
    return (
        entity.context["adminform"].form.errors.get("full_name"),
        account.context["adminform"].form.errors.get("appid"),
        account.context["adminform"].form.errors.get("original_id"),
    )


def test_a_taken_value_gets_the_same_words_whoever_owns_it(client, operator, foreign):
    """Issue 22 §5: another tenant's entity name, AppID or original ID answers exactly what
    the staff member's own does; the words say the value cannot be used, not that it exists."""
    mine = OfficialAccountFactory(assigned_staff=[operator])
    mine.entity.created_by = operator
    mine.entity.save()
    counts = (Entity.objects.count(), OfficialAccount.objects.count())
    theirs = _errors_for_taken(client, operator, foreign)
    ours = _errors_for_taken(client, operator, mine)
    assert all(theirs) and theirs == ours
    assert "cannot be used" in theirs[0][0] and "exist" not in " ".join(e[0] for e in theirs)
    assert (Entity.objects.count() - 2, OfficialAccount.objects.count()) == counts  # 2 own_entity rows


def test_csv_import_answers_a_foreign_appid_in_the_words_of_a_taken_one(operator, foreign):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    header = "entity,name,wechat_id,original_id,appid,appsecret,token,encoding_aes_key,message_mode"
    row = f"{mine.entity.full_name},号,,gh_0123456789ab,{foreign.appid},{'a' * 32},tok123,{'A' * 43},safe"
    report = import_accounts_csv(header + "\n" + row + "\n", user=operator)
    assert not report.ok
    assert report.problems[0].reason == "This AppID cannot be used; enter another one."
    secrets = f"{'a' * 32},tok123,{'A' * 43}"
    row = f"{mine.entity.full_name},号,,{foreign.original_id},wx0123456789abcdef,{secrets},safe"
    report = import_accounts_csv(header + "\n" + row + "\n", user=operator)
    assert (
        not report.ok and "This Original ID cannot be used; enter another one." in report.problems[0].reason
    )
