"""Staff see and change only the accounts assigned to them; Finance cannot touch credentials."""

import pytest
from django.urls import reverse

from accounts.models import OfficialAccount
from accounts.tests.factories import OfficialAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def change_url(account):
    return reverse("admin:accounts_officialaccount_change", args=[account.pk])


def test_operator_lists_only_assigned_accounts(client, operator):
    mine = OfficialAccountFactory(assigned_staff=[operator], name="我的服务号")
    theirs = OfficialAccountFactory(name="别人的服务号")
    client.force_login(operator)
    response = client.get(reverse("admin:accounts_officialaccount_changelist"))
    assert response.status_code == 200
    assert mine.appid in response.content.decode()
    assert theirs.appid not in response.content.decode()


def test_operator_cannot_open_or_change_an_unassigned_account(client, operator):
    OfficialAccountFactory(assigned_staff=[operator])
    theirs = OfficialAccountFactory(name="别人的服务号")
    client.force_login(operator)
    assert client.get(change_url(theirs)).status_code == 403
    response = client.post(change_url(theirs), {"name": "hijacked"})
    assert response.status_code == 403
    theirs.refresh_from_db()
    assert theirs.name == "别人的服务号"


def test_operator_can_open_and_change_an_assigned_account(client, operator):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    client.force_login(operator)
    assert client.get(change_url(mine)).status_code == 200


def test_finance_cannot_change_account_credentials(client, finance):
    account = OfficialAccountFactory(assigned_staff=[finance])
    old_secret = account.appsecret
    client.force_login(finance)
    page = client.get(change_url(account))
    assert page.status_code == 200  # view only
    assert b'name="new_appsecret"' not in page.content
    response = client.post(
        change_url(account),
        {
            "entity": account.entity_id,
            "name": account.name,
            "original_id": account.original_id,
            "account_type": account.account_type,
            "appid": account.appid,
            "message_mode": account.message_mode,
            "token_source": account.token_source,
            "new_appsecret": "f" * 32,
        },
    )
    assert response.status_code == 403
    assert OfficialAccount.objects.get(pk=account.pk).appsecret == old_secret


def test_staff_without_role_sees_no_accounts_admin(client):
    nobody = UserFactory()
    OfficialAccountFactory(assigned_staff=[nobody])
    client.force_login(nobody)
    assert client.get(reverse("admin:accounts_officialaccount_changelist")).status_code == 403


def test_operator_cannot_reassign_staff(client, operator):
    mine = OfficialAccountFactory(assigned_staff=[operator])
    client.force_login(operator)
    page = client.get(change_url(mine))
    assert b'name="assigned_staff"' not in page.content


def test_operator_adding_an_account_is_assigned_to_it(client, operator):
    from accounts.tests.factories import EntityFactory

    entity = EntityFactory(created_by=operator)
    client.force_login(operator)
    response = client.post(
        reverse("admin:accounts_officialaccount_add"),
        {
            "entity": entity.pk,
            "name": "新服务号",
            "wechat_id": "new_account1",
            "original_id": "gh_0123456789ab",
            "account_type": "service",
            "appid": "wx0123456789abcdef",
            "message_mode": "safe",
            "token_source": "classic",
            "developer_mode": "on",
            "new_appsecret": "a" * 32,
            "new_server_token": "Token123",
            "new_encoding_aes_key": "A" * 43,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = OfficialAccount.objects.get(appid="wx0123456789abcdef")
    assert list(created.assigned_staff.all()) == [operator]
    assert created.appsecret == "a" * 32
