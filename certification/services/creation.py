"""Opening an order (R-CERT-01, R-CERT-14, R-POST-01/02/03): the checks, the entity
snapshot, the pre-fill from the previous success, the fee and the checklist."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AccountType, EntityKind, OfficialAccount
from certification import deadlines
from certification.models import DATA_FIELDS, Order, OrderKind, OrderStatus, ReviewCompany
from core.typing import Actor

from .application_data import _run_naming_check, entity_snapshot
from .checklist import _sync_checklist
from .common import _check_none_with_reviewer, _now, _record, _today
from .errors import CertificationError
from .fees import order_compute_fee


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
