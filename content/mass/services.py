"""Mass sends (群发, issue 25; protocol in docs/wechat-protocol.md §h and `wechat/api/mass.py`).

Writes, each guarded by the state table (`transitions.TRANSITIONS`) under the row lock and
recorded in `MassSendLog`:

- preparing (`mass_create`, `mass_update`, `mass_preview`, `mass_submit`, `mass_cancel`):
  staff who may change mass sends of the account;
- approving (`mass_approve`, `mass_reject`, `mass_schedule`, `mass_unschedule`, `mass_send_now`,
  `mass_delete`): staff holding ``content.approve_masssend`` AND assigned to the account, never
  the one who prepared the send (R-MASS-01);
- sending (`run_send`, a task; `sweep`, the beat): sent at most once (R-MASS-02): the intent —
  ``called_at`` and a fixed ``clientmsgid`` — is committed before the call, WeChat's ``msg_id``
  is committed before the task returns, one worker per send (a Redis lease), and a call whose
  answer was lost is settled by asking again with the SAME clientmsgid, which WeChat refuses
  with 45065 when the first call got through (its documented guard against repeated pushes,
  within 24 hours); past that window nothing is re-sent and the send says to check on WeChat.
  Accepted sends without their MASSSENDJOBFINISH are read back with message/mass/get.
- the month's limit (`month_usage`, R-MASS-03): a service account's follower receives at most
  4 mass messages a Beijing month; a send to all past our own count is refused before calling.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OfficialAccount
from accounts.selectors import user_can_access_account
from accounts.wechat_api import client_for
from audience.models import Tag
from content.models import Draft, MassKind, MassSend, MassSendLog, MassStatus
from core.domain_errors import DomainError
from core.queueing import enqueue_on_commit
from core.redis_clients import Purpose
from core.redis_clients import client as redis_client
from core.typing import Actor
from wechat.api import mass as wx
from wechat.errors import WeChatError

from .transitions import COUNTED, EDITABLE, TRANSITIONS

logger = logging.getLogger(__name__)
BEIJING = ZoneInfo("Asia/Shanghai")
APPROVE_PERMISSION = "content.approve_masssend"
CHANGE_PERMISSION = "content.change_masssend"
ADD_PERMISSION = "content.add_masssend"
#: One worker per send; longer than a sendall call with the client's retries.
LEASE_SECONDS = 120
#: Ask again with the same clientmsgid only while WeChat still remembers it (24 h, with margin).
RESEND_WINDOW = datetime.timedelta(hours=23)
#: An accepted send without its MASSSENDJOBFINISH after this long is read back (message/mass/get).
READ_BACK_AFTER = datetime.timedelta(minutes=10)

#: WeChat's refusals of this area, in words (§h; wechat/api/mass.py).
REFUSALS = {
    45028: gettext_lazy(
        "WeChat refused: this month's mass sends are used up (each follower receives at most 4 a "
        "month). Nothing was sent; send again next month."
    ),
    40007: gettext_lazy("WeChat does not know this media (the draft or material may have been deleted)."),
    45159: gettext_lazy("WeChat does not know this tag (it may have been deleted)."),
    40008: gettext_lazy("WeChat refused this kind of message."),
    44004: gettext_lazy("The text is empty."),
    48001: gettext_lazy(
        "This account may not send mass messages through the API (it may need certification)."
    ),
}
#: MASSSENDJOBFINISH's Status "err(n)" (WeChat's page "事件推送群发结果").
FINISH_ERRORS = {
    "10001": gettext_lazy("suspected advertising"),
    "20001": gettext_lazy("suspected political content"),
    "20002": gettext_lazy("suspected pornography"),
    "20004": gettext_lazy("suspected social content"),
    "20006": gettext_lazy("suspected crime"),
    "20008": gettext_lazy("suspected fraud"),
    "20013": gettext_lazy("suspected copyright infringement"),
    "21000": gettext_lazy("suspected other violation"),
    "22000": gettext_lazy("suspected mutual promotion"),
    "30001": gettext_lazy("the originality check failed and reprints are not sent"),
    "30002": gettext_lazy("the originality check does not allow this article to be sent"),
    "30003": gettext_lazy("the article is a reprint and reprints are not sent"),
    "40001": gettext_lazy("the account's administrator refused the send (API send protection)"),
    "40002": gettext_lazy(
        "the account's administrator did not confirm within 30 minutes (API send protection)"
    ),
}


class MassError(DomainError, ValueError):
    """A mass-send operation refused, with the reason in the user's language."""


# --- permissions ------------------------------------------------------------------------------
def _require_editor(by: Actor, account: OfficialAccount, permission: str = CHANGE_PERMISSION) -> None:
    if by is None:
        return
    if not by.has_perm(permission) or not user_can_access_account(by, account):
        raise MassError(_("You may not prepare mass sends for this account."))


def can_approve(by: Actor, send: MassSend) -> bool:
    """R-MASS-01: the approve permission, assigned to the account, and not the preparer."""
    return (
        by is not None
        and by.has_perm(APPROVE_PERMISSION)
        and user_can_access_account(by, send.account)
        and by.pk != send.created_by_id
    )


def _require_approver(by: Actor, send: MassSend) -> None:
    if by is None:
        return
    if by.pk == send.created_by_id:
        raise MassError(_("The one who prepared a mass send cannot approve or send it: ask a colleague."))
    if not by.has_perm(APPROVE_PERMISSION) or not user_can_access_account(by, send.account):
        raise MassError(_("You may not approve or send mass messages for this account."))


# --- the state table --------------------------------------------------------------------------
def _apply(send: MassSend, name: str, *, by: Actor = None, note: str = "", **fields: Any) -> MassSend:
    """Move a locked send along one transition (refused when its status does not allow it),
    set ``fields`` and write the log entry."""
    transition = TRANSITIONS[name]
    if send.status not in transition.sources:
        raise MassError(
            _("This send is %(status)s: it cannot be %(action)s now.")
            % {"status": send.get_status_display(), "action": str(transition.label).lower()}
        )
    before = send.status
    send.status = transition.target
    send.status_note = note[:500]
    for key, value in fields.items():
        setattr(send, key, value)
    send.save()
    MassSendLog.objects.create(
        send=send, by=by, action=name, from_status=before, to_status=send.status, note=note[:500]
    )
    return send


def _locked(send: MassSend | int) -> MassSend:
    pk = send if isinstance(send, int) else send.pk
    return MassSend.objects.select_for_update(of=("self",)).select_related("account", "draft").get(pk=pk)


# --- the month's limit ------------------------------------------------------------------------
@dataclass
class MonthUsage:
    """Our sends of the account this Beijing month (R-MASS-03). Sends made on the MP website are
    not known here: WeChat's own refusal (45028) still applies."""

    limit: int
    to_all: int = 0
    by_tag: dict[int, int] = field(default_factory=dict)

    def received_by_tag(self, tag_id: int) -> int:
        """At least this many mass messages reached each member of the tag this month."""
        return self.to_all + self.by_tag.get(tag_id, 0)

    def refusal(self, send: MassSend) -> str:
        """Why WeChat would refuse ``send`` now, or ''."""
        if send.to_all and self.to_all >= self.limit:
            return _(
                "This month's %(limit)s mass sends to all followers are used up (each follower "
                "receives at most %(limit)s a month): WeChat would refuse this send."
            ) % {"limit": self.limit}
        return ""

    def warning(self, send: MassSend) -> str:
        """A warning for staff before sending, or ''."""
        refusal = self.refusal(send)
        if refusal:
            return refusal
        if not send.to_all and send.tag_id is not None and self.received_by_tag(send.tag_id) >= self.limit:
            return _(
                "The followers of this tag have already received %(n)s mass messages this month: WeChat "
                "filters them out, and refuses the send when nobody is left."
            ) % {"n": self.received_by_tag(send.tag_id)}
        if send.to_all and self.to_all == self.limit - 1:
            return _("This is the last mass send to all followers this month.")
        return ""


def month_start(now: datetime.datetime | None = None) -> datetime.datetime:
    local = (now or timezone.now()).astimezone(BEIJING)
    return datetime.datetime(local.year, local.month, 1, tzinfo=BEIJING)


def month_usage(
    account: OfficialAccount, *, now: datetime.datetime | None = None, exclude: int | None = None
) -> MonthUsage:
    """How many of this Beijing month's mass sends the account used (one indexed query)."""
    sends = MassSend.objects.filter(account=account, status__in=COUNTED, called_at__gte=month_start(now))
    if exclude is not None:
        sends = sends.exclude(pk=exclude)
    rows = sends.values("to_all", "tag_id").annotate(n=Count("id"))
    usage = MonthUsage(limit=wx.MONTHLY_LIMIT_PER_FOLLOWER)
    for row in rows:
        if row["to_all"]:
            usage.to_all += row["n"]
        elif row["tag_id"] is not None:
            usage.by_tag[row["tag_id"]] = usage.by_tag.get(row["tag_id"], 0) + row["n"]
    return usage


# --- preparing --------------------------------------------------------------------------------
def check_content(
    account: OfficialAccount,
    *,
    kind: str,
    draft: Draft | None,
    media_id: str,
    text: str,
    to_all: bool,
    tag_id: int | None,
) -> str:
    """Refuse a send WeChat would refuse, before anything is stored; the tag's name."""
    if kind not in MassKind.values:
        raise MassError(_("Choose what to send: an article, a text, an image or a voice message."))
    if kind == MassKind.ARTICLE:
        if draft is None:
            raise MassError(_("Choose the draft to send."))
        if draft.account_id != account.pk:
            raise MassError(_("This draft belongs to another account."))
        if not draft.media_id:
            raise MassError(
                _("This draft has not been saved to WeChat yet: push it to WeChat's drafts first.")
            )
    elif kind == MassKind.TEXT:
        if not text.strip():
            raise MassError(_("Write the text to send."))
    elif not media_id.strip():
        raise MassError(_("Give the media ID of the image or voice in the account's materials."))
    if to_all:
        return ""
    if tag_id is None:
        raise MassError(_("Choose all followers or a tag."))
    tag = Tag.objects.filter(account=account, wechat_id=tag_id).first()
    if tag is None:
        raise MassError(_("This account has no tag %(id)s here: sync the tags first.") % {"id": tag_id})
    return tag.name


def mass_create(
    *,
    account: OfficialAccount,
    title: str,
    kind: str,
    by: Actor,
    draft: Draft | None = None,
    media_id: str = "",
    text: str = "",
    to_all: bool = True,
    tag_id: int | None = None,
    send_ignore_reprint: bool = False,
) -> MassSend:
    """A new send, being prepared (DRAFT)."""
    _require_editor(by, account, ADD_PERMISSION)
    if not title.strip():
        raise MassError(_("Give the send a title."))
    tag_name = check_content(
        account, kind=kind, draft=draft, media_id=media_id, text=text, to_all=to_all, tag_id=tag_id
    )
    with transaction.atomic():
        send = MassSend.objects.create(
            account=account,
            title=title.strip()[:100],
            kind=kind,
            draft=draft if kind == MassKind.ARTICLE else None,
            media_id=media_id.strip() if kind in (MassKind.IMAGE, MassKind.VOICE) else "",
            text=text if kind == MassKind.TEXT else "",
            to_all=to_all,
            tag_id=None if to_all else tag_id,
            tag_name=tag_name,
            send_ignore_reprint=send_ignore_reprint,
            created_by=by,
        )
        MassSendLog.objects.create(send=send, by=by, action="create", to_status=send.status)
    return send


CONTENT_FIELDS = ("title", "kind", "draft", "media_id", "text", "to_all", "tag_id", "send_ignore_reprint")


def mass_update(*, send: MassSend, by: Actor, **changes: Any) -> MassSend:
    """Change what a send being prepared (or rejected) sends; a change asks for a new preview."""
    _require_editor(by, send.account)
    unknown = set(changes) - set(CONTENT_FIELDS)
    if unknown:
        raise MassError(f"unknown fields {sorted(unknown)}")
    with transaction.atomic():
        locked = _locked(send)
        if locked.status not in EDITABLE:
            raise MassError(
                _("This send is %(status)s: only a send being prepared or rejected can be changed.")
                % {"status": locked.get_status_display()}
            )
        values = {name: changes.get(name, getattr(locked, name)) for name in CONTENT_FIELDS}
        tag_name = check_content(
            locked.account,
            kind=values["kind"],
            draft=values["draft"],
            media_id=values["media_id"],
            text=values["text"],
            to_all=values["to_all"],
            tag_id=values["tag_id"],
        )
        for name, value in values.items():
            setattr(locked, name, value)
        if locked.kind != MassKind.ARTICLE:
            locked.draft = None
        if locked.kind not in (MassKind.IMAGE, MassKind.VOICE):
            locked.media_id = ""  # an article's is copied from its draft when it is sent
        if locked.kind != MassKind.TEXT:
            locked.text = ""
        if locked.to_all:
            locked.tag_id = None
        locked.tag_name = tag_name
        locked.previewed_at = None
        locked.save()
        MassSendLog.objects.create(send=locked, by=by, action="update", from_status=locked.status)
    return locked


def _message(send: MassSend) -> dict[str, str]:
    if send.kind == MassKind.ARTICLE:
        # the draft's media_id, kept on the send from the first call on (what was sent)
        return {"msgtype": "mpnews", "media_id": send.media_id or (send.draft.media_id if send.draft else "")}
    if send.kind == MassKind.TEXT:
        return {"msgtype": "text", "text": send.text}
    return {"msgtype": send.kind, "media_id": send.media_id}


def mass_preview(*, send: MassSend, by: Actor, towxname: str = "", openid: str = "") -> MassSend:
    """Send the message to one named WeChat user (WeChat ID or OpenID) to look at first."""
    _require_editor(by, send.account)
    towxname, openid = towxname.strip(), openid.strip()
    if not towxname and not openid:
        raise MassError(_("Give the WeChat ID (or the OpenID) of the person who checks the preview."))
    if send.status not in TRANSITIONS["cancel"].sources:
        raise MassError(_("This send is %(status)s: no preview now.") % {"status": send.get_status_display()})
    try:
        wx.preview(client_for(send.account), **_message(send), towxname=towxname, touser=openid)
    except WeChatError as exc:
        if exc.errcode in (40003, 40132):
            raise MassError(
                _("WeChat does not know “%(who)s” as a follower of this account.")
                % {"who": towxname or openid}
            ) from exc
        raise MassError(_("WeChat refused the preview: %(why)s") % {"why": _why(exc)}) from exc
    with transaction.atomic():
        locked = _locked(send)
        locked.previewed_at = timezone.now()
        locked.previewed_to = (towxname or openid)[:64]
        locked.save(update_fields=["previewed_at", "previewed_to", "updated_at"])
        MassSendLog.objects.create(
            send=locked, by=by, action="preview", from_status=locked.status, note=locked.previewed_to
        )
    return locked


def mass_submit(*, send: MassSend, by: Actor) -> MassSend:
    """Ask for approval: only after a preview of the send as it is now."""
    _require_editor(by, send.account)
    with transaction.atomic():
        locked = _locked(send)
        if locked.previewed_at is None:
            raise MassError(_("Preview the send on a phone first (to a named WeChat user), then submit it."))
        return _apply(locked, "submit", by=by)


def mass_cancel(*, send: MassSend, by: Actor) -> MassSend:
    _require_editor(by, send.account)
    with transaction.atomic():
        return _apply(_locked(send), "cancel", by=by)


# --- approving --------------------------------------------------------------------------------
def mass_approve(*, send: MassSend, by: Actor, client_confirmation: str) -> MassSend:
    """R-MASS-01: someone else than the preparer, holding the approve permission for the account,
    with the client's yes written down."""
    _require_approver(by, send)
    if not client_confirmation.strip():
        raise MassError(_("Write down the client's confirmation: who agreed, when and how."))
    with transaction.atomic():
        return _apply(
            _locked(send),
            "approve",
            by=by,
            note=client_confirmation.strip(),
            approved_by=by,
            approved_at=timezone.now(),
            client_confirmation=client_confirmation.strip()[:300],
            rejection_reason="",
        )


def mass_reject(*, send: MassSend, by: Actor, reason: str) -> MassSend:
    _require_approver(by, send)
    if not reason.strip():
        raise MassError(_("Say why the send is rejected."))
    with transaction.atomic():
        return _apply(
            _locked(send), "reject", by=by, note=reason.strip(), rejection_reason=reason.strip()[:300]
        )


def mass_schedule(*, send: MassSend, by: Actor, at: datetime.datetime) -> MassSend:
    _require_approver(by, send)
    if at <= timezone.now() + datetime.timedelta(minutes=1):
        raise MassError(_("Choose a time in the future."))
    with transaction.atomic():
        locked = _locked(send)
        _refuse_past_limit(locked)
        return _apply(
            locked,
            "schedule",
            by=by,
            note=timezone.localtime(at).strftime("%Y-%m-%d %H:%M"),
            scheduled_at=at,
        )


def mass_unschedule(*, send: MassSend, by: Actor) -> MassSend:
    _require_approver(by, send)
    with transaction.atomic():
        return _apply(_locked(send), "unschedule", by=by, scheduled_at=None)


def _refuse_past_limit(send: MassSend) -> None:
    refusal = month_usage(send.account, exclude=send.pk).refusal(send)
    if refusal:
        raise MassError(refusal + " " + _("Nothing was sent."))


def mass_send_now(*, send: MassSend, by: Actor) -> MassSend:
    """Hand an approved (or scheduled) send to a worker now; refused past the month's limit."""
    _require_approver(by, send)
    with transaction.atomic():
        locked = _locked(send)
        _refuse_past_limit(locked)
        _apply(locked, "send", by=by)
        enqueue(locked.pk)
    return locked


def enqueue(send_id: int) -> None:
    """Queue the send's task after the commit; with the queue down the beat picks it up."""
    from content.mass.tasks import run_mass_send

    def say_so(_ticket: Any) -> None:
        MassSend.objects.filter(pk=send_id).update(
            status_note=_("The task queue is unavailable; sending starts when it is back.")
        )

    enqueue_on_commit(run_mass_send, send_id, on_failure=say_so)


def mass_delete(*, send: MassSend, by: Actor, article_idx: int = 0) -> MassSend:
    """R-MASS-05: delete a sent article on WeChat (message/mass/delete): only articles, only once WeChat
    accepted the send; followers keep the card but the article page is gone. An unanswered
    call is read back (message/mass/get) before the send says anything."""
    _require_approver(by, send)
    if send.kind != MassKind.ARTICLE:
        raise MassError(
            _("Only an article can be deleted after sending; other messages stay with the followers.")
        )
    if send.status not in TRANSITIONS["delete"].sources:
        raise MassError(
            _("This send is %(status)s: only a sent article can be deleted.")
            % {"status": send.get_status_display()}
        )
    if send.msg_id is None:
        raise MassError(_("WeChat's msg_id of this send is not known here: delete it on the MP website."))
    client = client_for(send.account)
    try:
        wx.delete(client, send.msg_id, article_idx=article_idx)
    except WeChatError as exc:
        if not exc.may_have_acted:
            raise MassError(_("WeChat refused to delete: %(why)s") % {"why": _why(exc)}) from exc
        try:
            deleted = wx.status(client, send.msg_id) == wx.STATUS_DELETED
        except WeChatError:
            deleted = False
        if not deleted:
            raise MassError(_("No answer from WeChat; the article was not deleted. Try again.")) from exc
    with transaction.atomic():
        return _apply(
            _locked(send),
            "delete",
            by=by,
            note=_("article %(n)s") % {"n": article_idx} if article_idx else _("every article"),
            deleted_at=timezone.now(),
        )


def _why(exc: WeChatError) -> str:
    return str(REFUSALS.get(exc.errcode) or exc.explanation)


# --- sending ----------------------------------------------------------------------------------
def _lease_key(send_id: int) -> str:
    return f"content:mass-lease:{send_id}"


def run_send(send_id: int) -> str:
    """The task: send one mass message at most once (R-MASS-02). Returns what happened."""
    r = redis_client(Purpose.TASKS)
    token = uuid.uuid4().hex
    if not r.set(_lease_key(send_id), token, nx=True, ex=LEASE_SECONDS):
        return "busy"
    try:
        return _run(send_id)
    finally:
        if r.get(_lease_key(send_id)) in (token, token.encode()):
            r.delete(_lease_key(send_id))


def _run(send_id: int) -> str:
    now = timezone.now()
    with transaction.atomic():
        send = _locked(send_id)
        if send.status not in (MassStatus.SENDING, MassStatus.UNKNOWN):
            return str(send.status)
        if send.called_at is None:
            refusal = month_usage(send.account, exclude=send.pk).refusal(send)
            if refusal:
                _apply(send, "refused", note=refusal + " " + _("Nothing was sent."), errcode=wx.NO_MASS_QUOTA)
                return "failed"
            send.called_at = now
            send.clientmsgid = send.clientmsgid or f"wxadmin-{send.pk}-{uuid.uuid4().hex[:20]}"
            if send.kind == MassKind.ARTICLE and send.draft is not None:
                send.media_id = send.draft.media_id
        elif now - send.called_at > RESEND_WINDOW:
            note = _(
                "WeChat's answer was lost more than a day ago and can no longer be checked: see the "
                "MP website's sent messages. Not sent again."
            )
            if send.status == MassStatus.SENDING:
                _apply(send, "lost", note=note)
            else:
                send.status_note = note
                send.save(update_fields=["status_note", "updated_at"])
            return "unknown"
        send.attempts += 1
        send.save(update_fields=["called_at", "clientmsgid", "attempts", "media_id", "updated_at"])
        MassSendLog.objects.create(
            send=send, action="call", from_status=send.status, note=f"{send.clientmsgid} #{send.attempts}"
        )
    # the intent is committed: now the call
    try:
        answer = wx.send_to_all_or_tag(
            client_for(send.account),
            **_message(send),
            tag_id=None if send.to_all else send.tag_id,
            send_ignore_reprint=send.send_ignore_reprint,
            clientmsgid=send.clientmsgid,
        )
    except WeChatError as exc:
        return _record_error(send_id, exc)
    with transaction.atomic():
        _apply(
            _locked(send_id),
            "accepted",
            msg_id=int(answer["msg_id"]),
            msg_data_id=int(answer["msg_data_id"]) if answer.get("msg_data_id") else None,
            sent_at=timezone.now(),
            errcode=None,
        )
    return "sent"


def _record_error(send_id: int, exc: WeChatError) -> str:
    with transaction.atomic():
        send = _locked(send_id)
        if exc.errcode == wx.CLIENTMSGID_EXISTS:
            # our own clientmsgid: an earlier call of this send got through
            _apply(
                send,
                "accepted",
                note=_("WeChat confirmed that this send had already gone out (an earlier answer was lost)."),
                sent_at=send.sent_at or send.called_at,
            )
            return "sent"
        if exc.may_have_acted:
            note = _(
                "No answer from WeChat: it may or may not have sent. Checking with WeChat (same clientmsgid) "
                "before anything is sent again."
            )
            if send.status == MassStatus.SENDING:
                _apply(send, "lost", note=note, errcode=exc.errcode)
            return "unknown"
        if not exc.request_sent or exc.temporary:
            send.status_note = _("WeChat was not reached (%(why)s); trying again shortly, never twice.") % {
                "why": exc.explanation
            }
            send.errcode = exc.errcode
            send.save(update_fields=["status_note", "errcode", "updated_at"])
            return "retry"
        _apply(send, "refused", note=_why(exc), errcode=exc.errcode)
        return "failed"


def sweep(now: datetime.datetime | None = None) -> dict[str, int]:
    """The beat: start scheduled sends whose time came, queue sends no worker holds (a worker
    died, the queue was down, an answer was lost), and read back accepted sends whose
    MASSSENDJOBFINISH has not come."""
    now = now or timezone.now()
    started = 0
    for send_id in MassSend.objects.filter(status=MassStatus.SCHEDULED, scheduled_at__lte=now).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            send = _locked(send_id)
            if send.status != MassStatus.SCHEDULED:
                continue
            refusal = month_usage(send.account, exclude=send.pk).refusal(send)
            _apply(send, "start")
            if refusal:
                _apply(send, "refused", note=refusal + " " + _("Nothing was sent."), errcode=wx.NO_MASS_QUOTA)
                continue
            enqueue(send.pk)
            started += 1
    r = redis_client(Purpose.TASKS)
    resumed = 0
    for send_id in MassSend.objects.filter(status__in=(MassStatus.SENDING, MassStatus.UNKNOWN)).values_list(
        "pk", flat=True
    ):
        if not r.exists(_lease_key(send_id)):
            enqueue(send_id)
            resumed += 1
    read = 0
    for send in MassSend.objects.filter(
        status=MassStatus.SENT, msg_id__isnull=False, sent_at__lte=now - READ_BACK_AFTER
    ).select_related("account")[:50]:
        read += read_back(send)
    return {"started": started, "resumed": resumed, "read_back": read}


def read_back(send: MassSend) -> int:
    """message/mass/get for an accepted send: 1 when it settled the send's status."""
    assert send.msg_id is not None
    try:
        status = wx.status(client_for(send.account), send.msg_id)
    except WeChatError as exc:
        logger.info("mass send %s: message/mass/get failed: %s", send.pk, exc)
        return 0
    with transaction.atomic():
        locked = _locked(send)
        if locked.status != MassStatus.SENT:
            return 0
        if status == wx.STATUS_SUCCESS:
            _apply(locked, "finish", note=_("WeChat says the send succeeded."), wechat_status=status)
        elif status == wx.STATUS_FAIL:
            _apply(locked, "fail", note=_("WeChat says the send failed."), wechat_status=status)
        elif status == wx.STATUS_DELETED:
            _apply(locked, "finish", wechat_status=status)
            _apply(locked, "delete", note=_("Deleted on WeChat."), deleted_at=timezone.now())
        else:
            return 0
    return 1


# --- MASSSENDJOBFINISH ------------------------------------------------------------------------
def _count(raw: dict[str, Any], key: str) -> int | None:
    value = str(raw.get(key) or "").strip()
    return int(value) if value.isdigit() else None


def record_finish(*, account_id: int, raw: dict[str, Any]) -> bool:
    """R-MASS-04: record a MASSSENDJOBFINISH push on its send: the totals and WeChat's status
    ("send success", "send fail", "err(n)"). Idempotent: WeChat's retries change nothing more.
    A send accepted through the clientmsgid guard (no msg_id known) is matched as the account's
    one accepted send without a msg_id of the last day. True when a send was found."""
    msg_id_text = str(raw.get("MsgID") or raw.get("MsgId") or "").strip()
    if not msg_id_text.isdigit():
        return False
    msg_id = int(msg_id_text)
    status_text = str(raw.get("Status") or "").strip()
    with transaction.atomic():
        send = MassSend.objects.select_for_update().filter(
            account_id=account_id, msg_id=msg_id
        ).first() or _orphan(account_id)
        if send is None:
            logger.warning("MASSSENDJOBFINISH for unknown msg_id %s of account %s", msg_id, account_id)
            return False
        fields: dict[str, Any] = {
            "msg_id": msg_id,
            "wechat_status": status_text[:40],
            "total_count": _count(raw, "TotalCount"),
            "filter_count": _count(raw, "FilterCount"),
            "sent_count": _count(raw, "SentCount"),
            "error_count": _count(raw, "ErrorCount"),
            "finished_at": send.finished_at or timezone.now(),
        }
        if send.status in (MassStatus.SENDING, MassStatus.UNKNOWN):
            _apply(send, "accepted", note=_("Settled by WeChat's result push."), sent_at=send.called_at)
        if send.status == MassStatus.SENT:
            if status_text == "send success":
                _apply(send, "finish", **fields)
            else:
                _apply(send, "fail", note=finish_error(status_text), **fields)
        else:
            for key, value in fields.items():
                setattr(send, key, value)
            send.save()
    return True


def _orphan(account_id: int) -> MassSend | None:
    candidates = list(
        MassSend.objects.select_for_update().filter(
            Q(status__in=(MassStatus.SENT, MassStatus.SENDING, MassStatus.UNKNOWN)),
            account_id=account_id,
            msg_id__isnull=True,
            called_at__gte=timezone.now() - datetime.timedelta(days=1),
        )[:2]
    )
    return candidates[0] if len(candidates) == 1 else None


def finish_error(status_text: str) -> str:
    """WeChat's Status of a failed send in words."""
    if status_text.startswith("err(") and status_text.endswith(")"):
        code = status_text[4:-1]
        reason = FINISH_ERRORS.get(code)
        if reason is not None:
            return _("WeChat did not send it: %(why)s (%(code)s).") % {"why": reason, "code": status_text}
    return _("WeChat did not send it (%(status)s).") % {"status": status_text or "?"}
