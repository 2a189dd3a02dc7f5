"""The order admin: the list, the change page with its checklist, history and
transition buttons; saving goes through the services (R-CERT-02)."""

from __future__ import annotations

import datetime
import re
from functools import reduce
from operator import or_

from django.contrib import admin, messages
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from import_export.admin import ExportMixin
from unfold.admin import ModelAdmin
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import display

from accounts.exports import SafeExportAdminMixin
from accounts.scoping import AccountScopedAdminMixin
from certification import selectors
from certification.forms import OrderAddForm, OrderChangeForm
from certification.models import DATA_FIELDS, ItemKind, Order, OrderDocument, OrderStatus, live_deadline_q
from certification.services.application_data import order_update_data
from certification.services.checklist import (
    document_upload,
    document_verify,
    documents_upload_each,
    order_missing_documents,
)
from certification.services.creation import order_create
from certification.services.errors import CertificationError
from core.dashboard_figures import figure_filter
from messaging.simulation import sandbox_base

from .documents import OrderDocumentInline, upload_errors_key
from .exports import OrderResource
from .history import OrderEventInline
from .transition_forms import allowed_transitions
from .views import OrderPagesMixin

TONE_COLOURS = {"danger": "#b91c1c", "warning": "#b45309", "success": "#15803d"}

EDITABLE_FIELDS = list(DATA_FIELDS)
FEE_FIELDS = {
    "fee",
    "paid_at",
    "wechat_pay_transaction_id",
    "invoice_type",
    "invoice_title",
    "invoice_mailing_address",
    "invoice_requested_at",
    "invoice_issued_on",
    "invoice_mailed_on",
    "invoice_tracking_number",
    "invoice_received_on",
    "invoice_request_deadline_display",
    "invoice_expected_by_display",
    "fee_display",
}


def deadline_html(due: datetime.date | None, *, estimate: bool = False) -> str:
    """A colour-coded date with the days left (R-CERT-10/11/12, R-POST-02)."""
    if due is None:
        return "—"
    today = timezone.localdate()
    left = (due - today).days
    tone = selectors.deadline_tone(due, today)
    if left < 0:
        text = ngettext("%(days)d day overdue", "%(days)d days overdue", -left) % {"days": -left}
    elif left == 0:
        text = _("due today")
    else:
        text = ngettext("%(days)d day left", "%(days)d days left", left) % {"days": left}
    suffix = _(" (estimate)") if estimate else ""
    return format_html(
        '<span class="cert-deadline cert-{}" style="color:{};font-weight:600">{} · {}{}</span>',
        tone,
        TONE_COLOURS[tone],
        due,
        text,
        suffix,
    )


class DueFilter(admin.SimpleListFilter):
    """Orders with a deadline (review, resubmission, invoice) due soon or overdue."""

    title = gettext_lazy("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("soon", _("Due within 7 days")), ("overdue", _("Overdue"))]

    def queryset(self, request, queryset):
        from django.db.models import Q

        today = timezone.localdate()
        soon = today + datetime.timedelta(days=selectors.DUE_SOON_DAYS)
        # The live deadlines by the one rule (issue 29); validity is not a due date here.
        fields = ("review_due_on", "resubmission_deadline", "invoice_expected_by")
        if self.value() == "soon":
            return queryset.filter(
                reduce(or_, (live_deadline_q(f) & Q(**{f"{f}__range": (today, soon)}) for f in fields))
            )
        if self.value() == "overdue":
            return queryset.filter(
                reduce(or_, (live_deadline_q(f) & Q(**{f"{f}__lt": today}) for f in fields))
            )
        return queryset


@admin.register(Order)
class OrderAdmin(OrderPagesMixin, AccountScopedAdminMixin, SafeExportAdminMixin, ExportMixin, ModelAdmin):
    """R-CERT-02: statuses change only through the transition buttons (one service each)."""

    account_path = "account"
    resource_classes = [OrderResource]
    export_form_class = ExportForm
    change_form_template = "admin/certification/order/change_form.html"
    list_display = [
        "id",
        "account_name",
        "account",
        "kind",
        "status_badge",
        "fee_display",
        "review_company",
        "review_due_display",
        "resubmit_by_display",
        "invoice_expected_by_display",
        "created_at",
    ]
    list_display_links = ["id", "account_name"]
    list_filter = ["status", "kind", "review_company", DueFilter, figure_filter(*selectors.ORDER_FIGURES)]
    search_fields = [
        "account_name",
        "account__name",
        "account__appid",
        "account__entity__full_name",
        "wechat_pay_transaction_id",
    ]
    list_select_related = ["account", "review_company"]
    # A searchable choice of the accounts the user may see (the account admin scopes it).
    autocomplete_fields = ["account"]
    form = OrderChangeForm
    inlines = [OrderDocumentInline, OrderEventInline]
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over 100k rows per page view

    # --- permissions and visibility -----------------------------------------------------
    def has_delete_permission(self, request, obj=None):
        return False  # orders are records: cancel instead

    def get_list_display(self, request):
        fields = list(super().get_list_display(request))
        if not selectors.user_sees_fees(request.user):
            fields = [f for f in fields if f not in FEE_FIELDS]
        return fields

    def get_export_resource_kwargs(self, request, **kwargs):
        kwargs = super().get_export_resource_kwargs(request, **kwargs)
        kwargs["with_fees"] = selectors.user_sees_fees(request.user)
        return kwargs

    def get_inlines(self, request, obj):
        return [] if obj is None else super().get_inlines(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = OrderAddForm
            kwargs["fields"] = ["account", "kind", "review_company"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        """Only the sections and fields this order needs now: its entity's type and
        subtype decide the naming fields (`Order.name_fields`); deadlines show while they
        run, outcomes once there is one."""
        if obj is None:
            return [(None, {"fields": ["account", "kind", "review_company", "confirm_early"]})]
        review = ["submitted_at"]
        if obj.status == OrderStatus.IN_REVIEW:
            review.append("review_due_display")
        if obj.rejection_count:
            review += ["rejection_count", "resubmission_count", "last_rejection_note"]
        if obj.status == OrderStatus.REJECTED:
            review.append("resubmit_by_display")
        if obj.is_completed:
            review.append("completed_at")
        if obj.status == OrderStatus.FAILED:
            review.append("failure_reason")
        if obj.valid_until:
            review.append("valid_until")
        invoice = [
            "fee",
            "paid_at",
            "wechat_pay_transaction_id",
            "invoice_type",
            "invoice_title",
            "invoice_mailing_address",
        ]
        if obj.is_completed and obj.fee > 0:
            invoice += [
                "invoice_requested_at",
                "invoice_request_deadline_display",
                "invoice_expected_by_display",
                "invoice_issued_on",
                "invoice_mailed_on",
                "invoice_tracking_number",
                "invoice_received_on",
            ]
        sets = [
            (
                _("Order"),
                {"fields": ["account", "kind", "status", "account_name", "entity_display", "review_company"]},
            ),
            (
                _("Agreements"),
                {
                    "fields": [
                        "service_agreement_accepted_at",
                        "service_agreement_accepted_by",
                        "naming_rules_accepted_at",
                        "naming_rules_accepted_by",
                    ]
                },
            ),
            (_("Operator"), {"fields": ["operator_name", "operator_id_type", "operator_phone"]}),
            (_("Name and trademark"), {"fields": obj.name_fields()}),
            (_("Fee, payment and invoice"), {"fields": invoice}),
        ]
        if obj.submitted_at:
            sets.append((_("Review"), {"fields": review}))
        if obj.submitted_at or obj.deposit_amount:
            sets.append(
                (
                    _("Micro-deposit"),
                    {
                        "fields": [
                            "deposit_amount",
                            "deposit_remark",
                            "deposit_received_on",
                            "deposit_download",
                            "deposit_receipt_uploaded_at",
                        ]
                    },
                )
            )
        if not selectors.user_sees_fees(request.user):
            sets = [s for s in sets if not set(s[1]["fields"]) & {"fee"}]
        return sets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        every = [f.name for f in Order._meta.fields] + [
            "entity_display",
            "naming_display",
            "review_due_display",
            "resubmit_by_display",
            "invoice_request_deadline_display",
            "invoice_expected_by_display",
            "deposit_download",
        ]
        if obj.is_editable:
            return [f for f in every if f not in EDITABLE_FIELDS]
        return every

    # --- saving goes through the services -------------------------------------------------
    def save_model(self, request, obj, form, change):
        if not change:
            created = order_create(
                account=form.cleaned_data["account"],
                kind=form.cleaned_data["kind"],
                review_company=form.cleaned_data.get("review_company"),
                by=request.user,
                early_ok=form.cleaned_data.get("confirm_early", False),
            )
            obj.pk = created.pk
            obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
            obj._state.adding = False
            return
        if form.has_changed():
            order_update_data(order=obj, by=request.user, changed=form.changed_data)

    def save_formset(self, request, form, formset, change):
        if formset.model is not OrderDocument:
            super().save_formset(request, form, formset, change)
            return
        for doc_form in formset.forms:
            document = doc_form.instance
            if "file" in doc_form.changed_data and doc_form.cleaned_data.get("file"):
                document_upload(document=document, by=request.user, uploaded=doc_form.cleaned_data["file"])
            elif "value" in doc_form.changed_data and document.kind == ItemKind.VALUE:
                document_upload(
                    document=document, by=request.user, value=doc_form.cleaned_data.get("value", "")
                )
            if doc_form.cleaned_data.get("verify"):
                document.refresh_from_db()
                document_verify(document=document, by=request.user)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id:
            self._upload_documents_one_by_one(request, object_id)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except CertificationError as exc:
            self.message_user(request, exc.user_message, messages.ERROR)
            return HttpResponseRedirect(request.path)

    def _upload_documents_one_by_one(self, request, object_id) -> None:
        """Store each chosen checklist file on its own before the form is saved.

        One bad file no longer rejects the whole save: the good files are kept, each bad
        one is named at the top of the page and next to its row (`upload_problem`).
        The handled files are taken out of the request so the formset leaves them be.
        """
        order = self.get_object(request, object_id)
        if order is None or not order.is_editable or not self.has_change_permission(request, order):
            return
        request.session.pop(upload_errors_key(order.pk), None)  # this save's problems only
        chosen: dict[int, UploadedFile] = {}
        files = request.FILES.copy()
        for key in list(files):
            match = re.fullmatch(r"documents-(\d+)-file", key)
            document_id = request.POST.get(f"documents-{match.group(1)}-id") if match else None
            if document_id and document_id.isdigit():
                chosen[int(document_id)] = files.pop(key)[0]
        if not chosen:
            return
        request._files = files
        kept, refused = documents_upload_each(order=order, by=request.user, files=chosen)
        if kept:
            self.message_user(
                request,
                ngettext("%(count)d document uploaded.", "%(count)d documents uploaded.", len(kept))
                % {"count": len(kept)},
                messages.SUCCESS,
            )
        labels = dict(order.documents.values_list("pk", "label"))
        for document_id, problem in refused.items():
            self.message_user(
                request,
                _("Not uploaded — %(item)s: %(problem)s")
                % {"item": _(labels.get(document_id, "")), "problem": problem},
                messages.ERROR,
            )
        if refused:
            request.session[upload_errors_key(order.pk)] = {
                str(pk): problem for pk, problem in refused.items()
            }
            request._cert_upload_refused = True

    def response_change(self, request, obj):
        # A refused file keeps the user on the order, next to the row that needs it.
        if getattr(request, "_cert_upload_refused", False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            today = timezone.localdate()
            can_change = self.has_change_permission(request, obj)
            sees_fees = selectors.user_sees_fees(request.user)
            # The buttons: what the table allows now and this user may run.
            transitions = [
                t for t in allowed_transitions(obj, today=today) if can_change and t.may(request.user)
            ]
            context.update(
                {
                    "order": obj,
                    "transitions": [
                        {
                            "t": t,
                            "url": reverse("admin:certification_order_transition", args=[obj.pk, t.name]),
                            "inline": t.inline,
                        }
                        for t in transitions
                    ],
                    "missing_documents": [_(d.label) for d in order_missing_documents(obj)]
                    if obj.is_editable
                    else [],
                    "company_open": obj.review_company.is_open() if obj.review_company else None,
                    "review_due_html": deadline_html(obj.review_due_on, estimate=obj.review_due_is_estimate)
                    if obj.deadline_is_live("review_due_on")
                    else None,
                    "resubmit_html": deadline_html(obj.resubmission_deadline)
                    if obj.deadline_is_live("resubmission_deadline")
                    else None,
                    "valid_until_html": deadline_html(obj.valid_until)
                    if obj.deadline_is_live("valid_until")
                    else None,
                    "reminder_on": obj.annual_review_remind_on,
                    "sees_fees": sees_fees,
                    # Offline (sandbox) only: push WeChat's certification events by hand.
                    "simulate_url": reverse("admin:certification_order_simulate_event", args=[obj.pk])
                    if can_change and sandbox_base() is not None
                    else None,
                }
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    # --- columns and read-only displays ----------------------------------------------------
    @display(
        description=gettext_lazy("status"),
        ordering="status",
        label={
            # Every status has an entry: a missing one makes unfold show the raw code.
            OrderStatus.DRAFT: None,
            OrderStatus.AGREEMENTS_ACCEPTED: None,
            OrderStatus.DATA_FILLED: None,
            OrderStatus.SUCCEEDED: "success",
            OrderStatus.FAILED: "danger",
            OrderStatus.REJECTED: "warning",
            OrderStatus.IN_REVIEW: "info",
            OrderStatus.AWAITING_PAYMENT: "warning",
            OrderStatus.CANCELLED: "danger",
        },
    )
    def status_badge(self, order):
        return order.status, order.get_status_display()

    @display(description=gettext_lazy("fee (CNY)"), ordering="fee")
    def fee_display(self, order):
        return order.fee

    @display(description=gettext_lazy("review due"), ordering="review_due_on")
    def review_due_display(self, order):
        # Only while the reviewer has it (`Order.deadline_is_live`, issue 29).
        if not order.deadline_is_live("review_due_on"):
            return "—"
        return deadline_html(order.review_due_on, estimate=order.review_due_is_estimate)

    @display(description=gettext_lazy("resubmit by"), ordering="resubmission_deadline")
    def resubmit_by_display(self, order):
        if not order.deadline_is_live("resubmission_deadline"):
            return "—"
        return deadline_html(order.resubmission_deadline)

    @display(description=gettext_lazy("request a missing invoice by"))
    def invoice_request_deadline_display(self, order):
        if not order.deadline_is_live("invoice_request_deadline"):
            return order.invoice_request_deadline or "—"
        return deadline_html(order.invoice_request_deadline)

    @display(description=gettext_lazy("invoice expected by"), ordering="invoice_expected_by")
    def invoice_expected_by_display(self, order):
        if not order.deadline_is_live("invoice_expected_by"):
            return order.invoice_expected_by or "—"
        return deadline_html(order.invoice_expected_by)

    @display(description=gettext_lazy("entity as filed"))
    def entity_display(self, order):
        snap = order.entity_snapshot
        return format_html(
            "{} ({}) · {}",
            snap.get("full_name", ""),
            snap.get("credit_code", ""),
            snap.get("legal_representative", ""),
        )

    @display(description=gettext_lazy("naming check"))
    def naming_display(self, order):
        if order.naming_ok is None:
            return "—"
        colour = TONE_COLOURS["success" if order.naming_ok else "danger"]
        mark = "✔" if order.naming_ok else "✘"
        return format_html('<span style="color:{}">{} {}</span>', colour, mark, order.naming_reason)

    @display(description=gettext_lazy("receipt"))
    def deposit_download(self, order):
        if not order.deposit_receipt:
            return "—"
        url = reverse("certification:deposit_download", args=[order.pk])
        return format_html('<a href="{}">{}</a>', url, _("download"))
