"""The document checklist of an order, generated from the entity's type and subtype.

Pure functions: `checklist(...)` returns the items; services turn them into
`OrderDocument` rows. Upload limits are validated here too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import EntityKind, EntitySubtype

FILE = "file"
VALUE = "value"

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_VIDEO_BYTES = 50 * 1024 * 1024
DOCUMENT_EXTENSIONS = {".pdf", ".jpg", ".jpeg", ".png"}
VIDEO_EXTENSIONS = {".mp4", ".mov"}
# Magic numbers: a renamed executable is refused even with a .pdf name.
SIGNATURES = {
    ".pdf": (b"%PDF",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}
VIDEO_CODES = {"artist_video"}


@dataclass(frozen=True)
class Item:
    code: str
    label: str | Promise  # translated on display; stored as its English source
    kind: str = FILE
    required: bool = True
    entity_field: str = ""  # for values: where the entity snapshot holds it


APPLICATION_LETTERS: dict[str, Promise] = {
    EntitySubtype.GENERAL_ENTERPRISE: _("Application letter to Tencent (general enterprise)"),
    EntitySubtype.ARTIST_AGENCY: _("Application letter to Tencent (artist-authorised company)"),
    EntitySubtype.INDIVIDUAL_BUSINESS: _("Application letter to Tencent (individual business)"),
}

MEDIA_LICENCES: dict[str, Promise] = {
    EntitySubtype.BROADCAST_TV: _("Broadcasting-institution licence or channel licence"),
    EntitySubtype.NEWSPAPER: _("Newspaper publication licence"),
    EntitySubtype.PERIODICAL: _("Periodical publication licence"),
    EntitySubtype.ONLINE_MEDIA: _(
        "Internet news information service licence or audio-visual programme licence"
    ),
}


def _operator_items() -> list[Item]:
    """R-CERT-06: the operator's identity document (resident or temporary ID), both sides."""
    return [
        Item("operator_id_front", _("Operator ID scan, front")),
        Item("operator_id_back", _("Operator ID scan, back")),
    ]


def _bank_items() -> list[Item]:
    """R-CERT-03: the corporate bank account is mandatory."""
    return [
        Item("bank_name", _("Corporate bank"), VALUE, entity_field="bank_name"),
        Item(
            "bank_account_number",
            _("Corporate bank account number"),
            VALUE,
            entity_field="bank_account_number",
        ),
    ]


def has_unified_credit_code(credit_code: str) -> bool:
    """An 18-character unified social credit code (统一社会信用代码, GB 32100-2015)."""
    return len((credit_code or "").strip()) == 18


def _organisation_code_items(credit_code: str, label: Promise) -> list[Item]:
    """R-CERT-04/05: the organisation code certificate, unless a unified social credit
    code stands in for it (the three-in-one licence carries it)."""
    if has_unified_credit_code(credit_code):
        return []
    return [Item("organisation_code", label)]


def checklist(
    *,
    kind: str,
    subtype: str,
    trademark_name: str = "",
    trademark_owned_by_entity: bool = True,
    tm_registrant_is_person: bool = False,
    credit_code: str = "",
) -> list[Item]:
    """The documents an order needs.

    R-CERT-04 (enterprise), R-CERT-05 (media), R-CERT-06 (operator ID both sides),
    except the organisation code certificate when the entity has an 18-character unified
    social credit code: the code replaces the organisation code and the licence is
    "three-in-one" (GB 32100-2015; issue 29), so no separate certificate exists.
    R-CERT-08 (trademark certificate or acceptance notice when the name uses a
    trademark), R-CERT-13 (authorisation letter when the trademark is someone else's,
    with the registrant's ID when the registrant is a person).
    """
    items: list[Item] = []
    if kind == EntityKind.ENTERPRISE:
        items += [
            Item("business_licence", _("Business licence copy (with valid annual inspection)")),
            *_organisation_code_items(credit_code, _("Organisation code certificate copy")),
            *_operator_items(),
            Item(
                "application_letter",
                APPLICATION_LETTERS.get(subtype, APPLICATION_LETTERS[EntitySubtype.GENERAL_ENTERPRISE]),
            ),
            *_bank_items(),
            Item(
                "legal_representative", _("Legal representative"), VALUE, entity_field="legal_representative"
            ),
            Item("registered_capital", _("Registered capital"), VALUE, entity_field="registered_capital"),
            Item("office_address", _("Office address"), VALUE, entity_field="office_address"),
        ]
        if subtype == EntitySubtype.ARTIST_AGENCY:
            items += [
                Item("artist_bank_account", _("Artist's personal bank account"), VALUE),
                Item("artist_id_scan", _("Artist ID scan")),
                Item("artist_video", _("Artist authorisation video")),
            ]
    elif kind == EntityKind.MEDIA:
        items += [
            Item("business_licence", _("Business licence or public-institution legal-person certificate")),
            *_organisation_code_items(credit_code, _("Organisation code certificate")),
            *_operator_items(),
            Item("application_letter", _("Application letter to Tencent")),
            Item("media_licence", MEDIA_LICENCES.get(subtype, _("Media licence"))),
            *_bank_items(),
            Item(
                "legal_representative", _("Legal representative"), VALUE, entity_field="legal_representative"
            ),
            Item("office_phone", _("Office phone"), VALUE, entity_field="office_phone"),
            Item("office_address", _("Office address"), VALUE, entity_field="office_address"),
        ]
    if trademark_name:
        items.append(
            Item(
                "trademark_certificate",
                _("Trademark registration certificate or application acceptance notice"),
            )
        )
        items.append(
            Item(
                "trademark_changes",
                _("Trademark change / transfer / renewal proofs (if any)"),
                required=False,
            )
        )
        if not trademark_owned_by_entity:
            items.append(Item("trademark_authorisation", _("Trademark authorisation letter")))
            if tm_registrant_is_person:
                items.append(Item("tm_registrant_id_front", _("Trademark registrant's ID, front")))
                items.append(Item("tm_registrant_id_back", _("Trademark registrant's ID, back")))
    return items


def validate_upload(uploaded: File[bytes], *, code: str) -> None:
    """Size and type limits for a checklist upload: the extension and the file's first bytes."""
    name = getattr(uploaded, "name", "") or ""
    extension = os.path.splitext(name)[1].lower()
    if code in VIDEO_CODES:
        allowed, limit = VIDEO_EXTENSIONS, MAX_VIDEO_BYTES
    else:
        allowed, limit = DOCUMENT_EXTENSIONS, MAX_UPLOAD_BYTES
    if extension not in allowed:
        raise ValidationError(
            _("“%(name)s”: file type not accepted; use one of %(types)s.")
            % {"name": os.path.basename(name), "types": ", ".join(sorted(allowed))},
            code="file_type",
        )
    if uploaded.size > limit:
        raise ValidationError(
            _("“%(name)s” is %(size).1f MB; the limit is %(limit)d MB.")
            % {"name": os.path.basename(name), "size": uploaded.size / 1048576, "limit": limit // 1048576},
            code="file_size",
        )
    if extension in SIGNATURES:
        position = uploaded.tell() if hasattr(uploaded, "tell") else 0
        uploaded.seek(0)
        head = uploaded.read(8)
        uploaded.seek(position)
        if not any(head.startswith(magic) for magic in SIGNATURES[extension]):
            raise ValidationError(
                _("“%(name)s” is not a real %(type)s file.")
                % {"name": os.path.basename(name), "type": extension.lstrip(".").upper()},
                code="file_content",
            )
