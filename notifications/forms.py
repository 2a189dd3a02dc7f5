"""The send page's form (issue 26): a template of an account the user may see, one kind of
recipients (one OpenID, a tag ID, or a CSV with per-row values), the values, an optional
link or mini program. It only reads the input; `services.template_send` checks it against
WeChat's rules and queues the send.

Once a template is chosen (the page reloads with ``?template=…``, or it is in the posted data),
the values are one input per keyword of the template, each labelled with its kind and the rule
WeChat applies to it (`keyword_rules`); before that, one ``name=value`` line a field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.selectors import accounts_visible_to
from wechat.api.templates import RETIRED_FIELDS

from .keyword_rules import MAX_LENGTH, label, rule
from .models import TargetKind, Template

#: the prefix of a keyword's input ("kw_thing2")
KEYWORD = "kw_"

#: a CSV of 100,000 rows with a few short fields is a few MB
MAX_CSV_BYTES = 20 * 1024 * 1024


def _template_label(template: Template) -> str:
    return f"{template.account.name} · {template.title}"


class SendForm(forms.Form):
    template = forms.ModelChoiceField(
        label=_("template"),
        queryset=Template.objects.none(),
        help_text=_("The account is the template's. Sync the account's templates first."),
    )
    target_kind = forms.ChoiceField(
        label=_("recipients"), choices=TargetKind.choices, initial=TargetKind.ONE, widget=forms.RadioSelect
    )
    openid = forms.CharField(label=_("OpenID"), max_length=64, required=False)
    tag_id = forms.IntegerField(label=_("tag ID"), min_value=0, required=False)
    csv_file = forms.FileField(
        label=_("CSV file"),
        required=False,
        help_text=_(
            "UTF-8; first row: openid and the template's field names (e.g. openid,thing2,time3); "
            "one recipient a row. Bad rows are listed before anything is sent."
        ),
    )
    values = forms.CharField(
        label=_("values"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For one follower or a tag: one field a line, as name=value (e.g. thing2=蓝色保温杯)."),
    )
    url = forms.URLField(label=_("link"), required=False, max_length=500, assume_scheme="https")
    miniprogram_appid = forms.CharField(label=_("mini program AppID"), max_length=32, required=False)
    miniprogram_pagepath = forms.CharField(label=_("mini program page"), max_length=200, required=False)

    def __init__(self, *args: Any, user: Any, account_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["template"]
        assert isinstance(field, forms.ModelChoiceField)
        visible = accounts_visible_to(user).values("pk")
        templates = Template.objects.filter(account__in=visible).select_related("account")
        if account_id is not None:  # from a follower's page: that account's templates only
            templates = templates.filter(account_id=account_id)
        field.queryset = templates
        field.label_from_instance = _template_label  # type: ignore[method-assign,assignment]
        self.keywords = self._keywords_of_chosen(templates)
        if self.is_bound and "values" in self.data and not any(k.startswith(KEYWORD) for k in self.data):
            self.keywords = []  # posted as name=value lines (a form filled before choosing)
        if self.keywords:
            del self.fields["values"]  # one input per keyword instead
            for name, kind in self.keywords:
                self.fields[KEYWORD + name] = forms.CharField(
                    label=label(name, kind),
                    required=False,
                    max_length=MAX_LENGTH.get(kind, 200),
                    help_text=rule(kind),
                    widget=forms.TextInput(attrs={"data-keyword": name, "data-kind": kind}),
                )
            order = ["template", "target_kind", "openid", "tag_id", "csv_file"]
            self.order_fields([*order, *(KEYWORD + name for name, _kind in self.keywords)])

    def _keywords_of_chosen(self, templates: Any) -> list[tuple[str, str]]:
        """(name, kind) of the chosen template's keywords, WeChat's retired ones left out."""
        raw = self.data.get("template") if self.is_bound else self.initial.get("template")
        try:
            pk = int(raw or 0)
        except (TypeError, ValueError):
            return []
        template = templates.filter(pk=pk).first() if pk else None
        if template is None:
            return []
        return [(name, kind) for name, kind in template.keywords if name not in RETIRED_FIELDS]

    def clean_values(self) -> dict[str, str]:
        parsed: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["values"].splitlines(), start=1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise forms.ValidationError(
                    _("Line %(n)s: write name=value, e.g. thing2=蓝色保温杯.") % {"n": number}
                )
            parsed[name.strip()] = value.strip()
        return parsed

    def clean_csv_file(self) -> Any:
        upload = self.cleaned_data.get("csv_file")
        if upload is not None and upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(_("The CSV file is larger than 20 MB; split it."))
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.keywords:  # the keyword inputs make the values (empty ones: "missing" on sending)
            data["values"] = {name: data.get(KEYWORD + name) or "" for name, _kind in self.keywords}
        kind = data.get("target_kind")
        needed = {TargetKind.ONE: "openid", TargetKind.TAG: "tag_id", TargetKind.CSV: "csv_file"}.get(
            TargetKind(kind) if kind else TargetKind.ONE
        )
        if needed and data.get(needed) in (None, ""):
            self.add_error(needed, _("Required for these recipients."))
        if data.get("miniprogram_pagepath") and not data.get("miniprogram_appid"):
            self.add_error("miniprogram_appid", _("A mini program needs its AppID."))
        return data
