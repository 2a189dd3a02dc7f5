"""Serialisers never emit plaintext credentials: dumpdata and fixtures carry the ciphertext
(issue 9), and loaddata restores the same credentials."""

import io
import json

import pytest
from django.core import serializers
from django.core.management import call_command
from django.db import connection

from accounts.fields import SERIALISED_PREFIX
from accounts.models import OfficialAccount
from accounts.tests.factories import OfficialAccountFactory

pytestmark = pytest.mark.django_db


def credentials(account) -> tuple[str, str, str]:
    return (str(account.appsecret), str(account.server_token), str(account.encoding_aes_key))


@pytest.mark.parametrize("fmt", ["json", "xml", "python"])
def test_serialisers_write_no_plaintext_credential(fmt):
    account = OfficialAccountFactory()
    output = serializers.serialize(fmt, OfficialAccount.objects.all())
    text = output if isinstance(output, str) else repr(output)
    for secret in credentials(account):
        assert secret not in text
    assert SERIALISED_PREFIX in text


def test_dumpdata_then_loaddata_keeps_the_credentials(tmp_path):
    account = OfficialAccountFactory()
    before = credentials(account)
    out = io.StringIO()
    call_command("dumpdata", "accounts.entity", "accounts.officialaccount", stdout=out)
    dumped = out.getvalue()
    for secret in before:
        assert secret not in dumped
    fields = next(o["fields"] for o in json.loads(dumped) if o["model"] == "accounts.officialaccount")
    assert all(
        fields[name].startswith(SERIALISED_PREFIX)
        for name in ("appsecret", "server_token", "encoding_aes_key")
    )
    fixture = tmp_path / "accounts.json"
    fixture.write_text(dumped)
    OfficialAccount.objects.filter(pk=account.pk).update(appsecret="", server_token="", encoding_aes_key="")
    call_command("loaddata", str(fixture), verbosity=0)
    assert credentials(OfficialAccount.objects.get(pk=account.pk)) == before


def test_plaintext_fixtures_still_load_and_are_encrypted_at_rest(tmp_path):
    account = OfficialAccountFactory()
    data = json.loads(serializers.serialize("json", [account]))
    data[0]["fields"]["appsecret"] = "f" * 32
    fixture = tmp_path / "plain.json"
    fixture.write_text(json.dumps(data))
    call_command("loaddata", str(fixture), verbosity=0)
    assert OfficialAccount.objects.get(pk=account.pk).appsecret == "f" * 32
    with connection.cursor() as cursor:
        cursor.execute("SELECT appsecret FROM accounts_officialaccount WHERE id = %s", [account.pk])
        stored = cursor.fetchone()[0]
    assert stored and "f" * 32 not in stored
