"""The application data: edits, the naming check (R-CERT-08/09) and what still keeps
the data step from completing (R-CERT-03/04/05/06/08/09/13)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Entity
from certification import documents, naming
from certification.models import DATA_FIELDS, EDITABLE_STATUSES, ItemKind, ItemStatus, Order
from core.typing import Actor

from .checklist import _sync_checklist, order_missing_documents
from .common import _lock, _record, _require_status
from .errors import CertificationError

ENTITY_FIELDS = (
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
)

# R-CERT-03: the corporate bank account, entity field by entity field.
BANK_FIELDS = ("bank_name", "bank_account_number")


def entity_snapshot(entity: Entity) -> dict[str, Any]:
    """The entity data as filed with an order (strings only, JSON-safe)."""
    snapshot: dict[str, Any] = {}
    for field in ENTITY_FIELDS:
        value = getattr(entity, field)
        snapshot[field] = "" if value is None else str(value)
    snapshot["entity_id"] = entity.pk
    return snapshot


def refresh_entity_data(order: Order) -> bool:
    """While the order is editable, its entity data follows the entity (issue 29).

    The snapshot is "the entity data as filed": it is taken again from the entity until
    the order leaves the editable steps, so an entity corrected after the order was
    opened is picked up instead of forcing a new order. A value typed into the order's
    checklist (bank account, legal representative …) wins over the entity's and is
    never overwritten; an empty checklist value is filled from the entity. Files are
    never touched. Returns whether anything changed; the caller saves the snapshot
    (`entity_snapshot` in its update_fields) inside its transaction.
    """
    if order.status not in EDITABLE_STATUSES:
        return False
    entity_id = order.entity_snapshot.get("entity_id") or order.account.entity_id
    entity = Entity.objects.filter(pk=entity_id).first()
    snapshot = entity_snapshot(entity) if entity is not None else dict(order.entity_snapshot)
    changed_docs = []
    for doc in order.documents.filter(kind=ItemKind.VALUE):
        field = _entity_field(order, doc.code)
        if not field:
            continue
        if doc.value.strip():
            snapshot[field] = doc.value.strip()
        elif snapshot.get(field):
            doc.value = snapshot[field]
            doc.status = ItemStatus.RECEIVED
            doc.received_at = timezone.now()
            changed_docs.append(doc)
    for doc in changed_docs:
        doc.save(update_fields=["value", "status", "received_at"])
    changed = snapshot != order.entity_snapshot
    order.entity_snapshot = snapshot
    return changed or bool(changed_docs)


def _entity_field(order: Order, code: str) -> str:
    for item in documents.checklist(kind=order.entity_kind, subtype=order.entity_subtype):
        if item.code == code:
            return item.entity_field
    return ""


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
        refresh_entity_data(order)
        _sync_checklist(order)
        _run_naming_check(order)
        # Only the data fields: the status and dates come from the locked row, never
        # from a form instance that may be older than the last transition.
        order.save(
            update_fields=[*DATA_FIELDS, "entity_snapshot", "naming_ok", "naming_reason", "updated_at"]
        )
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
    missing_bank = [field for field in BANK_FIELDS if not snapshot.get(field)]
    if missing_bank:
        labels = "、".join(
            str(getattr(Entity._meta.get_field(field), "verbose_name", field)) for field in missing_bank
        )
        entity_id = snapshot.get("entity_id")
        url = reverse("admin:accounts_entity_change", args=[entity_id]) if entity_id else ""
        problems.setdefault("account", []).append(
            _(
                "The corporate bank account is mandatory (R-CERT-03) and “%(fields)s” is empty. "
                "Fill it in on the entity (%(url)s) or in this order's checklist, then try "
                "again: this order picks the entity's data up."
            )
            % {"fields": labels, "url": url}
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
