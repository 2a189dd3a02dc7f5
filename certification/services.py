"""Writes on certification orders: each transition is one function here.

Every function takes keyword-only arguments, runs in one transaction, locks the
order (`select_for_update`), checks the current status (a transition: against its row
in `certification.transitions`, `_require_transition`), raises `CertificationError`
(a translated ValidationError naming the field/reason) otherwise, and writes an
`OrderEvent` (who, when, why, from → to).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from accounts.models import AccountType, Entity, EntityKind, OfficialAccount
from core.domain_errors import DomainError
from core.typing import Actor

from . import deadlines, documents, naming
from .models import (
    DATA_FIELDS,
    EDITABLE_STATUSES,
    INITIAL_FEE,
    MODIFICATION_FEE,
    FailureReason,
    InvoiceType,
    ItemKind,
    ItemStatus,
    Order,
    OrderDocument,
    OrderEvent,
    OrderKind,
    OrderStatus,
    ReviewCompany,
)

MAX_RESUBMISSIONS = 3


class CertificationError(DomainError, ValidationError):
    """A business rule refused the operation; the message says which and why."""


# --- helpers ------------------------------------------------------------------------------
def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _today(now: datetime.datetime) -> datetime.date:
    return timezone.localdate(now)


def _record(
    order: Order,
    *,
    action: str,
    by: Actor,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    at: datetime.datetime | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        action=action,
        from_status=from_status,
        to_status=to_status,
        by=by if by is not None and by.is_authenticated else None,
        at=at or timezone.now(),
        note=note,
    )


def _lock(order: Order) -> Order:
    return Order.objects.select_for_update().select_related("account", "account__entity").get(pk=order.pk)


def _require_status(order: Order, allowed: Iterable[str], action_label: str | Promise) -> None:
    if order.status not in allowed:
        raise CertificationError(
            _("Order #%(id)s is “%(status)s”; it cannot be %(action)s now.")
            % {"id": order.pk, "status": order.get_status_display(), "action": action_label},
            code="wrong_status",
        )


def _require_transition(order: Order, name: str) -> None:
    """The status guard of every transition: the statuses its row in the one table
    (`certification.transitions`) allows it from, and the refusal that row words."""
    # Imported here: the table names these very service functions.
    from .transitions import TRANSITIONS

    transition = TRANSITIONS[name]
    _require_status(order, transition.sources, transition.refused_as)


def _move(
    order: Order,
    *,
    to: str,
    action: str,
    by: Actor,
    note: str = "",
    now: datetime.datetime | None = None,
    update_fields: Iterable[str] = (),
) -> Order:
    from_status = order.status
    order.status = to
    order.save(update_fields=["status", "updated_at", *update_fields])
    _record(order, action=action, by=by, from_status=from_status, to_status=to, note=note, at=now)
    return order


def entity_snapshot(entity: Entity) -> dict[str, Any]:
    """The entity data as filed with an order (strings only, JSON-safe)."""
    fields = [
        "full_name",
        "short_name",
        "kind",
        "subtype",
        "credit_code",
        "legal_representative",
        "registered_capital",
        "office_address",
        "office_phone",
        "bank_name",
        "bank_account_number",
    ]
    snapshot: dict[str, Any] = {}
    for field in fields:
        value = getattr(entity, field)
        snapshot[field] = "" if value is None else str(value)
    snapshot["entity_id"] = entity.pk
    return snapshot


# --- fees ---------------------------------------------------------------------------------
def order_compute_fee(*, account: OfficialAccount, kind: str) -> Decimal:
    """R-CERT-07 / R-POST-03: 300 CNY for an initial certification or an annual review,
    charged whatever the outcome. R-POST-01: a modification is free the first time within
    the current certification period, 200 CNY each time after.
    """
    if kind in (OrderKind.INITIAL, OrderKind.ANNUAL_REVIEW):
        return INITIAL_FEE
    earlier = Order.objects.filter(account=account, kind=OrderKind.MODIFICATION).exclude(
        status=OrderStatus.CANCELLED
    )
    period_start = certification_period_start(account)
    if period_start is not None:
        earlier = earlier.filter(created_at__gte=period_start)
    return MODIFICATION_FEE if earlier.exists() else Decimal("0.00")


def certifying_order(account: OfficialAccount) -> Order | None:
    """The stored success that set the account's current certification: the succeeded
    initial certification or annual review whose `valid_until` is `certified_until`
    (only those two kinds set a validity). None when no order of ours set it (an
    account imported as certified) or the account is not certified."""
    if account.certified_until is None:
        return None
    return (
        Order.objects.filter(
            account=account,
            status=OrderStatus.SUCCEEDED,
            kind__in=[OrderKind.INITIAL, OrderKind.ANNUAL_REVIEW],
            valid_until=account.certified_until,
        )
        .order_by("-completed_at")
        .first()
    )


def certification_period_start(account: OfficialAccount) -> datetime.datetime | None:
    """R-POST-01: when the current certification period began — the stored success of the
    initial certification or annual review that set `certified_until` (`certifying_order`).

    Read from the order, never computed as `certified_until − 12 months` (a success on
    29 February would shift it; Clarifications, R-POST-01). None when no order of ours
    set the certification (an account imported as certified): every earlier
    modification then counts, so the fee is never wrongly waived.
    """
    order = certifying_order(account)
    return order.completed_at if order is not None else None


# --- creation -----------------------------------------------------------------------------
def order_check_can_create(
    *, account: OfficialAccount, kind: str, today: datetime.date | None = None, early_ok: bool = False
) -> None:
    """Raise CertificationError unless `account` may open an order of `kind` now.

    R-CERT-01: only enterprise or media *service* accounts. R-POST-03: an annual
    review needs a certification; R-POST-01: a modification a valid one. One order
    of each kind in progress per account, and none while another is with the reviewer
    (`_check_none_with_reviewer`). R-POST-02: an annual review started more than 3
    months before expiry needs `early_ok` (the staff confirmed it).
    """
    today = today or timezone.localdate()
    entity = account.entity
    if account.account_type != AccountType.SERVICE:
        raise CertificationError(
            {
                "account": _("“%(name)s” is a subscription account: only service accounts can be certified.")
                % {"name": account.name}
            },
            code="not_service",
        )
    if entity.kind not in (EntityKind.ENTERPRISE, EntityKind.MEDIA):
        raise CertificationError(
            {"account": _("Only enterprise and media entities can be certified.")},
            code="wrong_entity_kind",
        )
    open_orders = list(Order.objects.filter(account=account).open().only("pk", "kind", "status"))
    if any(o.kind == kind or kind == OrderKind.INITIAL or o.kind == OrderKind.INITIAL for o in open_orders):
        raise CertificationError(
            {"account": _("“%(name)s” already has an order in progress.") % {"name": account.name}},
            code="order_in_progress",
        )
    _check_none_with_reviewer(open_orders, field="account")
    if kind == OrderKind.INITIAL and account.is_certified(today):
        raise CertificationError(
            {
                "kind": _("“%(name)s” is certified until %(date)s: file an annual review instead.")
                % {"name": account.name, "date": account.certified_until}
            },
            code="already_certified",
        )
    if kind == OrderKind.ANNUAL_REVIEW and account.certified_until is None:
        raise CertificationError(
            {
                "kind": _("“%(name)s” has no certification to review: file an initial certification.")
                % {"name": account.name}
            },
            code="not_certified",
        )
    if kind == OrderKind.MODIFICATION and not account.is_certified(today):
        raise CertificationError(
            {"kind": _("Certification data can only be modified while the certification is valid.")},
            code="not_certified",
        )
    if (
        kind == OrderKind.ANNUAL_REVIEW
        and account.certified_until is not None  # checked above; said again for the type
        and not early_ok
        and annual_review_is_early(account=account, today=today)
    ):
        raise CertificationError(
            {
                "kind": _(
                    "The certification of “%(name)s” is valid until %(date)s: an annual "
                    "review is usually started from %(from)s, 3 months before. Starting "
                    "it now costs 300 CNY all the same. Confirm to start it early."
                )
                % {
                    "name": account.name,
                    "date": account.certified_until,
                    "from": deadlines.annual_review_reminder_on(account.certified_until),
                }
            },
            code="annual_review_early",
        )


def annual_review_is_early(*, account: OfficialAccount, today: datetime.date) -> bool:
    """R-POST-02: the annual review is due from 3 months before expiry (the reminder
    date); starting it sooner is allowed but asks for a confirmation."""
    return bool(
        account.certified_until and today < deadlines.annual_review_reminder_on(account.certified_until)
    )


# Orders Tencent is handling: an account has at most one application with the reviewer.
WITH_REVIEWER = (OrderStatus.IN_REVIEW, OrderStatus.REJECTED)


def _check_none_with_reviewer(
    orders: Iterable[Order], *, field: str | None = None, exclude: int | None = None
) -> None:
    """R-POST-01 / R-POST-03: a modification may be prepared while an annual review is
    being prepared (and the other way round) — the chapter lets data be modified while
    the certification is valid — but only one application at a time is with Tencent's
    reviewer, so neither is opened or submitted while the other is in review."""
    for other in orders:
        if other.pk != exclude and other.status in WITH_REVIEWER:
            message = _("Order #%(id)s (%(kind)s) is with the reviewer: wait until it is finished.") % {
                "id": other.pk,
                "kind": other.get_kind_display(),
            }
            raise CertificationError({field: message} if field else message, code="other_order_in_review")


# What a new order copies from the account's previous one: the application data (the review
# company by id; not the naming justification) and the invoice mailing address.
PREFILLED_FIELDS = (
    *(field for field in DATA_FIELDS if field not in {"review_company", "naming_justification"}),
    "invoice_mailing_address",
    "review_company_id",
)


def _prefill_from(previous: Order | None) -> dict[str, Any]:
    if previous is None:
        return {}
    return {field: getattr(previous, field) for field in PREFILLED_FIELDS}


def order_create(
    *,
    account: OfficialAccount,
    kind: str,
    by: Actor,
    review_company: ReviewCompany | None = None,
    now: datetime.datetime | None = None,
    early_ok: bool = False,
) -> Order:
    """Open an order for one official account.

    R-CERT-01: only enterprise or media *service* accounts can be certified.
    R-CERT-14: one entity may certify several accounts (nothing stops it here).
    R-POST-01: a modification needs a valid certification; R-POST-03: an annual
    review follows a certification and has the same process and fee.
    The fee is computed (R-CERT-07, R-POST-01); the entity data is snapshotted; the
    document checklist is generated; an annual review is pre-filled from the last
    successful order of the account.
    """
    now = _now(now)
    today = _today(now)
    if kind not in OrderKind.values:
        raise CertificationError({"kind": _("Unknown order kind.")})
    with transaction.atomic():
        # Lock the account: two modification orders filed at once must not both be free.
        account = (
            OfficialAccount.objects.select_for_update(of=("self",))
            .select_related("entity")
            .get(pk=account.pk)
        )
        entity = account.entity
        order_check_can_create(account=account, kind=kind, today=today, early_ok=early_ok)
        previous = None
        if kind != OrderKind.INITIAL:
            previous = (
                Order.objects.filter(account=account, status=OrderStatus.SUCCEEDED)
                .order_by("-completed_at")
                .first()
            )
        prefill = _prefill_from(previous)
        if review_company is not None:
            prefill["review_company_id"] = review_company.pk
        order = Order.objects.create(
            account=account,
            kind=kind,
            entity_snapshot=entity_snapshot(entity),
            account_name=account.name,
            fee=order_compute_fee(account=account, kind=kind),
            created_by=by if by is not None and by.is_authenticated else None,
            renews=previous,
            **prefill,
        )
        # Fees and invoice details stay on the order (fees permission), not in the history.
        _record(order, action="create", by=by, to_status=order.status, at=now, note=order.get_kind_display())
        _sync_checklist(order)
        _run_naming_check(order)
        order.save(update_fields=["naming_ok", "naming_reason"])
    return order


# --- checklist and naming -------------------------------------------------------------------
def _sync_checklist(order: Order) -> None:
    """Create missing checklist rows, drop rows no longer asked for (when still empty)."""
    items = documents.checklist(
        kind=order.entity_kind,
        subtype=order.entity_subtype,
        trademark_name=order.trademark_name,
        trademark_owned_by_entity=order.trademark_owned_by_entity,
        tm_registrant_is_person=order.tm_registrant_is_person,
    )
    existing = {doc.code: doc for doc in order.documents.all()}
    wanted = {item.code for item in items}
    to_create = []
    for position, item in enumerate(items):
        doc = existing.get(item.code)
        # Labels are stored as their English source and translated on display.
        with translation.override("en"):
            label = str(item.label)
        if doc is None:
            value = order.entity_snapshot.get(item.entity_field, "") if item.entity_field else ""
            to_create.append(
                OrderDocument(
                    order=order,
                    code=item.code,
                    label=label,
                    kind=item.kind,
                    required=item.required,
                    value=value,
                    position=position,
                    status=ItemStatus.RECEIVED if value else ItemStatus.MISSING,
                    received_at=timezone.now() if value else None,
                )
            )
        elif (doc.label, doc.required, doc.position) != (label, item.required, position):
            doc.label, doc.required, doc.position = label, item.required, position
            doc.save(update_fields=["label", "required", "position"])
    OrderDocument.objects.bulk_create(to_create)
    stale = [
        doc.pk for code, doc in existing.items() if code not in wanted and not doc.file and not doc.value
    ]
    OrderDocument.objects.filter(pk__in=stale).delete()


def _run_naming_check(order: Order) -> naming.NamingResult:
    snapshot = order.entity_snapshot
    result = naming.check_name(
        account_name=order.account_name,
        kind=snapshot.get("kind", ""),
        subtype=snapshot.get("subtype", ""),
        full_name=snapshot.get("full_name", ""),
        short_name=snapshot.get("short_name", ""),
        trademark_name=order.trademark_name,
        trademark_document=order.trademark_document,
        artist_name=order.artist_name,
        media_title=order.media_title,
    )
    order.naming_ok = result.ok
    order.naming_reason = result.reason
    return result


def order_missing_documents(order: Order) -> list[OrderDocument]:
    """R-CERT-04/05/06/08/13: the required checklist items that are not there yet."""
    return [doc for doc in order.documents.all() if doc.required and not doc.is_present]


def order_update_data(*, order: Order, by: Actor, changed: Iterable[str] = ()) -> Order:
    """Record edits of the application data (made through the admin form).

    Only while the order is editable (before submission, or rejected); re-runs the
    naming check (R-CERT-08/09) and re-generates the checklist (trademark items,
    R-CERT-08/13). Trademark use needs its document kind.
    """
    with transaction.atomic():
        locked = _lock(order)
        _require_status(locked, EDITABLE_STATUSES, _("edited"))
        if order.trademark_name and not order.trademark_document:
            raise CertificationError(
                {
                    "trademark_document": _(
                        "Say whether the trademark is backed by a "
                        "registration certificate or an acceptance notice."
                    )
                }
            )
        _sync_checklist(order)
        _run_naming_check(order)
        # Only the data fields: the status and dates come from the locked row, never
        # from a form instance that may be older than the last transition.
        order.save(update_fields=[*DATA_FIELDS, "naming_ok", "naming_reason", "updated_at"])
        if changed:
            _record(order, action="edit", by=by, note=", ".join(sorted(changed)))
    return order


# --- R-CERT-02: the steps ---------------------------------------------------------------------
def order_accept_service_agreement(*, order: Order, by: Actor, now: datetime.datetime | None = None) -> Order:
    """R-CERT-02 step 1: accept the Certification Service Agreement (who and when)."""
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "accept_service_agreement")
        if order.service_agreement_accepted_at:
            raise CertificationError(_("The service agreement is already accepted."))
        order.service_agreement_accepted_at = now
        order.service_agreement_accepted_by = by
        order.save(
            update_fields=["service_agreement_accepted_at", "service_agreement_accepted_by", "updated_at"]
        )
        _record(
            order,
            action="accept_service_agreement",
            by=by,
            from_status=order.status,
            to_status=order.status,
            at=now,
        )
    return order


def order_accept_naming_rules(*, order: Order, by: Actor, now: datetime.datetime | None = None) -> Order:
    """R-CERT-02 step 2: accept the Account Naming Rules, only after the service agreement."""
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "accept_naming_rules")
        if not order.service_agreement_accepted_at:
            raise CertificationError(
                _("Accept the Certification Service Agreement first."), code="step_skipped"
            )
        order.naming_rules_accepted_at = now
        order.naming_rules_accepted_by = by
        _move(
            order,
            to=OrderStatus.AGREEMENTS_ACCEPTED,
            action="accept_naming_rules",
            by=by,
            now=now,
            update_fields=["naming_rules_accepted_at", "naming_rules_accepted_by"],
        )
    return order


def order_data_problems(order: Order) -> dict[str, list[str]]:
    """What prevents the data step from completing, by field (empty when complete).

    R-CERT-03 bank account, R-CERT-06 operator, R-CERT-08/09 naming (or a written
    justification), R-CERT-13 trademark letter, R-CERT-04/05 required documents.
    """
    problems: dict[str, list[str]] = {}
    if not order.operator_name.strip():
        problems.setdefault("operator_name", []).append(_("The operator's name is required."))
    snapshot = order.entity_snapshot
    if not (snapshot.get("bank_name") and snapshot.get("bank_account_number")):
        problems.setdefault("account", []).append(
            _(
                "The entity has no corporate bank account (bank and account number): it is "
                "mandatory. Complete the entity, then start a new order."
            )
        )
    if order.trademark_name and not order.trademark_document:
        problems.setdefault("trademark_document", []).append(
            _("Say which trademark document backs the name.")
        )
    _run_naming_check(order)
    if not order.naming_ok and not order.naming_justification.strip():
        problems.setdefault("naming_justification", []).append(
            _("The name fails the naming check: %(reason)s Write a justification to proceed.")
            % {"reason": order.naming_reason}
        )
    letter = order.trademark_letter_problems()
    if letter:
        problems.setdefault("trademark_authorisation", []).append(
            _("The trademark authorisation letter must contain: %(items)s.") % {"items": "; ".join(letter)}
        )
    missing = order_missing_documents(order)
    if missing:
        problems.setdefault("documents", []).append(
            _("Required documents missing: %(items)s.")
            % {"items": "; ".join(_(doc.label) for doc in missing)}
        )
    return problems


def order_complete_data(*, order: Order, by: Actor, now: datetime.datetime | None = None) -> Order:
    """R-CERT-02 step 3: the data (business, operator, basic data) is filled in.

    Refused with every problem listed (see `order_data_problems`).
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "complete_data")
        problems = order_data_problems(order)
        if problems:
            raise CertificationError(problems, code="data_incomplete")
        _move(
            order,
            to=OrderStatus.DATA_FILLED,
            action="complete_data",
            by=by,
            now=now,
            update_fields=["naming_ok", "naming_reason"],
        )
    return order


def order_choose_invoice(
    *,
    order: Order,
    by: Actor,
    invoice_type: str,
    mailing_address: str = "",
    now: datetime.datetime | None = None,
) -> Order:
    """R-CERT-02 step 4 / R-CERT-10: choose the invoice; the title is the entity's full name.

    A VAT special invoice is flagged as needing Tencent customer service; a paper
    invoice needs the applicant's mailing address.
    """
    now = _now(now)
    if invoice_type not in InvoiceType.values:
        raise CertificationError({"invoice_type": _("Choose an invoice type.")})
    if invoice_type != InvoiceType.NONE and not mailing_address.strip():
        raise CertificationError(
            {"invoice_mailing_address": _("A mailing address is needed for the invoice.")}
        )
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "choose_invoice")
        if order.fee <= 0:
            raise CertificationError(
                _("This order is free of charge: there is nothing to pay or invoice. Submit it for review."),
                code="free_order",
            )
        order.invoice_type = invoice_type
        order.invoice_title = order.entity_snapshot.get("full_name", "")
        order.invoice_mailing_address = mailing_address.strip()
        _move(
            order,
            to=OrderStatus.AWAITING_PAYMENT,
            action="choose_invoice",
            by=by,
            now=now,
            update_fields=["invoice_type", "invoice_title", "invoice_mailing_address"],
        )
    return order


def order_submit_free(
    *,
    order: Order,
    by: Actor,
    review_company: ReviewCompany | None = None,
    now: datetime.datetime | None = None,
) -> Order:
    """R-POST-01 / R-CERT-02: a free modification (0 CNY) skips the invoice and payment
    steps — there is nothing to pay or invoice — and goes from "data filled in" straight
    into review. R-CERT-11: the review due date is set.
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "submit")
        if order.fee > 0:
            raise CertificationError(
                _("This order costs %(fee)s CNY: choose the invoice and record the payment.")
                % {"fee": order.fee},
                code="not_free",
            )
        order.invoice_type = InvoiceType.NONE
        _send_to_review(
            order, action="submit", by=by, now=now, review_company=review_company, changed=["invoice_type"]
        )
    return order


def _submit(order: Order, now: datetime.datetime) -> None:
    """R-CERT-11: a complete submission starts the 15-working-day review clock.

    Only one application of an account is with the reviewer at a time.
    """
    _check_none_with_reviewer(Order.objects.filter(account_id=order.account_id).open().exclude(pk=order.pk))
    missing = order_missing_documents(order)
    if missing:
        raise CertificationError(
            {
                "documents": _("Cannot submit for review; required documents missing: %(items)s.")
                % {"items": "; ".join(_(doc.label) for doc in missing)}
            },
            code="documents_missing",
        )
    due = deadlines.review_due(_today(now))
    order.submitted_at = now
    order.review_due_on = due.date
    order.review_due_is_estimate = due.estimate


def _send_to_review(
    order: Order,
    *,
    action: str,
    by: Actor,
    now: datetime.datetime,
    review_company: ReviewCompany | None = None,
    note: str = "",
    changed: Iterable[str] = (),
) -> None:
    """Submit (R-CERT-11's clock) and move the order to the reviewer, saving `changed` too:
    the free submission, the payment and the resubmission all end this way."""
    fields = [*changed, "submitted_at", "review_due_on", "review_due_is_estimate"]
    if review_company is not None:
        order.review_company = review_company
        fields.append("review_company")
    _submit(order, now)
    _move(order, to=OrderStatus.IN_REVIEW, action=action, by=by, now=now, note=note, update_fields=fields)


def order_pay(
    *,
    order: Order,
    by: Actor,
    transaction_id: str = "",
    paid_at: datetime.datetime | None = None,
    review_company: ReviewCompany | None = None,
    now: datetime.datetime | None = None,
) -> Order:
    """R-CERT-02 steps 5–6: pay the fee by WeChat Pay (R-CERT-07); the order enters review.

    A paid order needs the WeChat Pay transaction id and time; a free modification
    (R-POST-01) goes straight to review. R-CERT-11: the review due date is set.
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "pay")
        if order.fee > 0:
            transaction_id = transaction_id.strip()
            if not transaction_id:
                raise CertificationError(
                    {
                        "transaction_id": _(
                            "Enter the WeChat Pay transaction ID: the fee is paid by WeChat Pay only."
                        )
                    }
                )
            validate_wechat_pay_transaction_id(transaction_id, order=order)
            if paid_at is None:
                raise CertificationError({"paid_at": _("Enter when the fee was paid.")})
            if paid_at > now:
                raise CertificationError({"paid_at": _("The payment time is in the future.")})
            order.wechat_pay_transaction_id = transaction_id.strip()
            order.paid_at = paid_at
        # The transaction id stays on the order (fees permission), not in the history.
        _send_to_review(
            order,
            action="pay",
            by=by,
            now=now,
            review_company=review_company,
            changed=["wechat_pay_transaction_id", "paid_at"],
        )
    return order


WECHAT_PAY_TRANSACTION_ID = re.compile(r"\d{28,32}")


def validate_wechat_pay_transaction_id(value: str, *, order: Order | None = None) -> None:
    """R-CERT-07: the WeChat Pay order number (微信支付订单号) — digits only, 28 in every
    receipt (up to 32 allowed by WeChat Pay's API) — and not already used by another
    order: one payment pays one application."""
    if not WECHAT_PAY_TRANSACTION_ID.fullmatch(value):
        raise CertificationError(
            {
                "transaction_id": _(
                    "“%(value)s” is not a WeChat Pay transaction ID: it is the 28-digit number on "
                    "the WeChat Pay receipt (微信支付订单号), for example 4200001234202611290123456789."
                )
                % {"value": value[:40]}
            },
            code="bad_transaction_id",
        )
    used = Order.objects.filter(wechat_pay_transaction_id=value)
    if order is not None:
        used = used.exclude(pk=order.pk)
    other = used.values_list("pk", flat=True).first()
    if other is not None:
        raise CertificationError(
            {
                "transaction_id": _("This WeChat Pay transaction ID already paid order #%(id)s.")
                % {"id": other}
            },
            code="transaction_id_used",
        )


def order_reject(*, order: Order, by: Actor, note: str, now: datetime.datetime | None = None) -> Order:
    """The reviewer found the data non-compliant.

    R-CERT-12: the first rejection starts a 30-calendar-day resubmission window, and so
    does every later one, counted from that rejection (Clarifications); a rejection
    after the third resubmission fails the order ("resubmitted three times").
    """
    now = _now(now)
    if not note.strip():
        raise CertificationError({"note": _("Say what the reviewer rejected.")})
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "reject")
        order.rejection_count += 1
        order.last_rejection_note = note
        fields = ["rejection_count", "last_rejection_note"]
        if order.resubmission_count >= MAX_RESUBMISSIONS:
            order.save(update_fields=fields)
            reason = FailureReason.RESUBMITTED_THREE_TIMES
            _fail(order, by=by, reason=reason, note=_failure_note(reason, note), now=now)
            return order
        if order.first_rejected_at is None:
            order.first_rejected_at = now
            fields.append("first_rejected_at")
        # Every rejection opens its own 30-day window (Clarifications, R-CERT-12).
        order.resubmission_deadline = deadlines.resubmission_deadline(_today(now))
        fields.append("resubmission_deadline")
        _move(
            order, to=OrderStatus.REJECTED, action="reject", by=by, now=now, note=note, update_fields=fields
        )
    return order


def order_resubmit(*, order: Order, by: Actor, note: str = "", now: datetime.datetime | None = None) -> Order:
    """Resubmit corrected data; R-CERT-12: only within 30 days of the rejection.

    R-CERT-11: the review clock restarts.
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "resubmit")
        if order.resubmission_deadline and _today(now) > order.resubmission_deadline:
            raise CertificationError(
                _("The resubmission deadline (%(date)s) has passed; the order fails for timeout.")
                % {"date": order.resubmission_deadline},
                code="resubmission_late",
            )
        order.resubmission_count += 1
        _send_to_review(order, action="resubmit", by=by, now=now, note=note, changed=["resubmission_count"])
    return order


def _complete(order: Order, now: datetime.datetime) -> list[str]:
    """R-CERT-10: completion (success or failure) starts the invoice deadlines."""
    completed_on = _today(now)
    order.completed_at = now
    fields = ["completed_at"]
    if order.fee > 0:
        order.invoice_request_deadline = deadlines.invoice_request_deadline(completed_on)
        order.invoice_expected_by = deadlines.invoice_expected_by(completed_on)
        fields += ["invoice_request_deadline", "invoice_expected_by"]
    return fields


def order_succeed(
    *,
    order: Order,
    by: Actor,
    now: datetime.datetime | None = None,
    valid_until: datetime.date | None = None,
    action: str = "succeed",
    note: str = "",
) -> Order:
    """The review passed.

    R-POST-02: an initial certification or annual review is valid for one year from
    today; the account's `certified_until` moves there (R-CERT-16 badge) and the
    annual-review reminder date (3 months before) is known now. R-CERT-10: invoice
    deadlines start. A modification leaves the validity as it is. `valid_until`
    overrides our date when WeChat sent its own (`certification.wechat_events`).
    """
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "succeed")
        fields = _complete(order, now)
        if order.kind in (OrderKind.INITIAL, OrderKind.ANNUAL_REVIEW):
            order.valid_until = valid_until or deadlines.certification_valid_until(_today(now))
            order.annual_review_remind_on = deadlines.annual_review_reminder_on(order.valid_until)
            fields += ["valid_until", "annual_review_remind_on"]
            OfficialAccount.objects.filter(pk=order.account_id).update(
                certified_until=order.valid_until, updated_at=now
            )
        certified = _("Certified until %(date)s") % {"date": order.valid_until} if order.valid_until else ""
        _move(
            order,
            to=OrderStatus.SUCCEEDED,
            action=action,
            by=by,
            now=now,
            note=" ".join(part for part in (certified, note) if part),
            update_fields=fields,
        )
    return order


def _failure_note(reason: str, note: str) -> str:
    """The history note of a failure recorded by staff or WeChat: the reason, then why."""
    return f"{FailureReason(reason).label}. {note}".strip()


def _fail(
    order: Order, *, by: Actor, reason: str, note: str, now: datetime.datetime, action: str = "fail"
) -> None:
    """Fail a locked order: R-CERT-10 invoice deadlines start, `note` is the history's
    note; R-POST-04: a failed annual review loses the certification."""
    fields = _complete(order, now)
    order.failure_reason = reason
    fields.append("failure_reason")
    _move(
        order,
        to=OrderStatus.FAILED,
        action=action,
        by=by,
        now=now,
        note=note,
        update_fields=fields,
    )
    if order.kind == OrderKind.ANNUAL_REVIEW:
        # R-POST-04: a failed annual review loses the badge and certification data.
        from .reminders import notify_lapsed

        accounts_decertify(account_ids=[order.account_id], now=now)
        notify_lapsed([order], now=now, failed_review=True)


def accounts_decertify(*, account_ids: Iterable[int], now: datetime.datetime) -> int:
    """R-POST-04 / R-KF-01: the certification is gone — the badge and certification data
    go, and everything that needs certification stops: the customer-service plug-in is
    switched off (no agent can be added until the account is certified again).
    """
    return OfficialAccount.objects.filter(pk__in=list(account_ids)).update(
        certified_until=None, kf_enabled=False, updated_at=now
    )


def order_fail(
    *,
    order: Order,
    by: Actor,
    reason: str,
    note: str = "",
    now: datetime.datetime | None = None,
    action: str = "fail",
) -> Order:
    """The review failed for one of the six reasons of R-CERT-12.

    R-POST-04: a failed annual review clears the account's certification.
    """
    now = _now(now)
    if reason not in FailureReason.values:
        raise CertificationError({"reason": _("Choose one of the six failure reasons.")})
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "fail")
        _fail(order, by=by, reason=reason, note=_failure_note(reason, note), now=now, action=action)
    return order


def order_cancel(*, order: Order, by: Actor, note: str = "", now: datetime.datetime | None = None) -> Order:
    """Withdraw an order before it is paid (nothing was charged, R-CERT-07)."""
    now = _now(now)
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "cancel")
        _move(order, to=OrderStatus.CANCELLED, action="cancel", by=by, now=now, note=note)
    return order


# --- R-CERT-03 micro-deposit, documents ----------------------------------------------------
def order_record_deposit(
    *,
    order: Order,
    by: Actor,
    amount: Decimal,
    remark: str,
    received_on: datetime.date,
    receipt: File[Any] | None = None,
    now: datetime.datetime | None = None,
) -> Order:
    """R-CERT-03: the reviewer's micro-deposit (amount, remark, date) and its receipt."""
    now = _now(now)
    if amount is None or amount <= 0:
        raise CertificationError({"amount": _("Enter the amount received.")})
    if received_on > _today(now):
        raise CertificationError({"received_on": _("The date received is in the future.")})
    if receipt is not None:
        documents.validate_upload(receipt, code="deposit_receipt")
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "record_deposit")
        order.deposit_amount = amount
        order.deposit_remark = remark
        order.deposit_received_on = received_on
        if receipt is not None:
            order.deposit_receipt = receipt
            order.deposit_receipt_uploaded_at = now
        order.save()
        _record(
            order,
            action="record_deposit",
            by=by,
            from_status=order.status,
            to_status=order.status,
            at=now,
            note=remark,
        )
    return order


def document_upload(
    *,
    document: OrderDocument,
    by: Actor,
    uploaded: File[Any] | None = None,
    value: str | None = None,
    now: datetime.datetime | None = None,
) -> OrderDocument:
    """Attach a file (size/type checked) or a value to a checklist item: it is received."""
    now = _now(now)
    with transaction.atomic():
        order = _lock(document.order)
        _require_status(order, EDITABLE_STATUSES, _("changed"))
        document = OrderDocument.objects.select_for_update().get(pk=document.pk)
        if document.kind == ItemKind.FILE:
            if uploaded is None:
                raise CertificationError({"file": _("Choose a file to upload.")})
            documents.validate_upload(uploaded, code=document.code)
            document.original_name = (uploaded.name or "")[:200]
            document.file = uploaded
        else:
            if not (value or "").strip():
                raise CertificationError({"value": _("Enter a value.")})
            document.value = (value or "").strip()
        document.status = ItemStatus.RECEIVED
        document.received_at = now
        document.verified_at = document.verified_by = None
        document.save()
        _record(
            order,
            action="document_received",
            by=by,
            from_status=order.status,
            to_status=order.status,
            at=now,
            note=document.code,
        )
    return document


def documents_upload_each(
    *,
    order: Order,
    by: Actor,
    files: Mapping[int, File[Any]],
    now: datetime.datetime | None = None,
) -> tuple[list[OrderDocument], dict[int, str]]:
    """Attach several files, each to its checklist item, one by one.

    Each file is checked and stored in its own transaction: a bad file is refused with
    its reason (by document id) and changes nothing, the good ones are kept. R-CERT-04/05.
    """
    documents_by_id = {doc.pk: doc for doc in order.documents.filter(pk__in=list(files))}
    kept: list[OrderDocument] = []
    refused: dict[int, str] = {}
    for document_id, uploaded in files.items():
        document = documents_by_id.get(document_id)
        if document is None:
            continue
        try:
            kept.append(document_upload(document=document, by=by, uploaded=uploaded, now=now))
        except ValidationError as exc:  # CertificationError included
            refused[document_id] = " ".join(exc.messages)
    return kept, refused


def document_verify(
    *, document: OrderDocument, by: Actor, now: datetime.datetime | None = None
) -> OrderDocument:
    """Mark a received checklist item as verified by a staff member."""
    now = _now(now)
    with transaction.atomic():
        document = OrderDocument.objects.select_for_update().get(pk=document.pk)
        if not document.is_present:
            raise CertificationError(_("“%(item)s” has not been received yet.") % {"item": _(document.label)})
        document.status = ItemStatus.VERIFIED
        document.verified_at = now
        document.verified_by = by
        document.save(update_fields=["status", "verified_at", "verified_by"])
        _record(document.order, action="document_verified", by=by, at=now, note=document.code)
    return document


# --- R-CERT-10 invoices after completion -----------------------------------------------------
def order_request_invoice(
    *, order: Order, by: Actor, invoice_type: str, mailing_address: str, now: datetime.datetime | None = None
) -> Order:
    """R-CERT-10: no invoice chosen? It can be requested within 30 days after completion."""
    now = _now(now)
    if invoice_type not in (InvoiceType.VAT_ORDINARY, InvoiceType.VAT_SPECIAL):
        raise CertificationError({"invoice_type": _("Choose an invoice type.")})
    if not mailing_address.strip():
        raise CertificationError(
            {"invoice_mailing_address": _("A mailing address is needed for the invoice.")}
        )
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, "request_invoice")
        if order.invoice_type != InvoiceType.NONE or order.invoice_requested_at:
            raise CertificationError(_("An invoice was already chosen for this order."))
        if order.fee <= 0:
            raise CertificationError(_("Nothing was paid: there is no invoice to request."))
        # Set by `_complete` for every paid order.
        assert order.invoice_request_deadline is not None
        if _today(now) > order.invoice_request_deadline:
            raise CertificationError(
                _("A missing invoice could be requested until %(date)s (30 days after completion).")
                % {"date": order.invoice_request_deadline},
                code="invoice_request_late",
            )
        order.invoice_type = invoice_type
        order.invoice_title = order.entity_snapshot.get("full_name", "")
        order.invoice_mailing_address = mailing_address.strip()
        order.invoice_requested_at = now
        order.save(
            update_fields=[
                "invoice_type",
                "invoice_title",
                "invoice_mailing_address",
                "invoice_requested_at",
                "updated_at",
            ]
        )
        _record(order, action="request_invoice", by=by, at=now)
    return order


def _invoice_step(
    order: Order,
    *,
    by: Actor,
    action: str,
    now: datetime.datetime,
    requires: str | None,
    set_fields: dict[str, Any],
) -> Order:
    with transaction.atomic():
        order = _lock(order)
        _require_transition(order, action)
        if order.invoice_type in ("", InvoiceType.NONE):
            raise CertificationError(_("No invoice was chosen or requested for this order."))
        if requires and getattr(order, requires) is None:
            raise CertificationError(_("Record the previous invoice step first."))
        for field, value in set_fields.items():
            setattr(order, field, value)
        order.save(update_fields=[*set_fields, "updated_at"])
        _record(order, action=action, by=by, at=now)
    return order


def invoice_record_issued(
    *, order: Order, by: Actor, on: datetime.date, now: datetime.datetime | None = None
) -> Order:
    """R-CERT-10: Tencent issued the invoice."""
    return _invoice_step(
        order,
        by=by,
        action="invoice_issued",
        now=_now(now),
        requires=None,
        set_fields={"invoice_issued_on": on},
    )


def invoice_record_mailed(
    *, order: Order, by: Actor, on: datetime.date, tracking_number: str, now: datetime.datetime | None = None
) -> Order:
    """R-CERT-10: the invoice was mailed, with its tracking number."""
    if not tracking_number.strip():
        raise CertificationError({"tracking_number": _("Enter the tracking number.")})
    return _invoice_step(
        order,
        by=by,
        action="invoice_mailed",
        now=_now(now),
        requires="invoice_issued_on",
        set_fields={"invoice_mailed_on": on, "invoice_tracking_number": tracking_number.strip()},
    )


def invoice_record_received(
    *, order: Order, by: Actor, on: datetime.date, now: datetime.datetime | None = None
) -> Order:
    """R-CERT-10: the applicant received the invoice."""
    return _invoice_step(
        order,
        by=by,
        action="invoice_received",
        now=_now(now),
        requires="invoice_mailed_on",
        set_fields={"invoice_received_on": on},
    )


# --- sweeps run by beat -------------------------------------------------------------------------
SWEEP_BATCH = 1000


def orders_fail_timed_out(*, now: datetime.datetime | None = None, batch_size: int = SWEEP_BATCH) -> int:
    """R-CERT-12: fail with reason "timeout" every rejected order not resubmitted within
    30 calendar days of its rejection. Only rejected orders: an order with the
    reviewer never times out. R-POST-04: a timed-out annual review clears the
    account's certification and switches its customer-service plug-in off.

    Idempotent: rows are claimed in batches with FOR UPDATE SKIP LOCKED by state, so a
    second run (or a second beat host) finds nothing to do; each is failed by `_fail`, as
    staff would fail it (history, invoice deadlines, R-POST-04 notifications).
    """
    now = _now(now)
    today = _today(now)
    failed = 0
    reason = FailureReason.TIMEOUT
    while True:
        with transaction.atomic():
            orders = list(
                Order.objects.select_for_update(skip_locked=True)
                .filter(status=OrderStatus.REJECTED, resubmission_deadline__lt=today)
                .order_by("pk")[:batch_size]
            )
            if not orders:
                break
            for order in orders:
                # The history says the reason only: nobody wrote a note.
                _fail(order, by=None, reason=reason, note=str(reason.label), now=now)
            failed += len(orders)
    return failed


def accounts_expire_certifications(*, now: datetime.datetime | None = None) -> int:
    """R-POST-04: an account that missed its annual review loses badge and certification.

    R-KF-01: its customer-service plug-in is switched off (`accounts_decertify`).
    Clears `certified_until` once it lies in the past (the badge is already gone the
    day after, `OfficialAccount.is_certified`), and notes it on the order that
    certified the account, with an in-admin notification to the account's staff.
    Idempotent: a cleared account is not selected again.
    """
    from .reminders import notify_lapsed

    now = _now(now)
    today = _today(now)
    with transaction.atomic():
        accounts = list(
            OfficialAccount.objects.select_for_update(skip_locked=True)
            .filter(certified_until__lt=today)
            .values_list("pk", "certified_until")
        )
        if not accounts:
            return 0
        account_ids = [pk for pk, _until in accounts]
        lapsed = list(
            Order.objects.filter(
                status=OrderStatus.SUCCEEDED,
                account_id__in=account_ids,
                valid_until=F("account__certified_until"),
            )
        )
        orders = [order.pk for order in lapsed]
        accounts_decertify(account_ids=account_ids, now=now)
        OrderEvent.objects.bulk_create(
            [
                OrderEvent(
                    order_id=pk,
                    action="certification_lapsed",
                    at=now,
                    note=_(
                        "Annual review missed: the certification lapsed; WeChat may "
                        "change the account's name by force."
                    ),
                )
                for pk in orders
            ]
        )
        notify_lapsed(lapsed, now=now)
    return len(accounts)
