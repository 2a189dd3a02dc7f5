"""Validation errors name the field and the rule, in the user's language."""

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.forms import OfficialAccountForm
from accounts.models import Entity
from accounts.tests.factories import EntityFactory, OfficialAccountFactory

pytestmark = pytest.mark.django_db


def form_data(entity, **overrides):
    data = {
        "entity": entity.pk,
        "name": "服务号",
        "wechat_id": "valid_id1",
        "original_id": "gh_0123456789ab",
        "account_type": "service",
        "appid": "wx0123456789abcdef",
        "message_mode": "safe",
        "token_source": "classic",
        "new_appsecret": "a" * 32,
        "new_server_token": "Token123",
        "new_encoding_aes_key": "A" * 43,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("appid", "wx123", "16 lowercase hexadecimal"),
        ("original_id", "gh_xyz", "12 lowercase hexadecimal"),
        ("new_appsecret", "NOT-HEX" * 5, "32 lowercase hexadecimal"),
        ("new_server_token", "ab", "3 to 32 letters and digits"),
        ("new_encoding_aes_key", "A" * 42, "exactly 43 letters and digits"),
        ("wechat_id", "1abc", "starting with a letter"),
    ],
)
def test_invalid_credentials_are_rejected_with_the_rule(field, value, rule):
    form = OfficialAccountForm(data=form_data(EntityFactory(), **{field: value}))
    assert not form.is_valid()
    assert rule in " ".join(form.errors[field])


def test_errors_are_in_chinese_by_default(admin_client):
    entity = EntityFactory()
    response = admin_client.post(
        reverse("admin:accounts_officialaccount_add"), form_data(entity, appid="bad")
    )
    assert response.status_code == 200
    assert "AppID 是“wx”加 16 位小写十六进制字符" in response.content.decode()


def test_new_account_requires_every_credential():
    data = form_data(EntityFactory())
    del data["new_appsecret"]
    form = OfficialAccountForm(data=data)
    assert not form.is_valid()
    assert "new_appsecret" in form.errors


def test_existing_account_keeps_credentials_when_inputs_left_empty():
    account = OfficialAccountFactory()
    secret = account.appsecret
    data = form_data(
        account.entity,
        appid=account.appid,
        original_id=account.original_id,
        new_appsecret="",
        new_server_token="",
        new_encoding_aes_key="",
    )
    form = OfficialAccountForm(data=data, instance=account)
    assert form.is_valid(), form.errors
    form.save()
    account.refresh_from_db()
    assert account.appsecret == secret
    assert account.credentials_changed_at is None


def test_entity_subtype_must_match_its_kind():
    """R-CERT-01: the subtype belongs to the entity type."""
    from django.core.exceptions import ValidationError

    entity = Entity(full_name="某报社", kind="enterprise", subtype="newspaper")
    with pytest.raises(ValidationError) as error:
        entity.full_clean()
    assert "subtype" in error.value.message_dict


def test_kf_plugin_requires_a_certified_service_account():
    """R-KF-01 / R-POST-05: only certified service accounts can enable the customer-service
    plug-in; certification is what unlocks it."""
    import datetime

    from django.core.exceptions import ValidationError

    account = OfficialAccountFactory(kf_enabled=True)
    with pytest.raises(ValidationError) as error:
        account.full_clean()
    assert "kf_enabled" in error.value.message_dict
    account.certified_until = datetime.date.today() + datetime.timedelta(days=30)  # noqa: DTZ011 - any zone's today
    account.full_clean()
    account.account_type = "subscription"
    with pytest.raises(ValidationError):
        account.full_clean()


def test_chinese_catalogue_has_validator_messages():
    with translation.override("zh-hans"):
        from accounts.validators import validate_appid

        assert "十六进制" in str(validate_appid.message)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "12345678-9", "123456789"])
def test_credit_code_with_a_right_check_character_is_accepted(code):
    """GB 32100-2015 (issue 29): a USCC whose 18th character is its check character."""
    from accounts.validators import validate_credit_code

    validate_credit_code(code)


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91110000600037341X"])
def test_credit_code_with_a_wrong_check_character_is_refused(code):
    """GB 32100-2015 (issue 29): a one-character slip in a USCC is refused, naming the fix."""
    from django.core.exceptions import ValidationError

    from accounts.validators import validate_credit_code

    with pytest.raises(ValidationError) as exc:
        validate_credit_code(code)
    assert exc.value.code == "credit_code_check"
