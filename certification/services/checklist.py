"""The document checklist of an order (R-CERT-04/05/06/08/13): generating its rows,
what is missing, uploads (one or several) and verification."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from certification import documents
from certification.models import EDITABLE_STATUSES, ItemKind, ItemStatus, Order, OrderDocument
from core.typing import Actor

from .common import _lock, _now, _record, _require_status
from .errors import CertificationError


def _sync_checklist(order: Order) -> None:
    """Create missing checklist rows, drop rows no longer asked for (when still empty)."""
    items = documents.checklist(
        kind=order.entity_kind,
        subtype=order.entity_subtype,
        trademark_name=order.trademark_name,
        trademark_owned_by_entity=order.trademark_owned_by_entity,
        tm_registrant_is_person=order.tm_registrant_is_person,
        credit_code=order.entity_snapshot.get("credit_code", ""),
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


def order_missing_documents(order: Order) -> list[OrderDocument]:
    """R-CERT-04/05/06/08/13: the required checklist items that are not there yet."""
    return [doc for doc in order.documents.all() if doc.required and not doc.is_present]


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
