"""The application data: edits, the naming check (R-CERT-08/09) and what still keeps
the data step from completing (R-CERT-03/04/05/06/08/09/13)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from certification import naming
from certification.models import DATA_FIELDS, EDITABLE_STATUSES, Order
from core.typing import Actor

from .checklist import _sync_checklist, order_missing_documents
from .common import _lock, _record, _require_status
from .errors import CertificationError


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
