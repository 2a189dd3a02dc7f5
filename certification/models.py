"""Certification (微信认证), annual-review and modification orders.

An order is placed with Tencent for one official account. Its status changes only
through the service functions in `certification.services`; every change writes an
`OrderEvent` (who, when, why, from → to). Dates that matter are computed by
`certification.deadlines` and stored on the order so that lists can filter on them.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import deadlines

INITIAL_FEE = Decimal("300.00")
MODIFICATION_FEE = Decimal("200.00")
TENCENT_CS_PHONE = "0755-83763333"


def get_private_storage() -> FileSystemStorage:
    """Uploaded certification documents live outside any served directory.

    A callable, so migrations do not record the path; the files are only ever
    served by `certification.views.document_download` after a permission check.
    """
    return FileSystemStorage(location=settings.MEDIA_ROOT / "private", base_url=None)


def document_upload_to(instance: models.Model, filename: str) -> str:
    # The original name is kept for the download; the path never reveals it.
    import uuid

    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    order_id = getattr(instance, "order_id", None) or instance.pk
    return f"certification/{order_id}/{uuid.uuid4().hex}.{extension}"


class ReviewCompany(models.Model):
    """R-CERT-15: a third-party company that reviews applications, with hotline and hours."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    hotline = models.CharField(_("hotline"), max_length=40)
    opens_at = models.TimeField(_("opens at"))
    closes_at = models.TimeField(_("closes at"))

    class Meta:
        verbose_name = _("review company")
        verbose_name_plural = _("review companies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_open(self, now: datetime.datetime | None = None) -> bool:
        """R-CERT-15: open on Chinese working days between its hours, Asia/Shanghai time."""
        return deadlines.is_open(now or timezone.now(), self.opens_at, self.closes_at)


class OrderKind(models.TextChoices):
    INITIAL = "initial", _("Initial certification")
    ANNUAL_REVIEW = "annual_review", _("Annual review")
    MODIFICATION = "modification", _("Modification of certification data")


class OrderStatus(models.TextChoices):
    """R-CERT-02: the steps of an application, in order."""

    DRAFT = "draft", _("Draft: agreements to accept")
    AGREEMENTS_ACCEPTED = "agreements_accepted", _("Agreements accepted")
    DATA_FILLED = "data_filled", _("Data filled in")
    AWAITING_PAYMENT = "awaiting_payment", _("Invoice chosen, awaiting payment")
    IN_REVIEW = "in_review", _("In review")
    REJECTED = "rejected", _("Rejected, awaiting resubmission")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (
    OrderStatus.DRAFT,
    OrderStatus.AGREEMENTS_ACCEPTED,
    OrderStatus.DATA_FILLED,
    OrderStatus.AWAITING_PAYMENT,
    OrderStatus.IN_REVIEW,
    OrderStatus.REJECTED,
)
COMPLETED_STATUSES = (OrderStatus.SUCCEEDED, OrderStatus.FAILED)
EDITABLE_STATUSES = (
    OrderStatus.DRAFT,
    OrderStatus.AGREEMENTS_ACCEPTED,
    OrderStatus.DATA_FILLED,
    OrderStatus.REJECTED,
)

# The application data staff edit in the form while the order is editable.
DATA_FIELDS = (
    "review_company",
    "operator_name",
    "operator_id_type",
    "operator_phone",
    "trademark_name",
    "trademark_document",
    "trademark_owned_by_entity",
    "tm_registrant",
    "tm_registrant_is_person",
    "tm_registration_number",
    "tm_grantee",
    "tm_sealed_or_signed",
    "tm_use_from",
    "tm_use_until",
    "artist_name",
    "media_title",
    "naming_justification",
)


class FailureReason(models.TextChoices):
    """R-CERT-12: exactly these six reasons."""

    NOT_REGISTERED = "not_registered", _("Entity not legally registered")
    OPERATOR_NOT_AUTHORISED = "operator_not_authorised", _("Operator not authorised by the entity")
    OPERATOR_ID_WRONG = "operator_id_wrong", _("Operator ID data wrong")
    TRADEMARK_NOT_AUTHORISED = "trademark_not_authorised", _("Trademark not authorised")
    RESUBMITTED_THREE_TIMES = "resubmitted_three_times", _("Resubmitted three times and still non-compliant")
    TIMEOUT = "timeout", _("Timeout: no resubmission within 30 days of the first rejection")


class InvoiceType(models.TextChoices):
    """R-CERT-10: a VAT ordinary invoice by default; a special one needs Tencent's service."""

    NONE = "none", _("No invoice")
    VAT_ORDINARY = "vat_ordinary", _("VAT ordinary invoice")
    VAT_SPECIAL = "vat_special", _("VAT special invoice (contact Tencent customer service)")


class OperatorIdType(models.TextChoices):
    """R-CERT-06: the two accepted identity documents of the operator."""

    RESIDENT_ID = "resident_id", _("PRC resident identity card")
    TEMPORARY_RESIDENT_ID = "temporary_resident_id", _("Temporary resident identity card")


class TrademarkDocument(models.TextChoices):
    """R-CERT-08: a registration certificate, or an acceptance notice (not protected)."""

    CERTIFICATE = "certificate", _("Trademark registration certificate")
    ACCEPTANCE_NOTICE = "acceptance_notice", _("Trademark application acceptance notice")


NO_INVOICE = ("", "none")

#: Issue 29 — the one rule for which of an order's deadlines are live (R-CERT-10/11/12,
#: R-POST-02): the review deadline while the reviewer has the order, the resubmission
#: deadline while it is sent back, the missing-invoice deadline after completion while no
#: invoice was chosen or asked for, the invoice's arrival while one is owed and not yet
#: received, and the validity of a success. The hub, the order list, its "due" filter and
#: the order page all read this (`Order.live_deadlines`, `live_deadline_q`).
LIVE_DEADLINE_RULES: dict[str, Q] = {
    "review_due_on": Q(status=OrderStatus.IN_REVIEW),
    "resubmission_deadline": Q(status=OrderStatus.REJECTED),
    "invoice_request_deadline": Q(
        status__in=COMPLETED_STATUSES, invoice_type__in=NO_INVOICE, invoice_requested_at__isnull=True
    ),
    "invoice_expected_by": Q(status__in=COMPLETED_STATUSES, invoice_received_on__isnull=True)
    & (~Q(invoice_type__in=NO_INVOICE) | Q(invoice_requested_at__isnull=False)),
    "valid_until": Q(status=OrderStatus.SUCCEEDED),
}


def live_deadline_q(field: str) -> Q:
    """The orders whose `field` deadline is live and set (the rule above, for querysets)."""
    return LIVE_DEADLINE_RULES[field] & Q(**{f"{field}__isnull": False})


class OrderQuerySet(models.QuerySet["Order"]):
    def open(self) -> OrderQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def completed(self) -> OrderQuerySet:
        return self.filter(status__in=COMPLETED_STATUSES)


class Order(models.Model):
    """A certification order for one official account (R-CERT-02, R-POST-01/03)."""

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        verbose_name=_("official account"),
        on_delete=models.PROTECT,
        related_name="certification_orders",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=OrderKind)
    status = models.CharField(_("status"), max_length=30, choices=OrderStatus, default=OrderStatus.DRAFT)
    # The entity data as filed (the entity may change later; the order must not).
    entity_snapshot = models.JSONField(_("entity data as filed"), default=dict, editable=False)
    account_name = models.CharField(_("account name applied for"), max_length=64)

    # R-CERT-02 agreements, each with who and when.
    service_agreement_accepted_at = models.DateTimeField(
        _("service agreement accepted at"), null=True, blank=True, editable=False
    )
    service_agreement_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service agreement accepted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    naming_rules_accepted_at = models.DateTimeField(
        _("naming rules accepted at"), null=True, blank=True, editable=False
    )
    naming_rules_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("naming rules accepted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    # Operator (R-CERT-06).
    operator_name = models.CharField(_("operator name"), max_length=100, blank=True)
    operator_id_type = models.CharField(
        _("operator ID type"),
        max_length=30,
        choices=OperatorIdType,
        default=OperatorIdType.RESIDENT_ID,
    )
    operator_phone = models.CharField(_("operator phone"), max_length=40, blank=True)

    # Naming (R-CERT-08/09) and trademark (R-CERT-13).
    trademark_name = models.CharField(_("trademark used in the name"), max_length=100, blank=True)
    trademark_document = models.CharField(
        _("trademark document"), max_length=30, choices=TrademarkDocument, blank=True
    )
    trademark_owned_by_entity = models.BooleanField(_("trademark registered to the entity"), default=True)
    tm_registrant = models.CharField(_("trademark registrant"), max_length=200, blank=True)
    tm_registrant_is_person = models.BooleanField(_("registrant is a person"), default=False)
    tm_registration_number = models.CharField(
        _("registration / application number"), max_length=50, blank=True
    )
    tm_grantee = models.CharField(_("grantee"), max_length=200, blank=True)
    tm_sealed_or_signed = models.BooleanField(_("sealed or signed by the registrant"), default=False)
    tm_use_from = models.DateField(_("use permitted from"), null=True, blank=True)
    tm_use_until = models.DateField(_("use permitted until"), null=True, blank=True)
    artist_name = models.CharField(_("artist name"), max_length=100, blank=True)
    media_title = models.CharField(
        _("channel / programme / newspaper / periodical name"), max_length=100, blank=True
    )
    naming_ok = models.BooleanField(_("name complies"), null=True, editable=False)
    naming_reason = models.TextField(_("naming check result"), blank=True, editable=False)
    naming_justification = models.TextField(
        _("justification for a non-compliant name"),
        blank=True,
        help_text=_("Required to proceed when the naming check fails."),
    )

    # Invoice (R-CERT-10).
    invoice_type = models.CharField(_("invoice type"), max_length=20, choices=InvoiceType, blank=True)
    invoice_title = models.CharField(_("invoice title"), max_length=200, blank=True, editable=False)
    invoice_mailing_address = models.CharField(_("invoice mailing address"), max_length=300, blank=True)
    invoice_requested_at = models.DateTimeField(
        _("missing invoice requested at"), null=True, blank=True, editable=False
    )
    invoice_issued_on = models.DateField(_("invoice issued on"), null=True, blank=True, editable=False)
    invoice_mailed_on = models.DateField(_("invoice mailed on"), null=True, blank=True, editable=False)
    invoice_tracking_number = models.CharField(
        _("tracking number"), max_length=60, blank=True, editable=False
    )
    invoice_received_on = models.DateField(_("invoice received on"), null=True, blank=True, editable=False)

    # Fee and payment (R-CERT-07, R-POST-01): computed, never typed.
    fee = models.DecimalField(_("fee (CNY)"), max_digits=8, decimal_places=2, editable=False)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True, editable=False)
    wechat_pay_transaction_id = models.CharField(
        _("WeChat Pay transaction ID"), max_length=64, blank=True, editable=False
    )

    # Review (R-CERT-11, R-CERT-12, R-CERT-15).
    review_company = models.ForeignKey(
        ReviewCompany,
        verbose_name=_("review company"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    review_due_on = models.DateField(_("review due"), null=True, blank=True, editable=False)
    review_due_is_estimate = models.BooleanField(
        _("review due date is an estimate"), default=False, editable=False
    )
    first_rejected_at = models.DateTimeField(_("first rejected at"), null=True, blank=True, editable=False)
    resubmission_deadline = models.DateField(_("resubmit by"), null=True, blank=True, editable=False)
    rejection_count = models.PositiveSmallIntegerField(_("rejections"), default=0, editable=False)
    resubmission_count = models.PositiveSmallIntegerField(_("resubmissions"), default=0, editable=False)
    last_rejection_note = models.TextField(_("last rejection"), blank=True, editable=False)

    # Micro-deposit (R-CERT-03).
    deposit_amount = models.DecimalField(
        _("micro-deposit amount (CNY)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    deposit_remark = models.CharField(_("micro-deposit remark"), max_length=100, blank=True)
    deposit_received_on = models.DateField(_("micro-deposit received on"), null=True, blank=True)
    deposit_receipt = models.FileField(
        _("micro-deposit receipt"),
        upload_to=document_upload_to,
        storage=get_private_storage,
        blank=True,
        max_length=200,
    )
    deposit_receipt_uploaded_at = models.DateTimeField(
        _("receipt uploaded at"), null=True, blank=True, editable=False
    )

    # Completion (R-CERT-10: success or failure), certification (R-POST-02).
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True, editable=False)
    failure_reason = models.CharField(
        _("failure reason"), max_length=40, choices=FailureReason, blank=True, editable=False
    )
    valid_until = models.DateField(_("certification valid until"), null=True, blank=True, editable=False)
    annual_review_remind_on = models.DateField(
        _("annual review reminder on"), null=True, blank=True, editable=False
    )
    invoice_request_deadline = models.DateField(
        _("request a missing invoice by"), null=True, blank=True, editable=False
    )
    invoice_expected_by = models.DateField(_("invoice expected by"), null=True, blank=True, editable=False)
    renews = models.ForeignKey(
        "self",
        verbose_name=_("pre-filled from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("certification order")
        verbose_name_plural = _("certification orders")
        ordering = ["-created_at", "-id"]
        # Not "view_…": the Operators role gets every view_* permission of this app.
        permissions = [("see_fees", _("Can see fees, payments and invoices"))]
        constraints = [
            # One order of each kind in progress per account, even under races (a
            # modification may be prepared beside an annual review, R-POST-01/03).
            models.UniqueConstraint(
                fields=["account", "kind"],
                condition=Q(status__in=[s.value for s in OPEN_STATUSES]),
                name="cert_one_open_order_per_account_kind",
            ),
            models.CheckConstraint(
                condition=Q(fee__gte=0),
                name="cert_fee_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "review_due_on"], name="cert_status_due"),
            models.Index(fields=["status", "resubmission_deadline"], name="cert_status_resub"),
            models.Index(fields=["annual_review_remind_on"], name="cert_annual_remind"),
            models.Index(fields=["invoice_request_deadline"], name="cert_inv_request"),
            models.Index(fields=["invoice_expected_by"], name="cert_inv_expected"),
            models.Index(fields=["paid_at"], name="cert_paid_at"),
            # The changelist's default ordering, so a page is an index scan at any size.
            models.Index(fields=["-created_at", "-id"], name="cert_created_desc"),
        ]

    def __str__(self) -> str:
        return _("%(kind)s #%(id)s — %(account)s") % {
            "kind": self.get_kind_display(),
            "id": self.pk,
            "account": self.account_name,
        }

    # --- Reads used by the admin, reminders and services ----------------------------
    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_completed(self) -> bool:
        return self.status in COMPLETED_STATUSES

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE_STATUSES

    @property
    def entity_kind(self) -> str:
        kind: str = self.entity_snapshot.get("kind", "")
        return kind

    @property
    def entity_subtype(self) -> str:
        subtype: str = self.entity_snapshot.get("subtype", "")
        return subtype

    @property
    def needs_tencent_customer_service(self) -> bool:
        """R-CERT-10: a VAT special invoice is arranged with Tencent customer service."""
        return self.invoice_type == InvoiceType.VAT_SPECIAL

    @property
    def completed_on(self) -> datetime.date | None:
        return timezone.localdate(self.completed_at) if self.completed_at else None

    def deadline_is_live(self, field: str) -> bool:
        """Issue 29: the rule of `LIVE_DEADLINE_RULES`, for one order in memory."""
        completed = self.status in COMPLETED_STATUSES
        no_invoice = self.invoice_type in NO_INVOICE
        live = {
            "review_due_on": self.status == OrderStatus.IN_REVIEW,
            "resubmission_deadline": self.status == OrderStatus.REJECTED,
            "invoice_request_deadline": completed and no_invoice and self.invoice_requested_at is None,
            "invoice_expected_by": completed
            and self.invoice_received_on is None
            and (not no_invoice or self.invoice_requested_at is not None),
            "valid_until": self.status == OrderStatus.SUCCEEDED,
        }[field]
        return live and getattr(self, field) is not None

    def live_deadlines(self) -> dict[str, datetime.date]:
        """The order's live deadlines by field, in the order they come up (issue 29)."""
        return {field: getattr(self, field) for field in LIVE_DEADLINE_RULES if self.deadline_is_live(field)}

    def days_left(self, field: str, today: datetime.date | None = None) -> int | None:
        value = getattr(self, field)
        if value is None:
            return None
        return deadlines.days_left(value, today or timezone.localdate())

    def name_fields(self) -> list[str]:
        """The naming and trademark fields this order's entity needs (R-CERT-08/09/13).

        Enterprises may use a trademark in the name (R-CERT-08); the authorisation
        letter's five elements only when the trademark is someone else's (R-CERT-13);
        the artist's name only for an artist-authorised company; a channel, programme,
        newspaper or periodical title only for those media (an online media name must
        contain the institution's name, R-CERT-09).
        """
        from accounts.models import EntityKind, EntitySubtype

        fields = ["naming_display", "naming_justification"]
        if self.entity_kind == EntityKind.ENTERPRISE:
            fields += ["trademark_name", "trademark_document", "trademark_owned_by_entity"]
            if self.trademark_name and not self.trademark_owned_by_entity:
                fields += [
                    "tm_registrant",
                    "tm_registrant_is_person",
                    "tm_registration_number",
                    "tm_grantee",
                    "tm_sealed_or_signed",
                    "tm_use_from",
                    "tm_use_until",
                ]
            if self.entity_subtype == EntitySubtype.ARTIST_AGENCY:
                fields.append("artist_name")
        elif self.entity_kind == EntityKind.MEDIA and self.entity_subtype != EntitySubtype.ONLINE_MEDIA:
            fields.append("media_title")
        return fields

    def trademark_letter_problems(self) -> list[str]:
        """R-CERT-13: what a trademark authorisation letter lacks (empty when complete).

        Only asked for when a trademark in the name belongs to someone else.
        """
        if not self.trademark_name or self.trademark_owned_by_entity:
            return []
        problems = []
        if not self.tm_registrant:
            problems.append(str(_("the registrant")))
        if not self.tm_registration_number:
            problems.append(str(_("the registration or application number")))
        entity_name = self.entity_snapshot.get("full_name", "")
        if not self.tm_grantee:
            problems.append(str(_("the grantee")))
        elif self.tm_grantee.strip() != entity_name:
            problems.append(
                str(_("a grantee equal to the certifying entity “%(name)s”") % {"name": entity_name})
            )
        if not self.tm_sealed_or_signed:
            problems.append(str(_("the registrant's seal or signature")))
        if not (self.tm_use_from and self.tm_use_until):
            problems.append(str(_("the period of use")))
        elif self.tm_use_until < self.tm_use_from:
            problems.append(str(_("a period of use that ends after it starts")))
        return problems


# What each history action means, in words staff read (never the internal code).
ACTION_LABELS = {
    "create": _("Order created"),
    "edit": _("Data edited"),
    "accept_service_agreement": _("Certification Service Agreement accepted"),
    "accept_naming_rules": _("Account Naming Rules accepted"),
    "complete_data": _("Data completed"),
    "choose_invoice": _("Invoice chosen"),
    "pay": _("Paid and submitted for review"),
    "submit": _("Submitted for review (free of charge)"),
    "reject": _("Rejected by the reviewer"),
    "resubmit": _("Resubmitted"),
    "succeed": _("Certification succeeded"),
    "fail": _("Certification failed"),
    "cancel": _("Cancelled"),
    "record_deposit": _("Micro-deposit recorded"),
    "document_received": _("Document received"),
    "document_verified": _("Document verified"),
    "request_invoice": _("Missing invoice requested"),
    "invoice_issued": _("Invoice issued"),
    "invoice_mailed": _("Invoice mailed"),
    "invoice_received": _("Invoice received"),
    "certification_lapsed": _("Certification lapsed"),
    "wechat_qualification_verify_success": _("WeChat: qualification certification succeeded"),
    "wechat_qualification_verify_fail": _("WeChat: qualification certification failed"),
    "wechat_naming_verify_success": _("WeChat: name certification succeeded"),
    "wechat_naming_verify_fail": _("WeChat: name certification failed"),
    "wechat_annual_renew": _("WeChat: annual review notice"),
    "wechat_verify_expired": _("WeChat: certification expired"),
}


class OrderEvent(models.Model):
    """The audit trail of an order: every transition and every recorded fact."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=40)
    from_status = models.CharField(_("from"), max_length=30, blank=True)
    to_status = models.CharField(_("to"), max_length=30, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    note = models.TextField(_("why / details"), blank=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return str(self.action_label)

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS.get(self.action, self.action))

    @property
    def by_wechat(self) -> bool:
        """Done by WeChat itself (a certification event push), not by a staff member."""
        return self.action.startswith("wechat_")


class ItemKind(models.TextChoices):
    FILE = "file", _("Uploaded file")
    VALUE = "value", _("Value")


class ItemStatus(models.TextChoices):
    MISSING = "missing", _("Missing")
    RECEIVED = "received", _("Received")
    VERIFIED = "verified", _("Verified")


class OrderDocument(models.Model):
    """One item of an order's checklist (R-CERT-04/05/06/08/13): a file or a value."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="documents"
    )
    code = models.CharField(_("item"), max_length=60)
    label = models.CharField(_("description"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind)
    required = models.BooleanField(_("required"), default=True)
    file = models.FileField(
        _("file"), upload_to=document_upload_to, storage=get_private_storage, blank=True, max_length=200
    )
    original_name = models.CharField(_("original file name"), max_length=200, blank=True, editable=False)
    value = models.CharField(_("value"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ItemStatus, default=ItemStatus.MISSING)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True, editable=False)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True, editable=False)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    position = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "code"], name="cert_document_code_once"),
        ]

    def __str__(self) -> str:
        return str(_(self.label))  # stored as the English source, translated on display

    @property
    def is_present(self) -> bool:
        return bool(self.file) if self.kind == ItemKind.FILE else bool(self.value.strip())


class Milestone(models.TextChoices):
    ANNUAL_REVIEW = "annual_review", _("Annual review due in 3 months")
    RESUBMISSION = "resubmission", _("Resubmission deadline approaching")
    INVOICE_REQUEST = "invoice_request", _("Deadline to request a missing invoice approaching")
    INVOICE_EXPECTED = "invoice_expected", _("Invoice expected by date approaching")
    LAPSED = "lapsed", _("Certification lapsed")
    # What WeChat pushed (docs/wechat-protocol.md §f); the values are the event names.
    QUALIFICATION_SUCCESS = "qualification_verify_success", _("WeChat: qualification certification succeeded")
    QUALIFICATION_FAIL = "qualification_verify_fail", _("WeChat: qualification certification failed")
    NAMING_SUCCESS = "naming_verify_success", _("WeChat: name certification succeeded")
    NAMING_FAIL = "naming_verify_fail", _("WeChat: name certification failed")
    ANNUAL_RENEW = "annual_renew", _("WeChat: annual review notice")
    VERIFY_EXPIRED = "verify_expired", _("WeChat: certification expired")


class WeChatEventType(models.TextChoices):
    """The certification events WeChat pushes to the callback (docs/wechat-protocol.md §f)."""

    QUALIFICATION_SUCCESS = "qualification_verify_success", _("Qualification certification succeeded")
    QUALIFICATION_FAIL = "qualification_verify_fail", _("Qualification certification failed")
    NAMING_SUCCESS = "naming_verify_success", _("Name certification succeeded")
    NAMING_FAIL = "naming_verify_fail", _("Name certification failed")
    ANNUAL_RENEW = "annual_renew", _("Annual review notice")
    VERIFY_EXPIRED = "verify_expired", _("Certification expired")


class WeChatEvent(models.Model):
    """One certification event pushed by WeChat, and what we did with it.

    Unique per (account, event, CreateTime) — WeChat's retries of a push carry the
    same CreateTime — so a retry, or a second process handling the same push, finds
    the row and changes nothing.
    """

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="wechat_cert_events",
    )
    event = models.CharField(_("event"), max_length=40, choices=WeChatEventType)
    create_time = models.BigIntegerField(_("WeChat CreateTime"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="wechat_events",
    )
    expires_on = models.DateField(_("expiry date sent by WeChat"), null=True, blank=True)
    our_date = models.DateField(_("our expiry date"), null=True, blank=True)
    date_mismatch = models.BooleanField(_("dates disagree"), default=False)
    needs_attention = models.BooleanField(_("needs checking"), default=False)
    fail_reason = models.TextField(_("reason given by WeChat"), blank=True)
    outcome = models.TextField(_("what was done"), blank=True)

    class Meta:
        verbose_name = _("WeChat certification event")
        verbose_name_plural = _("WeChat certification events")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "event", "create_time"], name="cert_wechat_event_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} · {self.account_id}"


class Reminder(models.Model):
    """Proof that a milestone's reminder went out: one row per (order, milestone, due date)."""

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="reminders"
    )
    milestone = models.CharField(_("milestone"), max_length=30, choices=Milestone)
    due_on = models.DateField(_("due on"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-sent_at"]
        constraints = [
            # Per due date: each rejection opens its own resubmission window (R-CERT-12),
            # which gets its own reminder; every other milestone has one date per order.
            models.UniqueConstraint(
                fields=["order", "milestone", "due_on"], name="cert_reminder_once_per_due_date"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_milestone_display()} #{self.order_id}"


class Notification(models.Model):
    """An in-admin notification for one staff member (read / unread)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="certification_notifications",
    )
    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    milestone = models.CharField(_("milestone"), max_length=30, choices=Milestone)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    due_on = models.DateField(_("due on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "order", "milestone", "due_on"], name="cert_notification_once_per_due_date"
            ),
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="cert_notif_unread")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
