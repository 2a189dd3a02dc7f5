"""JSON endpoints behind the menu editor and the fan-out progress view.

Thin: each checks login, model permission and account assignment
(`require_account_access`), parses the body, calls one service or selector, and
answers JSON. Errors come back as `{"error": text}` or `{"issues": [...]}`
with translated text; secrets never appear in any answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Concatenate, ParamSpec

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import OfficialAccount
from accounts.scoping import require_account_access
from accounts.selectors import accounts_visible_to
from core.parsing import BadInput, check_json, parse_json_object

from . import selectors, services
from .conditional import remote_set, validate_set
from .models import FanOut, VersionStatus

if TYPE_CHECKING:
    from core.typing import AuthenticatedHttpRequest  # behind staff_member_required

_P = ParamSpec("_P")


def _account_view(
    permission: str,
) -> Callable[
    [Callable[Concatenate[AuthenticatedHttpRequest, OfficialAccount, _P], HttpResponse]],
    Callable[Concatenate[AuthenticatedHttpRequest, int, _P], HttpResponse],
]:
    """Staff only; `menus.<permission>` required; the account must be assigned to the user."""

    def decorator(
        view: Callable[Concatenate[AuthenticatedHttpRequest, OfficialAccount, _P], HttpResponse],
    ) -> Callable[Concatenate[AuthenticatedHttpRequest, int, _P], HttpResponse]:
        @wraps(view)
        @staff_member_required
        def wrapper(
            request: AuthenticatedHttpRequest, account_pk: int, *args: _P.args, **kwargs: _P.kwargs
        ) -> HttpResponse:
            if not request.user.has_perm(f"menus.{permission}"):
                raise PermissionDenied
            account = get_object_or_404(OfficialAccount, pk=account_pk)
            require_account_access(request.user, account)
            return view(request, account, *args, **kwargs)

        return wrapper

    return decorator


def _body(request: HttpRequest) -> dict:
    """The JSON object posted, its strings free of NUL and lone surrogates (core.parsing)."""
    try:
        return parse_json_object(request.body)
    except BadInput as exc:
        raise BadRequest(exc.user_message) from None


class BadRequest(Exception):
    pass


def _handle[**P](func: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """Turn domain errors into JSON answers the editor can show."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        from wechat.errors import WeChatError

        try:
            return func(*args, **kwargs)
        except BadRequest as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        except services.MenuInvalid as exc:
            return JsonResponse(
                {
                    "error": _("The menu breaks WeChat's rules."),
                    "issues": [issue.as_dict() for issue in exc.issues],
                },
                status=400,
            )
        except services.PublishNotQueued as exc:  # broker down: the version was failed
            return JsonResponse({"error": str(exc)}, status=503)
        except services.MenuError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        except WeChatError as exc:  # WeChat refusing the staff member's input is theirs to fix: 400
            return JsonResponse(
                {"error": str(exc.explanation), "errcode": exc.errcode, "errmsg": exc.errmsg},
                status=400 if exc.refuses_input else 502,
            )

    return wrapper


def _state(account: OfficialAccount) -> dict:
    return selectors.editor_state(account)


@require_GET
@_account_view("view_menu")
def state(request, account):
    return JsonResponse(_state(account))


@require_POST
@_account_view("view_menu")
@_handle
def validate(request, account):
    data, issues = services.menu_check(account=account, data=_body(request).get("menu"))
    return JsonResponse({"menu": data, "issues": [issue.as_dict() for issue in issues]})


@require_POST
@_account_view("change_menu")
@_handle
def save_draft(request, account):
    services.draft_save(account=account, data=_body(request).get("menu"), by=request.user)
    return JsonResponse({"ok": True, "message": _("Draft saved."), "state": _state(account)})


@require_POST
@_account_view("change_menu")
@_handle
def discard_draft(request, account):
    services.draft_discard(account=account, by=request.user)
    return JsonResponse({"ok": True, "message": _("Draft discarded."), "state": _state(account)})


@require_POST
@_account_view("change_menu")
@_handle
def publish(request, account):
    body = _body(request)
    if body.get("menu") is not None:  # save what is on screen first, then publish it
        services.draft_save(account=account, data=body["menu"], by=request.user)
    version = services.menu_publish(account=account, by=request.user)
    return JsonResponse(
        {
            "ok": True,
            "message": _("Publishing… the result appears below."),
            "version": selectors.version_summary(version),
            "state": _state(account),
        }
    )


@require_GET
@_account_view("view_menu")
def latest_version(request, account):
    menu = selectors.menu_of(account)
    version = menu.versions.exclude(status=VersionStatus.DRAFT).first() if menu else None
    return JsonResponse({"version": selectors.version_summary(version) if version else None})


@require_POST
@_account_view("change_menu")
@_handle
def pull(request, account):
    selfmenu = bool(_body(request).get("selfmenu"))
    draft = services.menu_pull(account=account, by=request.user, selfmenu=selfmenu)
    issues = validate_set(draft.data, certified=account.is_certified())
    return JsonResponse(
        {
            "ok": True,
            "message": _("The live menu was copied into the draft."),
            "issues": [issue.as_dict() for issue in issues],
            "state": _state(account),
        }
    )


@require_POST
@_account_view("change_menu")
@_handle
def delete_remote(request, account):
    if not _body(request).get("confirm"):
        raise BadRequest(_("Deleting the menu on WeChat needs confirmation."))
    services.menu_delete_remote(account=account, by=request.user)
    return JsonResponse({"ok": True, "message": _("The menu was deleted on WeChat.")})


@require_GET
@_account_view("view_menu")
@_handle
def remote(request, account):
    """What WeChat has now (menu/get), for "compare with WeChat"."""
    return JsonResponse({"menu": selectors.remote_menu(account)})


@require_GET
@_account_view("view_menu")
def export_json(request, account):
    """WeChat's menu/create JSON of the draft (or the live menu); `?replies=1` keeps replies."""
    state_ = _state(account)
    data = state_["working"]
    if request.GET.get("replies") != "1":
        data = services.wechat_menu_body(data)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="menu-{account.appid}.json"'
    return response


@require_POST
@_account_view("change_menu")
@_handle
def import_json(request, account):
    text = _body(request).get("json", "")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:  # Python's own wording is English: say where, in ours
        raise BadRequest(
            _("This is not valid JSON: the problem is at line %(line)d, column %(column)d.")
            % {"line": exc.lineno, "column": exc.colno}
        )
    except (TypeError, ValueError, RecursionError):
        raise BadRequest(_("Paste the menu's JSON text."))
    try:
        check_json(data)
    except BadInput as exc:
        raise BadRequest(exc.user_message) from None
    if isinstance(data, dict) and isinstance(data.get("menu"), dict):  # a menu/get answer
        data = remote_set(data)  # with its conditional menus
    if isinstance(data, dict) and isinstance(data.get("selfmenu_info"), dict):
        data = services.selfmenu_to_menu(data["selfmenu_info"])
    services.draft_save(account=account, data=data, by=request.user, source="import")
    return JsonResponse({"ok": True, "message": _("Menu imported into the draft."), "state": _state(account)})


@require_POST
@_account_view("change_menu")
@_handle
def copy_to(request, account):
    ids = _body(request).get("accounts") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise BadRequest(_("“accounts” must be a list of account ids."))
    targets = list(accounts_visible_to(request.user).filter(pk__in=ids).exclude(pk=account.pk))
    if len(targets) != len(set(ids) - {account.pk}):
        raise PermissionDenied
    copied, refused = services.menu_copy(
        data=_state(account)["working"], accounts=targets, by=request.user, source_account=account
    )
    return JsonResponse(
        {
            "ok": True,
            "message": _("Copied into the drafts of %(n)s account(s).") % {"n": len(copied)},
            "refused": [
                {"account": str(a), "issues": [i.as_dict() for i in issues]} for a, issues in refused.items()
            ],
        }
    )


@require_GET
@staff_member_required
def fanout_progress(request, pk: int):
    fanout = get_object_or_404(FanOut, pk=pk)
    if not (request.user.is_superuser or fanout.created_by_id == request.user.pk):
        raise PermissionDenied
    return JsonResponse(selectors.fanout_progress(fanout))
