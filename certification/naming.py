"""The naming check of an application (R-CERT-08 enterprise, R-CERT-09 media). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import EntityKind, EntitySubtype


@dataclass(frozen=True)
class NamingResult:
    ok: bool
    reason: str


def _contains(name: str, part: str) -> bool:
    part = (part or "").strip()
    return bool(part) and part.casefold() in name.casefold()


def check_name(
    *,
    account_name: str,
    kind: str,
    subtype: str,
    full_name: str,
    short_name: str = "",
    trademark_name: str = "",
    trademark_document: str = "",
    artist_name: str = "",
    media_title: str = "",
) -> NamingResult:
    """Whether `account_name` may be certified, and why (translated).

    R-CERT-08 (enterprise): the name contains the full or short name, or a trademark
    (then a certificate or acceptance notice is required; a notice is not protected),
    or the artist's name when an artist authorised the company.
    R-CERT-09 (media): broadcast/TV, newspaper, periodical may use the institution
    name, or a channel/programme/newspaper/periodical name backed by the matching
    licence; online media names must contain the institution name (and need one of
    the two online licences, asked for by the checklist).
    """
    if _contains(account_name, full_name):
        return NamingResult(True, _("The name contains the entity's full name."))
    if _contains(account_name, short_name):
        return NamingResult(
            True, _("The name contains the entity's short name “%(short)s”.") % {"short": short_name}
        )
    if kind == EntityKind.ENTERPRISE:
        if _contains(account_name, trademark_name):
            if trademark_document == "acceptance_notice":
                return NamingResult(
                    True,
                    _(
                        "The name uses the trademark “%(tm)s”, backed by an application acceptance "
                        "notice only: the name is not protected until the trademark is registered."
                    )
                    % {"tm": trademark_name},
                )
            return NamingResult(
                True,
                _(
                    "The name uses the trademark “%(tm)s”: the trademark registration certificate "
                    "or acceptance notice is required."
                )
                % {"tm": trademark_name},
            )
        if subtype == EntitySubtype.ARTIST_AGENCY and _contains(account_name, artist_name):
            return NamingResult(
                True,
                _("The name uses the name of the artist “%(artist)s” who authorised the company.")
                % {"artist": artist_name},
            )
        return NamingResult(
            False,
            _(
                "The name contains neither the enterprise's full or short name, nor a trademark "
                "on file, nor an authorising artist's name."
            ),
        )
    if kind == EntityKind.MEDIA:
        if subtype == EntitySubtype.ONLINE_MEDIA:
            return NamingResult(False, _("An online media name must contain the institution's name."))
        if _contains(account_name, media_title):
            return NamingResult(
                True,
                _("The name uses the title “%(title)s”: the matching licence is required.")
                % {"title": media_title},
            )
        return NamingResult(
            False,
            _(
                "The name contains neither the institution's name nor a channel, programme, "
                "newspaper or periodical title backed by its licence."
            ),
        )
    return NamingResult(False, _("Only enterprise and media entities can be certified."))
