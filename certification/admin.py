"""The certification admin: orders with their checklist, transitions as buttons, exports."""

from __future__ import annotations

import datetime
import re

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from import_export import fields as ie_fields
from import_export import resources
from import_export.admin import ExportMixin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import display

from accounts.exports import FormulaSafeResourceMixin, SafeExportAdminMixin
from accounts.models import OfficialAccount
from accounts.scoping import AccountScopedAdminMixin, require_account_access
from messaging.simulation import sandbox_base

from . import deadlines, selectors, services
from .forms import (
    OrderAddForm,
    OrderChangeForm,
    OrderDocumentForm,
    SimulateWeChatEventForm,
    add_errors,
    initial_for,
)
from .models import (
    DATA_FIELDS,
    ItemKind,
    Notification,
    Order,
    OrderDocument,
    OrderEvent,
    OrderKind,
    OrderStatus,
    Reminder,
    ReviewCompany,
    WeChatEvent,
)
from .transitions import TRANSITIONS

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
                    name = Order._meta.get_field(field.column_name).verbose_name
                except Exception:  # noqa: BLE001 - a computed column keeps its name
                    name = field.column_name
            headers.append(str(name))
        return headers


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
        if self.value() == "soon":
            return queryset.filter(
                Q(status=OrderStatus.IN_REVIEW, review_due_on__range=(today, soon))
                | Q(status=OrderStatus.REJECTED, resubmission_deadline__range=(today, soon))
                | Q(
                    status__in=[OrderStatus.SUCCEEDED, OrderStatus.FAILED],
                    invoice_received_on__isnull=True,
                    invoice_expected_by__range=(today, soon),
                )
            )
        if self.value() == "overdue":
            return queryset.filter(
                Q(status=OrderStatus.IN_REVIEW, review_due_on__lt=today)
                | Q(status=OrderStatus.REJECTED, resubmission_deadline__lt=today)
                | Q(
                    status__in=[OrderStatus.SUCCEEDED, OrderStatus.FAILED],
                    invoice_type__in=["vat_ordinary", "vat_special"],
                    invoice_received_on__isnull=True,
                    invoice_expected_by__lt=today,
                )
            )
        return queryset


def upload_errors_key(order_id: int) -> str:
    return f"certification:upload-errors:{order_id}"


class OrderDocumentInline(TabularInline):
    model = OrderDocument
    form = OrderDocumentForm
    extra = 0
    can_delete = False
    fields = ["item", "kind", "required", "file", "upload_problem", "download", "value", "status", "verify"]
    readonly_fields = ["item", "kind", "required", "status", "download", "upload_problem"]
    verbose_name_plural = gettext_lazy("Document checklist")
    upload_errors: dict = {}

    def has_add_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        # Inline instances are made per request: the refusals of the last upload (kept in
        # the session across the redirect) are shown once, next to their rows.
        if obj is not None:
            key = upload_errors_key(obj.pk)
            self.upload_errors = (
                request.session.pop(key, {}) if request.method == "GET" else request.session.get(key, {})
            )
        return super().get_formset(request, obj, **kwargs)

    @display(description=gettext_lazy("upload problem"))
    def upload_problem(self, document):
        problem = self.upload_errors.get(str(document.pk))
        if not problem:
            return ""
        return format_html('<span class="cert-upload-error" style="color:#b91c1c">{}</span>', problem)

    @display(description=gettext_lazy("item"))
    def item(self, document):
        return _(document.label)  # stored as the English source, translated here

    @display(description=gettext_lazy("download"))
    def download(self, document):
        if not document.file:
            return "—"
        url = reverse("certification:document_download", args=[document.pk])
        return format_html('<a href="{}">{}</a>', url, document.original_name or _("download"))

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_editable:
            fields += ["file", "value"]
        return fields


class OrderEventInline(TabularInline):
    """The history in words: what happened, the status change, who (or WeChat), why."""

    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ["at", "what", "status_change", "who", "details"]
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("History (who, when, why)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @display(description=gettext_lazy("what happened"))
    def what(self, event):
        return event.action_label

    @display(description=gettext_lazy("status"))
    def status_change(self, event):
        if not event.to_status or event.from_status == event.to_status:
            return "—"
        labels = dict(OrderStatus.choices)
        if not event.from_status:
            return labels.get(event.to_status, "—")
        return f"{labels.get(event.from_status, '—')} → {labels.get(event.to_status, '—')}"

    @display(description=gettext_lazy("by"))
    def who(self, event):
        if event.by_wechat:
            return _("WeChat")
        return event.by or _("the system")

    @display(description=gettext_lazy("why / details"))
    def details(self, event):
        return selectors.event_details(event)


@admin.register(Order)
class OrderAdmin(AccountScopedAdminMixin, SafeExportAdminMixin, ExportMixin, ModelAdmin):
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
    list_filter = ["status", "kind", "review_company", DueFilter]
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
            created = services.order_create(
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
            services.order_update_data(order=obj, by=request.user, changed=form.changed_data)

    def save_formset(self, request, form, formset, change):
        if formset.model is not OrderDocument:
            super().save_formset(request, form, formset, change)
            return
        for doc_form in formset.forms:
            document = doc_form.instance
            if "file" in doc_form.changed_data and doc_form.cleaned_data.get("file"):
                services.document_upload(
                    document=document, by=request.user, uploaded=doc_form.cleaned_data["file"]
                )
            elif "value" in doc_form.changed_data and document.kind == ItemKind.VALUE:
                services.document_upload(
                    document=document, by=request.user, value=doc_form.cleaned_data.get("value", "")
                )
            if doc_form.cleaned_data.get("verify"):
                document.refresh_from_db()
                services.document_verify(document=document, by=request.user)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id:
            self._upload_documents_one_by_one(request, object_id)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.CertificationError as exc:
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
        kept, refused = services.documents_upload_each(order=order, by=request.user, files=chosen)
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
                t
                for t in selectors.allowed_transitions(obj, today=today)
                if can_change and t.may(request.user)
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
                    "missing_documents": [_(d.label) for d in services.order_missing_documents(obj)]
                    if obj.is_editable
                    else [],
                    "company_open": obj.review_company.is_open() if obj.review_company else None,
                    "review_due_html": deadline_html(obj.review_due_on, estimate=obj.review_due_is_estimate)
                    if obj.status == OrderStatus.IN_REVIEW
                    else None,
                    "resubmit_html": deadline_html(obj.resubmission_deadline)
                    if obj.status == OrderStatus.REJECTED
                    else None,
                    "valid_until_html": deadline_html(obj.valid_until) if obj.valid_until else None,
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
        # Only while the reviewer has it: a finished order has no review deadline.
        if order.status != OrderStatus.IN_REVIEW:
            return "—"
        return deadline_html(order.review_due_on, estimate=order.review_due_is_estimate)

    @display(description=gettext_lazy("resubmit by"), ordering="resubmission_deadline")
    def resubmit_by_display(self, order):
        if order.status != OrderStatus.REJECTED:
            return "—"
        return deadline_html(order.resubmission_deadline)

    @display(description=gettext_lazy("request a missing invoice by"))
    def invoice_request_deadline_display(self, order):
        if order.invoice_type != "none" or order.invoice_requested_at:
            return order.invoice_request_deadline or "—"
        return deadline_html(order.invoice_request_deadline)

    @display(description=gettext_lazy("invoice expected by"), ordering="invoice_expected_by")
    def invoice_expected_by_display(self, order):
        if order.invoice_received_on or order.invoice_type in ("", "none"):
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

    # --- custom pages: transitions and the one-click annual review ---------------------------
    def get_urls(self):
        urls = [
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="certification_order_transition",
            ),
            path(
                "<path:object_id>/simulate-wechat-event/",
                self.admin_site.admin_view(self.simulate_event_view),
                name="certification_order_simulate_event",
            ),
            path(
                "start-annual-review/<int:account_id>/",
                self.admin_site.admin_view(self.start_annual_view),
                name="certification_order_start_annual",
            ),
        ]
        return urls + super().get_urls()

    def transition_view(self, request, object_id, name):
        """One transition: GET shows its form (or confirmation), POST calls its service."""
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        transition = TRANSITIONS.get(name)
        if transition is None:
            raise Http404
        if not transition.may(request.user):
            raise PermissionDenied
        change_url = reverse("admin:certification_order_change", args=[order.pk])
        if transition not in selectors.allowed_transitions(order):
            self.message_user(
                request,
                _("“%(action)s” is not possible in this state.") % {"action": transition.label},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        form_class = transition.page_form
        if request.method == "POST":
            form = form_class(request.POST, request.FILES)
            if form.is_valid():
                try:
                    with transaction.atomic():
                        transition.run(order=order, by=request.user, data=form.cleaned_data)
                except services.CertificationError as exc:
                    add_errors(form, exc)
                else:
                    self.log_change(request, order, str(transition.label))
                    self.message_user(
                        request, _("Done: %(action)s.") % {"action": transition.label}, messages.SUCCESS
                    )
                    return HttpResponseRedirect(change_url)
        else:
            form = form_class(initial=initial_for(name, order))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": transition.label,
            "order": order,
            "transition": transition,
            "form": form,
            "change_url": change_url,
            "tencent_cs_phone": "0755-83763333",
            # R-POST-02: what a success will set, shown before it is confirmed.
            "certified_until": deadlines.certification_valid_until(timezone.localdate())
            if name == "succeed" and order.kind != OrderKind.MODIFICATION
            else None,
        }
        return TemplateResponse(request, "admin/certification/order/transition.html", context)

    def simulate_event_view(self, request, object_id):
        """Offline only: ask the sandbox to push one of WeChat's certification events to
        this order's account, so staff see what the real push would do."""
        from messaging.simulation import SimulationError, sandbox_base, simulate_via_sandbox

        order = self.get_object(request, object_id)
        if order is None:
            raise Http404
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        change_url = reverse("admin:certification_order_change", args=[order.pk])
        if sandbox_base() is None:
            self.message_user(request, _("Simulated WeChat events need the WeChat sandbox."), messages.ERROR)
            return HttpResponseRedirect(change_url)
        form = SimulateWeChatEventForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                simulate_via_sandbox(account=order.account, payload=form.payload())
            except SimulationError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request,
                    _("The sandbox pushed “%(event)s” as WeChat would.")
                    % {"event": dict(form.fields["event"].choices)[form.cleaned_data["event"]]},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Simulate a WeChat certification event"),
            "order": order,
            "transition": {"label": _("Simulate a WeChat certification event"), "name": "simulate"},
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/certification/order/transition.html", context)

    def start_annual_view(self, request, account_id):
        """R-POST-02/03: from a reminder, one click opens the pre-filled annual review."""
        account = get_object_or_404(OfficialAccount.objects.select_related("entity"), pk=account_id)
        require_account_access(request.user, account)
        if not self.has_add_permission(request):
            raise PermissionDenied
        error = None
        today = timezone.localdate()
        early = services.annual_review_is_early(account=account, today=today)
        if request.method == "POST":
            try:
                order = services.order_create(
                    account=account,
                    kind=OrderKind.ANNUAL_REVIEW,
                    by=request.user,
                    early_ok=request.POST.get("confirm_early") == "1",
                )
            except services.CertificationError as exc:
                error = exc.user_message
            else:
                self.log_addition(request, order, str(_("Annual review started")))
                self.message_user(
                    request,
                    _("Annual review order #%(id)s created and pre-filled.") % {"id": order.pk},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:certification_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Start the annual review"),
            "account": account,
            "error": error,
            # R-POST-02: more than 3 months before expiry it is early — warn, ask to confirm.
            "early": early,
            "remind_on": deadlines.annual_review_reminder_on(account.certified_until)
            if account.certified_until
            else None,
            "days_left": (account.certified_until - today).days if account.certified_until else None,
        }
        return TemplateResponse(request, "admin/certification/order/start_annual.html", context)


@admin.register(ReviewCompany)
class ReviewCompanyAdmin(ModelAdmin):
    """R-CERT-15: reference data, seeded by a migration."""

    list_display = ["name", "hotline", "opens_at", "closes_at", "open_now"]
    search_fields = ["name", "hotline"]

    @display(description=gettext_lazy("open now"), boolean=True)
    def open_now(self, company):
        return company.is_open()


@admin.register(Notification)
class NotificationAdmin(ModelAdmin):
    """Each staff member sees only their own notifications."""

    list_display = ["title", "milestone", "due_on", "created_at", "is_read_display", "link"]
    list_filter = ["milestone", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "body"]
    list_select_related = ["order"]
    readonly_fields = ["user", "order", "milestone", "title", "body", "due_on", "created_at", "read_at"]
    actions = ["mark_read", "mark_unread"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(user=request.user)

    def has_view_permission(self, request, obj=None):
        return (
            request.user.is_active
            and request.user.is_staff
            and (obj is None or obj.user_id == request.user.pk)
        )

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.user_id == request.user.pk

    def change_view(self, request, object_id, form_url="", extra_context=None):
        Notification.objects.filter(pk=object_id, user=request.user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        return super().change_view(request, object_id, form_url, extra_context)

    @display(description=gettext_lazy("read"), boolean=True)
    def is_read_display(self, notification):
        return notification.is_read

    @display(description=gettext_lazy("open"))
    def link(self, notification):
        if notification.order_id is None:
            return "—"
        if notification.milestone == "annual_review":
            url = reverse("admin:certification_order_start_annual", args=[notification.order.account_id])
            return format_html('<a href="{}">{}</a>', url, _("Start the annual review"))
        url = reverse("admin:certification_order_change", args=[notification.order_id])
        return format_html('<a href="{}">#{}</a>', url, notification.order_id)

    @admin.action(description=gettext_lazy("Mark as read"))
    def mark_read(self, request, queryset):
        count = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        self.message_user(
            request,
            ngettext(
                "%(count)d notification marked as read.", "%(count)d notifications marked as read.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Mark as unread"))
    def mark_unread(self, request, queryset):
        count = queryset.exclude(read_at__isnull=True).update(read_at=None)
        self.message_user(
            request,
            ngettext(
                "%(count)d notification marked as unread.", "%(count)d notifications marked as unread.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Reminder)
class ReminderAdmin(AccountScopedAdminMixin, ModelAdmin):
    """The proof of each reminder sent (one per order and milestone)."""

    account_path = "order__account"
    list_display = ["order", "milestone", "due_on", "sent_at", "recipients"]
    list_filter = ["milestone"]
    list_select_related = ["order"]
    search_fields = ["order__account_name", "order__account__name"]
    raw_id_fields = ["order"]
    readonly_fields = ["order", "milestone", "due_on", "sent_at", "recipients"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WeChatEvent)
class WeChatEventAdmin(AccountScopedAdminMixin, ModelAdmin):
    """What WeChat pushed about certifications and what was done with it (read-only)."""

    account_path = "account"
    list_display = [
        "received_at",
        "account",
        "event",
        "order_link",
        "expires_on",
        "our_date",
        "date_mismatch",
        "needs_attention",
    ]
    list_filter = ["event", "needs_attention", "date_mismatch"]
    search_fields = ["account__name", "account__appid", "fail_reason", "outcome"]
    list_select_related = ["account", "order"]
    readonly_fields = [
        "account",
        "event",
        "create_time",
        "received_at",
        "order",
        "expires_on",
        "our_date",
        "date_mismatch",
        "needs_attention",
        "fail_reason",
        "outcome",
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description=gettext_lazy("order"))
    def order_link(self, record):
        if record.order_id is None:
            return "—"
        url = reverse("admin:certification_order_change", args=[record.order_id])
        return format_html('<a href="{}">#{}</a>', url, record.order_id)
