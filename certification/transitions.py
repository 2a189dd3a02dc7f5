"""The certification order's state machine as one table (R-CERT-02, R-CERT-10, R-CERT-12).

Each `Transition` says from which statuses it may run, where it leads, who may run it,
whether it asks for a confirmation page, and any extra condition on the order (`when`):
data only — this module imports no service, form or admin. Everything else is derived
from this table:

- `selectors.allowed_transitions` (the buttons the admin shows) — `offered`;
- the services' status guard (`services.common._require_transition`) —
  `Transition.sources` and `refused_as`;
- the admin's transition page (`certification.admin.transition_forms`, which binds each
  row to its service function and its form): its confirmation, its permission, its
  call — `destructive`/`confirm`, `permission`.

The services keep the business checks that need more than the status (a missing
document, a late resubmission…) and raise their own errors for them.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import COMPLETED_STATUSES, InvoiceType, Order, OrderStatus

# Where a transition leads: a status, the status it started from, or it depends on the
# order (a rejection after the third resubmission fails it, R-CERT-12).
Target: TypeAlias = OrderStatus | Literal["unchanged", "depends"]
Condition: TypeAlias = Callable[[Order, datetime.date], bool]

SEES_FEES = "certification.see_fees"  # Finance and Administrators: payment and invoices
VAT_INVOICES = (InvoiceType.VAT_ORDINARY, InvoiceType.VAT_SPECIAL)
BEFORE_PAYMENT = frozenset(
    {
        OrderStatus.DRAFT,
        OrderStatus.AGREEMENTS_ACCEPTED,
        OrderStatus.DATA_FILLED,
        OrderStatus.AWAITING_PAYMENT,
    }
)
# Orders Tencent is handling: an account has at most one application with the reviewer.
WITH_REVIEWER = frozenset({OrderStatus.IN_REVIEW, OrderStatus.REJECTED})
COMPLETED = frozenset(COMPLETED_STATUSES)


def _always(order: Order, today: datetime.date) -> bool:
    return True


@dataclass(frozen=True)
class Transition:
    name: str
    label: Promise  # the button and page title
    sources: frozenset[OrderStatus]
    target: Target
    # What the service's refusal says the order "cannot be … now" (its status is wrong).
    refused_as: Promise
    # Needed on top of changing the order (the scoped admin's change permission).
    permission: str | None = None
    destructive: bool = False  # "cannot be undone", on its own page, in red
    confirm: bool = False  # asks "are you sure?" on its own page, with the consequences
    when: Condition = _always  # offered only when this also holds (dates, fee, steps)

    def offered(self, order: Order, today: datetime.date) -> bool:
        return order.status in self.sources and self.when(order, today)

    def may(self, user: User | AnonymousUser) -> bool:
        return self.permission is None or user.has_perm(self.permission)


# --- the conditions beyond the status ------------------------------------------------------
def _agreement_not_accepted(order: Order, today: datetime.date) -> bool:
    return not order.service_agreement_accepted_at


def _agreement_accepted(order: Order, today: datetime.date) -> bool:
    return bool(order.service_agreement_accepted_at)


def _costs_something(order: Order, today: datetime.date) -> bool:
    return order.fee > 0


def _free(order: Order, today: datetime.date) -> bool:
    # R-POST-01: a free modification has nothing to invoice or pay.
    return not order.fee > 0


def _within_resubmission_window(order: Order, today: datetime.date) -> bool:
    # R-CERT-12: 30 days from the last rejection.
    return order.resubmission_deadline is None or today <= order.resubmission_deadline


def _invoice_can_be_requested(order: Order, today: datetime.date) -> bool:
    # R-CERT-10: no invoice chosen, within 30 days of completion.
    return bool(
        order.fee > 0
        and order.invoice_type == InvoiceType.NONE
        and not order.invoice_requested_at
        and order.invoice_request_deadline
        and today <= order.invoice_request_deadline
    )


def _invoice_next(step: str) -> Condition:
    """R-CERT-10: the invoice steps of a paid order with an invoice, one after the other."""
    steps = ("invoice_issued_on", "invoice_mailed_on", "invoice_received_on")
    done_before, this = steps[: steps.index(step)], step

    def condition(order: Order, today: datetime.date) -> bool:
        return bool(
            order.fee > 0
            and order.invoice_type in VAT_INVOICES
            and all(getattr(order, field) for field in done_before)
            and not getattr(order, this)
        )

    return condition


# --- the table, in the order the buttons show --------------------------------------------
_TABLE = (
    Transition(
        "accept_service_agreement",
        _("Accept the Certification Service Agreement"),
        sources=frozenset({OrderStatus.DRAFT}),
        target="unchanged",
        refused_as=_("accepted"),
        when=_agreement_not_accepted,
    ),
    Transition(
        "accept_naming_rules",
        _("Accept the Account Naming Rules"),
        sources=frozenset({OrderStatus.DRAFT}),
        target=OrderStatus.AGREEMENTS_ACCEPTED,
        refused_as=_("accepted"),
        when=_agreement_accepted,
    ),
    Transition(
        "complete_data",
        _("Data complete"),
        sources=frozenset({OrderStatus.AGREEMENTS_ACCEPTED}),
        target=OrderStatus.DATA_FILLED,
        refused_as=_("completed"),
    ),
    Transition(
        "choose_invoice",
        _("Choose the invoice"),
        sources=frozenset({OrderStatus.DATA_FILLED}),
        target=OrderStatus.AWAITING_PAYMENT,
        refused_as=_("given an invoice choice"),
        permission=SEES_FEES,
        when=_costs_something,
    ),
    Transition(
        "submit",
        _("Submit for review (free of charge)"),
        sources=frozenset({OrderStatus.DATA_FILLED}),
        target=OrderStatus.IN_REVIEW,
        refused_as=_("submitted"),
        when=_free,
    ),
    Transition(
        "pay",
        _("Record payment and submit for review"),
        sources=frozenset({OrderStatus.AWAITING_PAYMENT}),
        target=OrderStatus.IN_REVIEW,
        refused_as=_("paid"),
        permission=SEES_FEES,
    ),
    Transition(
        "resubmit",
        _("Resubmit"),
        sources=frozenset({OrderStatus.REJECTED}),
        target=OrderStatus.IN_REVIEW,
        refused_as=_("resubmitted"),
        when=_within_resubmission_window,
    ),
    Transition(
        # Certifies the account for a year and starts the invoice clock: confirm first.
        "succeed",
        _("Record success"),
        sources=frozenset({OrderStatus.IN_REVIEW}),
        target=OrderStatus.SUCCEEDED,
        refused_as=_("marked as succeeded"),
        confirm=True,
    ),
    Transition(
        "reject",
        _("Record a rejection"),
        sources=frozenset({OrderStatus.IN_REVIEW}),
        target="depends",  # R-CERT-12: failed after the third resubmission
        refused_as=_("rejected"),
    ),
    Transition(
        "fail",
        _("Record failure"),
        sources=WITH_REVIEWER,
        target=OrderStatus.FAILED,
        refused_as=_("marked as failed"),
        destructive=True,
    ),
    Transition(
        "record_deposit",
        _("Record the micro-deposit"),
        sources=WITH_REVIEWER,
        target="unchanged",
        refused_as=_("given a micro-deposit"),
    ),
    Transition(
        "request_invoice",
        _("Request the missing invoice"),
        sources=COMPLETED,
        target="unchanged",
        refused_as=_("given an invoice request"),
        permission=SEES_FEES,
        when=_invoice_can_be_requested,
    ),
    Transition(
        "invoice_issued",
        _("Invoice issued"),
        sources=COMPLETED,
        target="unchanged",
        refused_as=_("given invoice tracking"),
        permission=SEES_FEES,
        when=_invoice_next("invoice_issued_on"),
    ),
    Transition(
        "invoice_mailed",
        _("Invoice mailed"),
        sources=COMPLETED,
        target="unchanged",
        refused_as=_("given invoice tracking"),
        permission=SEES_FEES,
        when=_invoice_next("invoice_mailed_on"),
    ),
    Transition(
        "invoice_received",
        _("Invoice received"),
        sources=COMPLETED,
        target="unchanged",
        refused_as=_("given invoice tracking"),
        permission=SEES_FEES,
        when=_invoice_next("invoice_received_on"),
    ),
    Transition(
        # Withdraw before payment: nothing was charged (R-CERT-07).
        "cancel",
        _("Cancel the order"),
        sources=BEFORE_PAYMENT,
        target=OrderStatus.CANCELLED,
        refused_as=_("cancelled"),
        destructive=True,
    ),
)

TRANSITIONS: dict[str, Transition] = {t.name: t for t in _TABLE}


def offered(order: Order, *, today: datetime.date) -> list[Transition]:
    """The transitions the order's current state allows, in button order (R-CERT-02)."""
    return [t for t in TRANSITIONS.values() if t.offered(order, today)]
