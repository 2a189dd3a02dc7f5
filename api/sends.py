"""Template messages through the API (issue 27 over issue 26's one service,
`notifications.services.template_send`).

The key's scope replaces the staff permission check: the service is called with `by=None`
only after the gate has checked the key reaches the account and here that its client system
may send template messages (`ClientSystem.can_send_templates`, granted by staff who may send
them). A client system reads back only the sends it made (`ApiSend`).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from notifications.models import Delivery, Send, Template
from notifications.services import NotificationError, template_send

from . import errors
from .gate import Call
from .models import ApiSend

#: the most recipients one call may list (larger lists: several calls, or a tag)
MAX_BATCH = 1000
#: the most delivery rows one status read returns
MAX_PAGE = 1000


class _Rollback(Exception):
    pass


def _values(data: dict[str, Any] | None) -> dict[str, Any]:
    """WeChat's own shape {"thing1": {"value": "…"}} accepted as {"thing1": "…"}; a colour
    stays a dict, which the service refuses in words (WeChat no longer shows colours)."""
    values: dict[str, Any] = {}
    for name, value in (data or {}).items():
        if isinstance(value, dict) and set(value) == {"value"}:
            value = value["value"]
        values[name] = value
    return values


def _refusal(exc_en: NotificationError, attempt: Any) -> errors.ApiError:
    """The service's refusal in both languages: it is raised before anything is written, so
    asking again in Chinese (rolled back whatever happens) gives the same refusal in Chinese."""
    zh = str(exc_en)
    try:
        with translation.override("zh-hans"), transaction.atomic():
            attempt()
            raise _Rollback
    except NotificationError as exc:
        zh = str(exc)
    except _Rollback:  # pragma: no cover - the second try did not refuse: keep the English
        pass
    return errors.ApiError(422, "invalid_send", str(exc_en), zh=zh)


def create(call: Call, payload: Any) -> tuple[int, dict[str, Any]]:
    """Queue the send the payload describes; (202, answer) or an ApiError. Inside the
    request's transaction: the send, its delivery rows and the ApiSend row commit together,
    and the task is queued after the commit."""
    info = call.info
    assert info is not None and info.account_id is not None
    if not info.can_send_templates:
        raise errors.ApiError(
            403,
            "scope_not_granted",
            _("This client system may not send template messages (staff can allow it on its page)."),
        )
    template = Template.objects.filter(account_id=info.account_id, template_id=payload.template_id).first()
    if template is None:
        raise errors.ApiError(
            422,
            "unknown_template",
            _("The account has no template %(template)s (sync the templates in wxadmin first)."),
            template=payload.template_id,
        )
    account = template.account
    targets = [name for name in ("touser", "tag_id", "messages") if getattr(payload, name) is not None]
    if len(targets) != 1:
        raise errors.ApiError(
            422, "invalid_send", _("Give exactly one of touser, tag_id and messages (a batch).")
        )
    shared = _values(payload.data)
    rows = None
    if payload.messages is not None:
        if not payload.messages or len(payload.messages) > MAX_BATCH:
            raise errors.ApiError(
                422, "invalid_send", _("A batch lists 1 to %(max)s messages."), max=MAX_BATCH
            )
        rows = [
            (number, m.touser.strip(), {**shared, **_values(m.data)})
            for number, m in enumerate(payload.messages, start=1)
        ]
    miniprogram = payload.miniprogram.dict() if payload.miniprogram is not None else None

    def attempt() -> Send:
        return template_send(
            account=account,
            template=template,
            by=None,  # the key's scope was checked above instead of a staff permission
            openid=payload.touser,
            tag_id=payload.tag_id,
            rows=rows,
            data=shared if rows is None else {},
            url=payload.url,
            miniprogram=miniprogram,
        )

    try:
        with translation.override("en"):
            send = attempt()
    except NotificationError as exc:
        raise _refusal(exc, attempt) from None
    ApiSend.objects.create(client_id=info.client_id, send=send)
    deliveries = [
        {"id": pk, "touser": openid}
        for pk, openid in Delivery.objects.filter(send=send).order_by("id").values_list("id", "openid")
    ]
    return 202, {
        "send_id": send.pk,
        "status": send.status,
        "total": len(deliveries),
        "deliveries": deliveries,
        "status_url": f"/api/v1/accounts/{call.appid}/template-messages/{send.pk}",
    }


def status(call: Call, send_id: int, *, after: int = 0, limit: int = 100) -> dict[str, Any]:
    """A send this client system made: its progress and a page of its delivery log (rows with
    an id above `after`, at most `limit`)."""
    info = call.info
    assert info is not None
    found = (
        ApiSend.objects.select_related("send")
        .filter(client_id=info.client_id, send_id=send_id, send__account_id=info.account_id)
        .first()
    )
    if found is None:
        raise errors.ApiError(
            404,
            "unknown_send",
            _("No send %(send)s made by this client system for this account."),
            send=send_id,
        )
    send = found.send
    limit = max(1, min(MAX_PAGE, limit))
    rows = list(
        Delivery.objects.filter(send=send, id__gt=after)
        .order_by("id")
        .values("id", "openid", "status", "msgid", "errcode", "error", "finished_at")[:limit]
    )
    return {
        "send_id": send.pk,
        "status": send.status,
        "status_note": send.status_note,
        "total": send.total,
        "sent": send.sent,
        "failed": send.failed,
        "created_at": send.created_at.isoformat(),
        "finished_at": send.finished_at.isoformat() if send.finished_at else None,
        "deliveries": [
            {
                "id": row["id"],
                "touser": row["openid"],
                "status": row["status"],
                "msgid": row["msgid"],
                "errcode": row["errcode"],
                "error": row["error"],
                "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
            }
            for row in rows
        ],
        "next_after": rows[-1]["id"] if len(rows) == limit else None,
    }
