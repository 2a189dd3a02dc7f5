"""Admin forms: adding an order, the checklist inline and one small form per transition
(which transition asks which form: `certification.admin.transition_forms`)."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import documents
from .models import (
    FailureReason,
    InvoiceType,
    ItemKind,
    Order,
    OrderDocument,
    ReviewCompany,
    WeChatEventType,
)
from .services.creation import order_check_can_create
from .services.errors import CertificationError


class OrderAddForm(forms.ModelForm):
    """Opening an order: the account, the kind, optionally the review company."""

    confirm_early = forms.BooleanField(
        label=_("Start the annual review early"),
        required=False,
        help_text=_(
            "Needed only more than 3 months before the certification expires: the "
            "300 CNY fee is due all the same."
        ),
    )

    class Meta:
        model = Order
        fields = ["account", "kind", "review_company"]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        account, kind = cleaned.get("account"), cleaned.get("kind")
        if account and kind:
            try:
                order_check_can_create(
                    account=account, kind=kind, early_ok=cleaned.get("confirm_early", False)
                )
            except CertificationError as exc:
                add_errors(self, exc)
        return cleaned


def add_errors(form: forms.BaseForm, exc: CertificationError) -> None:
    """Show a service refusal on the form: on its field when the form has it."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class OrderChangeForm(forms.ModelForm):
    """The application data while it may be edited (R-CERT-08/13 checks on the fields)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        owned = self.fields.get("trademark_owned_by_entity")
        if owned is not None and "tm_registrant" not in self.fields:
            # The letter's fields appear only once they are needed (`Order.name_fields`).
            owned.help_text = _(
                "Untick and save when the trademark belongs to someone else: "
                "the authorisation letter's fields then appear."
            )

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("trademark_name") and not cleaned.get("trademark_document"):
            self.add_error(
                "trademark_document",
                _(
                    "Say whether the trademark is backed by a registration certificate or an "
                    "acceptance notice."
                ),
            )
        start, end = cleaned.get("tm_use_from"), cleaned.get("tm_use_until")
        if start and end and end < start:
            self.add_error("tm_use_until", _("The period of use ends before it starts."))
        return cleaned


class OrderDocumentForm(forms.ModelForm):
    """One checklist row: upload a file (limits checked) or type a value; tick to verify."""

    verify = forms.BooleanField(label=_("mark verified"), required=False)

    class Meta:
        model = OrderDocument
        fields = ["file", "value"]
        # No "currently: <link>": stored files are only reachable through the
        # permission-checked download column.
        widgets = {"file": forms.FileInput}

    def clean_file(self):
        uploaded = self.cleaned_data.get("file")
        if uploaded and "file" in self.changed_data:
            if self.instance.kind != ItemKind.FILE:
                raise forms.ValidationError(_("This item takes a value, not a file."))
            documents.validate_upload(uploaded, code=self.instance.code)
        return uploaded


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note (why)"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RequiredNoteForm(forms.Form):
    note = forms.CharField(label=_("What the reviewer said"), widget=forms.Textarea(attrs={"rows": 3}))


class ChooseInvoiceForm(forms.Form):
    invoice_type = forms.ChoiceField(
        label=_("Invoice type"),
        choices=InvoiceType.choices,
        initial=InvoiceType.VAT_ORDINARY,
        help_text=_("A VAT special invoice is arranged with Tencent customer service (0755-83763333)."),
    )
    mailing_address = forms.CharField(label=_("Mailing address"), required=False, max_length=300)


class PayForm(forms.Form):
    transaction_id = forms.CharField(
        label=_("WeChat Pay transaction ID"),
        required=False,
        max_length=64,
        help_text=_("The 28-digit 微信支付订单号 on the WeChat Pay receipt."),
    )
    paid_at = forms.DateTimeField(label=_("Paid at"), required=False, help_text=_("Format: 2026-11-29 10:30"))
    review_company = forms.ModelChoiceField(
        label=_("Review company"), required=False, queryset=ReviewCompany.objects.all()
    )


class SubmitFreeForm(forms.Form):
    review_company = forms.ModelChoiceField(
        label=_("Review company"), required=False, queryset=ReviewCompany.objects.all()
    )


class FailForm(forms.Form):
    reason = forms.ChoiceField(label=_("Failure reason"), choices=FailureReason.choices)
    note = forms.CharField(label=_("Note (why)"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class DepositForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount received (CNY)"), max_digits=8, decimal_places=2, min_value=0)
    remark = forms.CharField(label=_("Remark of the transfer"), max_length=100)
    received_on = forms.DateField(label=_("Date received"), initial=timezone.localdate)
    receipt = forms.FileField(label=_("Receipt (PDF, JPG or PNG)"), required=False)


class RequestInvoiceForm(forms.Form):
    invoice_type = forms.ChoiceField(
        label=_("Invoice type"),
        choices=[
            (InvoiceType.VAT_ORDINARY.value, InvoiceType.VAT_ORDINARY.label),
            (InvoiceType.VAT_SPECIAL.value, InvoiceType.VAT_SPECIAL.label),
        ],
    )
    mailing_address = forms.CharField(label=_("Mailing address"), max_length=300)


class DateForm(forms.Form):
    on = forms.DateField(label=_("Date"), initial=timezone.localdate)


class MailedForm(DateForm):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=60)


def initial_for(name: str, order: Order) -> dict:
    if name in ("choose_invoice", "request_invoice"):
        return {
            "mailing_address": order.invoice_mailing_address
            or order.entity_snapshot.get("office_address", "")
        }
    if name == "pay":
        return {
            "review_company": order.review_company_id,
            "paid_at": timezone.localtime().replace(second=0, microsecond=0),
        }
    if name == "submit":
        return {"review_company": order.review_company_id}
    return {}


class SimulateWeChatEventForm(forms.Form):
    """A certification event for the sandbox to push as WeChat would (offline only)."""

    event = forms.ChoiceField(label=_("Event"), choices=WeChatEventType.choices)
    expires_on = forms.DateField(
        label=_("Expiry date sent by WeChat"),
        required=False,
        help_text=_("For successes, the annual review notice and expiry; empty: a year from today."),
    )
    fail_reason = forms.CharField(
        label=_("Reason given by WeChat"),
        required=False,
        max_length=200,
        initial="运营者身份证信息有误",
        help_text=_("For failures."),
    )

    def event_label(self) -> str:
        return str(WeChatEventType(self.cleaned_data["event"]).label)

    def payload(self) -> dict:
        import datetime

        from .deadlines import SHANGHAI

        data = self.cleaned_data
        body = {"type": data["event"]}
        if data.get("expires_on"):
            moment = datetime.datetime.combine(data["expires_on"], datetime.time(12), tzinfo=SHANGHAI)
            body["expired_time"] = int(moment.timestamp())
        if data["event"].endswith("_fail"):
            body["fail_reason"] = data.get("fail_reason", "")
        return body
