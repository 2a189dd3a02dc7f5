"""Credentials are encrypted at rest and never reach HTML, exports or error reports."""

import sys

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.views.debug import ExceptionReporter, technical_500_response

from accounts.models import OfficialAccount
from accounts.resources import OfficialAccountExportResource
from accounts.tests.factories import OfficialAccountFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "ServerToken1234"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def account():
    return OfficialAccountFactory(appsecret=SECRET, server_token=TOKEN, encoding_aes_key=AES_KEY)


def raw_columns(account) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT appsecret, server_token, encoding_aes_key FROM accounts_officialaccount WHERE id = %s",
            [account.pk],
        )
        return cursor.fetchone()


def test_raw_database_columns_never_hold_the_plaintext(account):
    columns = raw_columns(account)
    for plaintext, stored in zip((SECRET, TOKEN, AES_KEY), columns, strict=True):
        assert plaintext not in stored
        assert stored.startswith("gAAAAA")  # a Fernet token
    assert OfficialAccount.objects.get(pk=account.pk).appsecret == SECRET


def test_history_rows_do_not_copy_credentials(account):
    historical = account.history.model
    names = {field.name for field in historical._meta.fields}
    assert not names & {"appsecret", "server_token", "encoding_aes_key"}


def test_secret_repr_is_masked(account):
    loaded = OfficialAccount.objects.get(pk=account.pk)
    assert SECRET not in repr(loaded.appsecret)
    assert SECRET not in repr(vars(loaded))


def test_rotating_keys_keeps_old_values_readable_and_new_writes_use_the_new_key(account, settings):
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *old_keys]):
        reloaded = OfficialAccount.objects.get(pk=account.pk)
        assert reloaded.appsecret == SECRET
        reloaded.save()  # re-encrypts with the new first key
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        assert OfficialAccount.objects.get(pk=account.pk).appsecret == SECRET


def test_value_no_key_can_decrypt_fails_loudly(account):
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        from accounts.fields import UndecryptableValue

        with pytest.raises(UndecryptableValue):
            OfficialAccount.objects.get(pk=account.pk)


def assert_no_credentials(content: bytes):
    text = content.decode()
    for plaintext in (SECRET, TOKEN, AES_KEY):
        assert plaintext not in text


def test_admin_change_page_and_changelist_never_contain_credentials(admin_client, account):
    change = admin_client.get(reverse("admin:accounts_officialaccount_change", args=[account.pk]))
    assert change.status_code == 200
    assert account.appid.encode() in change.content
    assert_no_credentials(change.content)
    listing = admin_client.get(reverse("admin:accounts_officialaccount_changelist"))
    assert listing.status_code == 200
    assert account.appid.encode() in listing.content
    assert_no_credentials(listing.content)


def test_form_with_errors_does_not_echo_a_typed_secret(admin_client, account):
    url = reverse("admin:accounts_officialaccount_change", args=[account.pk])
    new_secret = "fedcba9876543210fedcba9876543210"
    response = admin_client.post(url, {"name": "", "new_appsecret": new_secret})
    assert response.status_code == 200  # the form comes back with errors
    assert new_secret not in response.content.decode()


def test_export_never_contains_credentials(admin_client, account):
    dataset = OfficialAccountExportResource().export(OfficialAccount.objects.all())
    assert "appsecret" not in dataset.headers
    assert_no_credentials(dataset.csv.encode())
    response = admin_client.post(
        reverse("admin:accounts_officialaccount_export"),
        {
            "format": "0",
            "resource": "0",
            **{
                f"officialaccountexportresource_{name}": "on"
                for name in ("entity", "name", "wechat_id", "original_id", "appid", "message_mode")
            },
        },
    )
    assert response.status_code == 200
    assert account.appid.encode() in response.content
    assert_no_credentials(response.content)


def _fail_with_credentials_in_scope(account):
    appsecret = account.appsecret  # noqa: F841 - a local an error page would show
    value = str(account.encoding_aes_key)  # noqa: F841 - not named like a secret
    raise RuntimeError("boom")


def test_forced_error_pages_never_contain_credentials(account):
    request = RequestFactory().post("/admin/x/", {"new_appsecret": SECRET, "server_token": TOKEN})
    request.user = UserFactory(is_superuser=True)
    try:
        _fail_with_credentials_in_scope(OfficialAccount.objects.get(pk=account.pk))
    except RuntimeError:
        exc_info = sys.exc_info()
    with override_settings(DEBUG=True):
        html = technical_500_response(request, *exc_info).content
    assert b"boom" in html
    assert SECRET.encode() not in html
    assert TOKEN.encode() not in html
    text = ExceptionReporter(request, *exc_info).get_traceback_text()
    assert SECRET not in text and TOKEN not in text
