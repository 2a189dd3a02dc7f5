import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Entity, MessageMode, OfficialAccount
from accounts.tests.factories import OfficialAccountFactory

pytestmark = pytest.mark.django_db


def test_load_demo_is_idempotent_and_has_a_safe_mode_account():
    call_command("load_demo", verbosity=0)
    call_command("load_demo", verbosity=0)
    assert Entity.objects.count() == 1
    accounts = OfficialAccount.objects.all()
    assert accounts.count() == 2
    assert accounts.filter(message_mode=MessageMode.SAFE).count() == 1
    assert all(account.entity.full_name == "微行示范科技有限公司" for account in accounts)


def test_ensure_admin_prints_generated_password_once(capsys, monkeypatch):
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    printed = capsys.readouterr().out
    password = printed.strip().rsplit(" ", 1)[-1]
    # django-axes checks every login against its lockouts, so it needs the request
    assert (
        authenticate(RequestFactory().post("/admin/login/"), username="admin", password=password) is not None
    )
    call_command("ensure_admin")
    assert password not in capsys.readouterr().out


def test_changes_are_recorded_with_who_and_when(admin_client, admin_user):
    account = OfficialAccountFactory()
    url = reverse("admin:accounts_officialaccount_change", args=[account.pk])
    data = {
        "entity": account.entity_id,
        "name": "改过的名字",
        "wechat_id": account.wechat_id,
        "original_id": account.original_id,
        "account_type": account.account_type,
        "appid": account.appid,
        "message_mode": account.message_mode,
        "token_source": account.token_source,
        "developer_mode": "on",
        "new_appsecret": "b" * 32,
    }
    assert admin_client.post(url, data).status_code == 302
    latest = account.history.latest()
    assert latest.name == "改过的名字"
    assert latest.history_user == admin_user
    assert latest.credentials_changed_at is not None  # when, never what
    page = admin_client.get(reverse("admin:accounts_officialaccount_history", args=[account.pk]))
    assert page.status_code == 200
    assert "改过的名字" in page.content.decode()
