"""JSON endpoints of the editor's conditional-menu tools (mounted at /menus/).

Same guards as `views.py` (staff, `menus.*` permission, the account assigned to the
user): try which menu a user gets (menu/trymatch), list the conditional menus WeChat
has, delete one there (menu/delconditional, with confirmation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import OfficialAccount

from . import selectors, services
from .views import BadRequest, _account_view, _body, _handle

if TYPE_CHECKING:
    from core.typing import AuthenticatedHttpRequest  # behind staff_member_required

USER_ID_MAX_LENGTH = 64


@require_POST
@_account_view("view_menu")
@_handle
def try_match(request: AuthenticatedHttpRequest, account: OfficialAccount) -> JsonResponse:
    """menu/trymatch for an OpenID or WeChat ID: the buttons that user sees, and which
    menu of the set (on screen, else the editor's working set) they are."""
    body = _body(request)
    user_id = str(body.get("user_id") or "").strip()
    if not user_id or len(user_id) > USER_ID_MAX_LENGTH:
        raise BadRequest(_("Enter the user's OpenID or WeChat ID."))
    data = (
        body.get("menu") if isinstance(body.get("menu"), dict) else selectors.editor_state(account)["working"]
    )
    result = services.conditional_try_match(account=account, user_id=user_id, data=data, by=request.user)
    return JsonResponse(result)


@require_GET
@_account_view("view_menu")
@_handle
def remote_conditional(request: AuthenticatedHttpRequest, account: OfficialAccount) -> JsonResponse:
    """The conditional menus WeChat has now, newest first, with their menuids."""
    return JsonResponse({"menus": services.conditional_remote_list(account=account)})


@require_POST
@_account_view("change_menu")
@_handle
def delete_conditional(request: AuthenticatedHttpRequest, account: OfficialAccount) -> JsonResponse:
    body = _body(request)
    if not body.get("confirm"):
        raise BadRequest(_("Deleting a conditional menu on WeChat needs confirmation."))
    menuid = str(body.get("menuid") or "").strip()
    if not menuid.isdigit():
        raise BadRequest(_("“menuid” must be the number WeChat gave the conditional menu."))
    services.conditional_delete_remote(account=account, menuid=menuid, by=request.user)
    return JsonResponse(
        {
            "ok": True,
            "message": _(
                "The conditional menu %(menuid)s was deleted on WeChat. Remove it from the draft "
                "too, or the next publication adds it again."
            )
            % {"menuid": menuid},
            "menus": services.conditional_remote_list(account=account),
        }
    )


__all__ = ["delete_conditional", "remote_conditional", "try_match"]
