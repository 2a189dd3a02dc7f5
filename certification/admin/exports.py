"""The order export (CSV/XLSX): its columns, headed in words; fees for Finance only."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields as ie_fields
from import_export import resources

from accounts.exports import FormulaSafeResourceMixin
from certification.models import Order

EXPORT_HEADERS = {
    "id": gettext_lazy("order number"),
    "account": gettext_lazy("official account"),
    "appid": "AppID",
    "entity": gettext_lazy("entity"),
    "review_company": gettext_lazy("review company"),
}

# The export's last columns: fees and invoices, left out for staff who may not see fees.
FINANCE_ONLY_COLUMNS = (
    "fee",
    "paid_at",
    "wechat_pay_transaction_id",
    "invoice_type",
    "invoice_request_deadline",
    "invoice_expected_by",
    "invoice_issued_on",
    "invoice_mailed_on",
    "invoice_tracking_number",
    "invoice_received_on",
)


class OrderResource(FormulaSafeResourceMixin, resources.ModelResource):
    """CSV/XLSX export: no secrets (no AppSecret, tokens or keys; no uploaded files); text
    a spreadsheet would run as a formula is neutralised."""

    account = ie_fields.Field(attribute="account__name", column_name="account")
    appid = ie_fields.Field(attribute="account__appid", column_name="appid")
    entity = ie_fields.Field(attribute="entity_snapshot", column_name="entity")
    review_company = ie_fields.Field(attribute="review_company__name", column_name="review_company")

    FINANCE_ONLY = FINANCE_ONLY_COLUMNS

    class Meta:
        model = Order
        fields = (
            "id",
            "account",
            "appid",
            "entity",
            "account_name",
            "kind",
            "status",
            "review_company",
            "submitted_at",
            "review_due_on",
            "review_due_is_estimate",
            "rejection_count",
            "resubmission_deadline",
            "completed_at",
            "failure_reason",
            "valid_until",
            *FINANCE_ONLY_COLUMNS,
        )
        export_order = fields

    def __init__(self, *, with_fees: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.with_fees = with_fees

    def get_export_fields(self, selected_fields=None):
        fields = super().get_export_fields(selected_fields)
        if self.with_fees:
            return fields
        return [f for f in fields if f.column_name not in self.FINANCE_ONLY]

    def dehydrate_entity(self, order):
        return order.entity_snapshot.get("full_name", "")

    # Staff read words, not internal codes: choices by their labels, yes/no in words,
    # and every column headed by its field's name in the active language.
    def dehydrate_kind(self, order):
        return str(order.get_kind_display())

    def dehydrate_status(self, order):
        return str(order.get_status_display())

    def dehydrate_invoice_type(self, order):
        return str(order.get_invoice_type_display()) if order.invoice_type else ""

    def dehydrate_failure_reason(self, order):
        return str(order.get_failure_reason_display()) if order.failure_reason else ""

    def dehydrate_review_due_is_estimate(self, order):
        return str(_("yes") if order.review_due_is_estimate else _("no"))

    def get_export_headers(self, selected_fields=None):
        headers = []
        for field in self.get_export_fields(selected_fields):
            name = EXPORT_HEADERS.get(field.column_name)
            if name is None:
                try:
                    name = getattr(
                        Order._meta.get_field(field.column_name), "verbose_name", field.column_name
                    )
                except Exception:  # noqa: BLE001 - a computed column keeps its name
                    name = field.column_name
            headers.append(str(name))
        return headers
