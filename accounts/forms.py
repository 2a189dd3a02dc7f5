"""Admin forms. Credentials are write-only: inputs start empty and are never re-rendered."""

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminPasswordWidget

from . import validators
from .models import OfficialAccount

CREDENTIAL_INPUTS = {
    # form field -> (model field, validator, label)
    "new_appsecret": ("appsecret", validators.validate_appsecret, _("AppSecret")),
    "new_server_token": ("server_token", validators.validate_server_token, _("server token")),
    "new_encoding_aes_key": (
        "encoding_aes_key",
        validators.validate_encoding_aes_key,
        _("EncodingAESKey"),
    ),
}


def secret_input() -> UnfoldAdminPasswordWidget:
    # render_value=False: a submitted value is not echoed back even when the form has errors.
    return UnfoldAdminPasswordWidget(render_value=False, attrs={"autocomplete": "new-password"})


if TYPE_CHECKING:
    # ModelForm is generic in the stubs only (no django_stubs_ext monkeypatch at run time).
    OfficialAccountModelForm = forms.ModelForm[OfficialAccount]
else:
    OfficialAccountModelForm = forms.ModelForm


class OfficialAccountForm(OfficialAccountModelForm):
    new_appsecret = forms.CharField(label=_("AppSecret"), required=False, strip=True, widget=secret_input())
    new_server_token = forms.CharField(
        label=_("server token"), required=False, strip=True, widget=secret_input()
    )
    new_encoding_aes_key = forms.CharField(
        label=_("EncodingAESKey"), required=False, strip=True, widget=secret_input()
    )

    class Meta:
        model = OfficialAccount
        fields = [
            "entity",
            "name",
            "wechat_id",
            "original_id",
            "account_type",
            "appid",
            "message_mode",
            "token_source",
            "developer_mode",
            "kf_enabled",
            "assigned_staff",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        creating = self.instance.pk is None
        for name in CREDENTIAL_INPUTS:
            field = self.fields[name]
            field.required = creating
            field.help_text = _("Required.") if creating else _("Leave empty to keep the stored value.")

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for name, (_model_field, validator, _label) in CREDENTIAL_INPUTS.items():
            value = cleaned.get(name)
            if value:
                try:
                    validator(value)
                except ValidationError as error:
                    self.add_error(name, error)
        return cleaned

    def save(self, commit: bool = True) -> OfficialAccount:
        changes = {
            model_field: self.cleaned_data[name]
            for name, (model_field, _validator, _label) in CREDENTIAL_INPUTS.items()
            if self.cleaned_data.get(name)
        }
        self.instance.set_credentials(**changes)
        return super().save(commit=commit)


class CsvImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
