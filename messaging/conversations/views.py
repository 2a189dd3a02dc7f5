"""The conversation workspace: the list of conversations, one conversation, its JSON poll,
sending and retrying. Thin: permission + account scope, then one selector or service.

Mounted under the admin site by `conversations.admin.OutboundMessageAdmin.get_urls`
(so every view runs behind `admin_view`: staff login required). Viewing needs
`messaging.view_outboundmessage`; sending and retrying `messaging.reply_to_users`;
the account must be visible to the user (`accounts.selectors.accounts_visible_to`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.admin_extensions import follower_links
from accounts.models import OfficialAccount
from accounts.scoping import require_account_access
from core.permissions import requires_permission
from core.queueing import QueueUnavailable

from . import selectors, services
from .models import OUTBOUND_TEXT_MAX_LENGTH, OutboundMessage, OutboundType

if TYPE_CHECKING:
    from core.typing import AuthenticatedHttpRequest  # behind admin_view: never anonymous

VIEW_PERMISSION = "messaging.view_outboundmessage"
REPLY_PERMISSION = "messaging.reply_to_users"
MAX_OPENID_LENGTH = 64


def _account(request: HttpRequest, account_pk: int) -> OfficialAccount:
    account = get_object_or_404(OfficialAccount, pk=account_pk)
    require_account_access(request.user, account)
    return account


def _state(account: OfficialAccount, openid: str) -> dict:
    return {
        "items": selectors.thread(account=account, openid=openid),
        "window": selectors.reply_window(account=account, openid=openid).as_dict(),
    }


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _errors(exc) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


@requires_permission(VIEW_PERMISSION)
def conversation_list(request: HttpRequest, admin_context: dict):
    """Conversations of the last days, unanswered first with the time left to answer."""
    accounts = selectors.conversation_accounts(request.user)
    try:
        account_id = int(request.GET.get("account") or 0) or None
    except ValueError:
        account_id = None
    state = request.GET.get("state", "")
    if state not in ("", "unanswered", "waiting", "open"):
        state = ""
    search = request.GET.get("q", "")[:MAX_OPENID_LENGTH]
    try:
        number = int(request.GET.get("page") or 1)
    except ValueError:
        number = 1
    page = selectors.conversation_page(
        user=request.user, number=number, account_id=account_id, search=search, state=state
    )
    context = {
        **admin_context,
        "title": _("Conversations"),
        "page": page,
        "rows": selectors.with_accounts(page.rows),
        "accounts": accounts,
        "account_id": account_id,
        "state": state,
        "search": search,
        "list_days": selectors.LIST_DAYS,
        "can_reply": request.user.has_perm(REPLY_PERMISSION),
    }
    return TemplateResponse(request, "messaging/conversations/list.html", context)


@requires_permission(VIEW_PERMISSION)
def conversation_detail(request: HttpRequest, admin_context: dict, account_pk: int, openid: str):
    """One user's conversation: messages both ways, the window, the reply form."""
    account = _account(request, account_pk)
    openid = openid[:MAX_OPENID_LENGTH]
    base = "admin:messaging_workspace"
    kf_choices = services.kf_choices(account=account)
    config = {
        "state": _state(account, openid),
        "urls": {
            "poll": reverse(f"{base}_poll", args=[account.pk, openid]),
            "send": reverse(f"{base}_send", args=[account.pk, openid]),
            "retry": reverse(f"{base}_retry", args=[0]),
        },
        "can_reply": request.user.has_perm(REPLY_PERMISSION),
        "poll_seconds": 3,
        "t": {
            "sent_by": _("by %(name)s"),
            "as_kf": _("as %(kf)s"),
            "retry": _("Send again"),
            "auto_reply": _("Automatic reply: %(text)s"),
            "network": _("The server cannot be reached; retrying…"),
            "sending": _("Sending…"),
            "queued": _("Queued; it is sent in a moment."),
            "empty": _("No messages yet."),
            "event": _("Event: %(event)s"),
        },
    }
    context = {
        **admin_context,
        "title": _("Conversation with %(openid)s") % {"openid": openid},
        "account": account,
        "openid": openid,
        "config": config,
        "kf_choices": kf_choices,
        "kf_default": services.default_kf_account(account=account, openid=openid),
        "types": OutboundType.choices,
        "text_max": OUTBOUND_TEXT_MAX_LENGTH,
        "list_url": reverse("admin:messaging_workspace"),
        "follower_links": follower_links(request, account.pk, openid),  # e.g. a template message
    }
    return TemplateResponse(request, "messaging/conversations/detail.html", context)


@require_GET
@requires_permission(VIEW_PERMISSION)
def conversation_poll(request: HttpRequest, account_pk: int, openid: str) -> JsonResponse:
    """The thread and the window as JSON, polled by the open conversation every few seconds."""
    account = _account(request, account_pk)
    return JsonResponse(_state(account, openid[:MAX_OPENID_LENGTH]))


@require_POST
@requires_permission(REPLY_PERMISSION)
def conversation_send(request: AuthenticatedHttpRequest, account_pk: int, openid: str):
    """Answer the user (multipart form: text, news fields or an image; kf_account)."""
    account = _account(request, account_pk)
    openid = openid[:MAX_OPENID_LENGTH]
    data = request.POST
    try:
        services.outbound_send(
            account=account,
            openid=openid,
            msg_type=data.get("msg_type", ""),
            by=request.user,
            text=data.get("text", ""),
            news={
                "title": data.get("news_title", ""),
                "url": data.get("news_url", ""),
                "description": data.get("news_description", ""),
                "pic_url": data.get("news_pic_url", ""),
            },
            image=request.FILES.get("image"),
            kf_account=data.get("kf_account", ""),
        )
    except QueueUnavailable as exc:  # stored; the sweeper sends it when Redis is back
        if _wants_json(request):
            return JsonResponse({"error": exc.user_message, **_state(account, openid)}, status=503)
        messages.warning(request, exc.user_message)
        return redirect("admin:messaging_workspace_detail", account.pk, openid)
    except services.ConversationError as exc:
        if _wants_json(request):
            return JsonResponse(
                {
                    "error": " ".join(m for ms in _errors(exc).values() for m in ms),
                    "errors": _errors(exc),
                    **_state(account, openid),
                },
                status=400,
            )
        for field_messages in _errors(exc).values():
            for text in field_messages:
                messages.error(request, text)
        return redirect("admin:messaging_workspace_detail", account.pk, openid)
    if _wants_json(request):
        return JsonResponse(
            {"ok": True, "message": _("Queued; it is sent in a moment."), **_state(account, openid)}
        )
    messages.success(request, _("Queued; it is sent in a moment."))
    return redirect("admin:messaging_workspace_detail", account.pk, openid)


@require_POST
@requires_permission(REPLY_PERMISSION)
def outbound_retry(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    """Send a failed message again."""
    message = get_object_or_404(OutboundMessage, pk=pk)
    account = _account(request, message.account_id)
    try:
        services.outbound_retry(message=message, by=request.user)
    except QueueUnavailable as exc:
        return JsonResponse({"error": exc.user_message, **_state(account, message.openid)}, status=503)
    except services.ConversationError as exc:
        return JsonResponse(
            {
                "error": " ".join(m for ms in _errors(exc).values() for m in ms),
                **_state(account, message.openid),
            },
            status=400,
        )
    return JsonResponse(
        {"ok": True, "message": _("Queued; it is sent in a moment."), **_state(account, message.openid)}
    )
