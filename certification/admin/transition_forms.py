"""The one transition table (`certification.transitions`) bound to what the admin does
with each row: the service function its page calls, the form the page asks, and which of
the form's cleaned fields the service takes.

The table itself is data only (statuses, targets, guards, permissions): it imports no
service, form or admin, so the services read their status guard from it and the forms
call the services without an import circle. `TRANSITIONS` here holds one
`TransitionPage` per row of the table, by the same name and in the same order;
`allowed_transitions` gives the pages of the rows `selectors.allowed_transitions`
offers (the buttons).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms as django_forms
from django.contrib.auth.models import AnonymousUser, User
from django.utils.functional import Promise

from certification import forms, selectors
from certification.models import Order, OrderStatus
from certification.services import invoices, review, steps, submission
from certification.transitions import TRANSITIONS as TABLE
from certification.transitions import Condition, Target, Transition
from core.typing import Actor


@dataclass(frozen=True)
class TransitionPage:
    """A row of the table with its service, its form and the form fields it passes on;
    the row's own data (name, label, sources, target, guards…) is read through."""

    transition: Transition
    service: Callable[..., Order]  # called as service(order=, by=, **form fields in `args`)
    # The form its page asks (None: a one-click button posting an empty note form).
    form: type[django_forms.Form] | None = None
    args: tuple[str, ...] = ()  # the form's cleaned fields passed on to the service

    @property
    def name(self) -> str:
        return self.transition.name

    @property
    def label(self) -> Promise:
        return self.transition.label

    @property
    def sources(self) -> frozenset[OrderStatus]:
        return self.transition.sources

    @property
    def target(self) -> Target:
        return self.transition.target

    @property
    def refused_as(self) -> Promise:
        return self.transition.refused_as

    @property
    def permission(self) -> str | None:
        return self.transition.permission

    @property
    def destructive(self) -> bool:
        return self.transition.destructive

    @property
    def confirm(self) -> bool:
        return self.transition.confirm

    @property
    def when(self) -> Condition:
        return self.transition.when

    @property
    def inline(self) -> bool:
        """A one-click button: no form to fill, nothing to confirm."""
        return self.form is None and not self.destructive and not self.confirm

    @property
    def page_form(self) -> type[django_forms.Form]:
        return self.form or forms.NoteForm

    def offered(self, order: Order, today: datetime.date) -> bool:
        return self.transition.offered(order, today)

    def may(self, user: User | AnonymousUser) -> bool:
        return self.transition.may(user)

    def run(self, *, order: Order, by: Actor, data: Mapping[str, Any]) -> Order:
        """Call the one service function behind the button with the form's data."""
        return self.service(order=order, by=by, **{arg: data[arg] for arg in self.args})


def _page(
    name: str,
    service: Callable[..., Order],
    form: type[django_forms.Form] | None = None,
    args: tuple[str, ...] = (),
) -> TransitionPage:
    return TransitionPage(TABLE[name], service, form, args)


# In the table's order; every row has its page (checked below).
_PAGES = (
    _page("accept_service_agreement", steps.order_accept_service_agreement),
    _page("accept_naming_rules", steps.order_accept_naming_rules),
    _page("complete_data", steps.order_complete_data),
    _page(
        "choose_invoice",
        steps.order_choose_invoice,
        forms.ChooseInvoiceForm,
        ("invoice_type", "mailing_address"),
    ),
    _page("submit", submission.order_submit_free, forms.SubmitFreeForm, ("review_company",)),
    _page(
        "pay",
        submission.order_pay,
        forms.PayForm,
        ("transaction_id", "paid_at", "review_company"),
    ),
    _page("resubmit", submission.order_resubmit, args=("note",)),
    _page("succeed", review.order_succeed, forms.NoteForm),
    _page("reject", review.order_reject, forms.RequiredNoteForm, ("note",)),
    _page("fail", review.order_fail, forms.FailForm, ("reason", "note")),
    _page(
        "record_deposit",
        review.order_record_deposit,
        forms.DepositForm,
        ("amount", "remark", "received_on", "receipt"),
    ),
    _page(
        "request_invoice",
        invoices.order_request_invoice,
        forms.RequestInvoiceForm,
        ("invoice_type", "mailing_address"),
    ),
    _page("invoice_issued", invoices.invoice_record_issued, forms.DateForm, ("on",)),
    _page("invoice_mailed", invoices.invoice_record_mailed, forms.MailedForm, ("on", "tracking_number")),
    _page("invoice_received", invoices.invoice_record_received, forms.DateForm, ("on",)),
    _page("cancel", steps.order_cancel, forms.NoteForm, ("note",)),
)

TRANSITIONS: dict[str, TransitionPage] = {page.name: page for page in _PAGES}
if list(TRANSITIONS) != list(TABLE):  # pragma: no cover - a row added without its page
    raise RuntimeError("certification.admin.transition_forms: bind every row of the table, in its order")


def allowed_transitions(order: Order, *, today: datetime.date | None = None) -> list[TransitionPage]:
    """The pages of the transitions the order's state allows (`selectors.allowed_transitions`)."""
    return [TRANSITIONS[t.name] for t in selectors.allowed_transitions(order, today=today)]
