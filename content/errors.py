"""The content app's business error and WeChat's refusals of materials, drafts and
publishing in the user's words (docs/wechat-protocol.md §h)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OfficialAccount
from core.domain_errors import DomainError
from core.typing import Actor
from wechat.errors import WeChatError

#: WeChat's codes for this area, said for an editor.
REFUSALS = {
    40004: gettext_lazy("WeChat does not take this type of material."),
    40005: gettext_lazy("WeChat does not take this file type for this kind of material."),
    40006: gettext_lazy("The file is empty or larger than WeChat allows."),
    40007: gettext_lazy("WeChat does not know this material or draft (it may have been deleted on WeChat)."),
    40009: gettext_lazy("The image is empty or larger than WeChat allows."),
    44003: gettext_lazy("An article has no title or no body."),
    45002: gettext_lazy("An article's body is too long for WeChat (under 20,000 characters and 1 MB)."),
    45003: gettext_lazy("An article's title is too long for WeChat (at most 64 characters)."),
    45004: gettext_lazy("An article's digest is too long for WeChat (at most 120 characters)."),
    45005: gettext_lazy("An article's original URL is too long for WeChat."),
    45008: gettext_lazy("A draft holds at most 8 articles."),
    45103: gettext_lazy("WeChat no longer accepts news materials: articles go through drafts."),
    53503: gettext_lazy("WeChat refused to publish this draft: it did not pass WeChat's publishing checks."),
    53505: gettext_lazy("WeChat refused to publish this draft: a required field is missing."),
}


class ContentError(DomainError, ValueError):
    """A content operation refused, with the reason in the user's language."""


def refusal(exc: WeChatError) -> str:
    """What WeChat's refusal means, in the user's language."""
    known = REFUSALS.get(exc.errcode)
    text = str(known) if known is not None else exc.explanation
    return _("WeChat refused (%(code)s): %(why)s") % {"code": exc.errcode, "why": text}


def require_access(by: Actor, account: OfficialAccount, permission: str | None = None) -> None:
    """Staff act only on their accounts (and with the permission, when one is named)."""
    from accounts.selectors import user_can_access_account

    if by is None:
        return
    if not user_can_access_account(by, account) or (permission and not by.has_perm(permission)):
        raise ContentError(_("You may not do this for account %(account)s.") % {"account": account})


def require_certified(account: OfficialAccount) -> None:
    """R-POST-05: materials, drafts and publishing are advanced interfaces that certification
    unlocks; an uncertified (or lapsed) service account is told so before WeChat is called."""
    if not (account.is_service and account.is_certified()):
        raise ContentError(
            _(
                "%(account)s is not a certified service account (or its certification lapsed): "
                "WeChat opens materials, drafts and publishing to certified service accounts only."
            )
            % {"account": account}
        )
