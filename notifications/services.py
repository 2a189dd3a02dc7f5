"""Template messages (issue 26; protocol in docs/wechat-protocol.md §h and
`wechat/api/templates.py`): templates synced, added and deleted; sends checked against
WeChat's current rules, run by tasks in batches within the daily quota, paused, resumed and
cancelled; each message logged before it is sent and its outcome recorded after.

`template_send` is the one entry point for other apps (the API app) and the admin.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OfficialAccount
from accounts.selectors import user_can_access_account
from accounts.wechat_api import client_for
from core.domain_errors import DomainError
from core.queueing import enqueue_now
from core.redis_clients import Purpose
from core.redis_clients import client as redis_client
from core.typing import Actor
from wechat.api import templates as wx
from wechat.errors import DAILY_QUOTA, WeChatError

from .models import (
    Delivery,
    DeliveryStatus,
    Industry,
    Send,
    SendStatus,
    TargetKind,
    Template,
)
from .transitions import TRANSITIONS

logger = logging.getLogger(__name__)
#: How long a send's runner reuses the access token it read (see `run_send`).
TOKEN_REUSE_SECONDS = 1.0
BEIJING = ZoneInfo("Asia/Shanghai")
SEND_PERMISSION = "notifications.send_template_message"
#: WeChat's refusals that say something about the recipient or the values (§h).
REFUSALS = {
    40003: gettext_lazy("the OpenID is not a follower of this account"),
    43004: gettext_lazy("the user unsubscribed"),
    43019: gettext_lazy("the user blocked the account"),
    40037: gettext_lazy("the template no longer exists"),
    47003: gettext_lazy("a value does not meet the template's rules"),
}


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def daily_quota() -> int:
    """message/template/send calls a day per account: 100,000 by default (§h)."""
    return int(_setting("NOTIFICATIONS_DAILY_QUOTA", 100_000))


class NotificationError(DomainError, ValueError):
    """A template-message operation refused, with the reason in the user's language."""


@dataclass
class CsvCheck:
    """A CSV of recipients: the good rows and each bad row's number and reason."""

    good: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)
    bad: list[tuple[int, str]] = field(default_factory=list)


# --- values ------------------------------------------------------------------------------------
def value_problems(template: Template, data: dict[str, str]) -> list[str]:
    """What is wrong with ``data`` for the template, in the user's language; [] when fine.

    WeChat's current rules (§h, `wechat.api.templates.keyword_problem`): every keyword of the
    content filled within its kind's limits; no `first`/`remark` (not displayed since 2023)
    and no colours (a value must be text, not {"value", "color"}); no unknown keyword."""
    problems: list[str] = []
    keywords: dict[str, str] = dict(template.keywords)
    for name, value in data.items():
        if name in wx.RETIRED_FIELDS:
            problems.append(_("%(name)s: WeChat no longer shows this field; leave it out.") % {"name": name})
        elif name not in keywords:
            problems.append(_("%(name)s: the template has no such field.") % {"name": name})
        elif not isinstance(value, str):
            problems.append(
                _("%(name)s: colours are no longer supported; give the text only.") % {"name": name}
            )
    for name, kind in keywords.items():
        if name in wx.RETIRED_FIELDS:
            continue
        value = data.get(name, "")
        problem = wx.keyword_problem(kind, value) if isinstance(value, str) else None
        if problem == "empty":
            problems.append(_("%(name)s: missing.") % {"name": name})
        elif problem == "too_long":
            problems.append(_("%(name)s: too long for a %(kind)s field.") % {"name": name, "kind": kind})
        elif problem == "format":
            problems.append(
                _("%(name)s: “%(value)s” is not a valid %(kind)s value.")
                % {"name": name, "value": value[:40], "kind": kind}
            )
    return problems


def check_csv(template: Template, content: bytes | str) -> CsvCheck:
    """Read a CSV whose header is ``openid`` and the template's field names, one recipient a
    row (row 1 = the header). Each bad row is named with its number and reason."""
    text = content.decode("utf-8-sig", errors="replace") if isinstance(content, bytes) else content
    reader = csv.reader(io.StringIO(text))
    result = CsvCheck()
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise NotificationError(_("The CSV file is empty.")) from None
    if "openid" not in header:
        raise NotificationError(_("The CSV's first row must name the columns, one of them “openid”."))
    seen: set[str] = set()
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            result.bad.append(
                (
                    number,
                    _("row %(n)s: %(got)s columns instead of %(want)s.")
                    % {"n": number, "got": len(row), "want": len(header)},
                )
            )
            continue
        values = {h: cell.strip() for h, cell in zip(header, row, strict=True)}
        openid = values.pop("openid")
        if not wx_openid_ok(openid):
            result.bad.append(
                (
                    number,
                    _("row %(n)s: “%(openid)s” is not an OpenID.") % {"n": number, "openid": openid[:64]},
                )
            )
            continue
        if openid in seen:
            result.bad.append(
                (number, _("row %(n)s: %(openid)s appears twice.") % {"n": number, "openid": openid})
            )
            continue
        problems = value_problems(template, values)
        if problems:
            result.bad.append(
                (number, _("row %(n)s: %(problems)s") % {"n": number, "problems": " ".join(problems)})
            )
            continue
        seen.add(openid)
        result.good.append((number, openid, values))
    return result


def wx_openid_ok(openid: str) -> bool:
    return 6 <= len(openid) <= 64 and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in openid)


# --- permissions -----------------------------------------------------------------------------
def _require_send_permission(by: Actor, account: OfficialAccount) -> None:
    if by is None:
        return
    if not by.has_perm(SEND_PERMISSION) or not user_can_access_account(by, account):
        raise NotificationError(_("You may not send template messages for this account."))


def _require_access(by: Actor, account: OfficialAccount) -> None:
    if by is not None and not user_can_access_account(by, account):
        raise NotificationError(_("You may not manage this account's templates."))


# --- templates ---------------------------------------------------------------------------------
def _industry_text(part: dict[str, Any] | None) -> str:
    part = part or {}
    return " / ".join(str(part.get(key) or "") for key in ("first_class", "second_class")).strip(" /")


def templates_sync(*, account: OfficialAccount, by: Actor) -> int:
    """Replace the account's template list by WeChat's (get_all_private_template) and record
    its industry (get_industry); the number of templates."""
    _require_access(by, account)
    client = client_for(account)
    try:
        listed = wx.list_templates(client)
        industry = wx.get_industry(client)
    except WeChatError as exc:
        raise NotificationError(_("WeChat refused: %(why)s") % {"why": exc.explanation}) from exc
    with transaction.atomic():
        keep = []
        for item in listed:
            content = str(item.get("content") or "")
            template, _created = Template.objects.update_or_create(
                account=account,
                template_id=str(item["template_id"]),
                defaults={
                    "title": str(item.get("title") or "")[:100],
                    "content": content,
                    "example": str(item.get("example") or ""),
                    "primary_industry": str(item.get("primary_industry") or "")[:100],
                    "deputy_industry": str(item.get("deputy_industry") or "")[:100],
                    "keywords": [list(pair) for pair in wx.keywords_of(content)],
                },
            )
            keep.append(template.pk)
        Template.objects.filter(account=account).exclude(pk__in=keep).delete()
        Industry.objects.update_or_create(
            account=account,
            defaults={
                "primary": _industry_text(industry.get("primary_industry"))[:100],
                "secondary": _industry_text(industry.get("secondary_industry"))[:100],
            },
        )
    return len(keep)


def template_add(
    *, account: OfficialAccount, template_id_short: str, keyword_names: Sequence[str] = (), by: Actor
) -> Template:
    """Add a library template (api_add_template; category templates name their keywords),
    then sync so the new template shows with its content."""
    _require_access(by, account)
    short = template_id_short.strip()
    if not short:
        raise NotificationError(_("Give the template's library number."))
    try:
        template_id = wx.add_template(
            client_for(account), short, [k.strip() for k in keyword_names if k.strip()]
        )
    except WeChatError as exc:
        if exc.temporary:
            _settle_by_reading_back(account, exc)
        if exc.errcode == 40246:
            raise NotificationError(_("WeChat does not know one of these keyword names.")) from exc
        if exc.errcode == 40037:
            raise NotificationError(_("WeChat's library has no template %(id)s.") % {"id": short}) from exc
        raise NotificationError(_("WeChat refused: %(why)s") % {"why": exc.explanation}) from exc
    templates_sync(account=account, by=None)
    return Template.objects.get(account=account, template_id=template_id)


def _settle_by_reading_back(account: OfficialAccount, exc: WeChatError) -> None:
    """Issue 23 §3: the call may have reached WeChat (no answer, a timeout): read the template list
    back (get_all_private_template) so ours is what WeChat has, and say so instead of a refusal."""
    try:
        templates_sync(account=account, by=None)
    except WeChatError:
        raise NotificationError(
            _("WeChat did not answer, and its template list cannot be read now: sync the templates later.")
        ) from exc
    raise NotificationError(
        _("WeChat did not answer in time; the template list was read back from WeChat and shows what it has.")
    ) from exc


def template_delete(*, template: Template, by: Actor) -> None:
    """Delete the template on WeChat, then here. Sends already made keep their log."""
    _require_access(by, template.account)
    try:
        wx.delete_template(client_for(template.account), template.template_id)
    except WeChatError as exc:
        if exc.temporary:
            _settle_by_reading_back(template.account, exc)
        if exc.errcode != 40037:  # already gone on WeChat's side: delete ours too
            raise NotificationError(_("WeChat refused: %(why)s") % {"why": exc.explanation}) from exc
    template.delete()


# --- sending -----------------------------------------------------------------------------------
def template_send(
    *,
    account: OfficialAccount,
    template: Template,
    by: Actor,
    openid: str | None = None,
    tag_id: int | None = None,
    rows: Iterable[tuple[int | None, str, dict[str, str]]] | None = None,
    data: dict[str, str] | None = None,
    url: str = "",
    miniprogram: dict[str, str] | None = None,
    bad_rows: int | Sequence[tuple[int, str]] = 0,
) -> Send:
    """Queue template messages: to one follower (``openid`` + ``data``), to a tag (``tag_id``
    + ``data``; its members are listed when sending starts) or to rows of
    (row number, OpenID, per-row data). Exactly one target. Values are checked first (one bad
    value refuses the whole send); ``bad_rows`` (a CSV's rows left out: their count, or
    `check_csv`'s (row number, reason) list, kept on the send for staff to read) keeps the
    send awaiting staff confirmation. Every recipient's delivery row is written before anything is
    sent; the task is queued after the commit. Raises NotificationError."""
    _require_send_permission(by, account)
    if template.account_id != account.pk:
        raise NotificationError(_("This template belongs to another account."))
    targets = [t for t in (openid, tag_id, rows) if t is not None]
    if len(targets) != 1:
        raise NotificationError(_("Choose one kind of recipients: one follower, a tag, or a CSV."))
    if url and miniprogram:
        raise NotificationError(_("Give a link or a mini program, not both."))
    if url and not url.startswith(("http://", "https://")):
        raise NotificationError(_("The link must start with http:// or https://."))
    if miniprogram is not None and not (miniprogram.get("appid") or "").strip():
        raise NotificationError(_("A mini program needs its AppID."))
    recipients: list[tuple[int | None, str, dict[str, str]]] = []
    if rows is None:
        problems = value_problems(template, data or {})
        if problems:
            raise NotificationError(" ".join(problems))
    if openid is not None:
        if not wx_openid_ok(openid.strip()):
            raise NotificationError(_("“%(openid)s” is not an OpenID.") % {"openid": openid[:64]})
        recipients = [(None, openid.strip(), {})]
        kind = TargetKind.ONE
    elif tag_id is not None:
        if int(tag_id) < 0:
            raise NotificationError(_("A tag ID is a positive number."))
        kind = TargetKind.TAG
    else:
        assert rows is not None
        recipients = list(rows)
        for number, row_openid, values in recipients:
            problems = value_problems(template, values)
            if problems or not wx_openid_ok(row_openid):
                raise NotificationError(
                    _("row %(n)s: %(problems)s") % {"n": number, "problems": " ".join(problems) or row_openid}
                )
        if not recipients:
            raise NotificationError(_("There is nobody to send to."))
        kind = TargetKind.CSV
    bad_list = [[int(n), str(why)] for n, why in bad_rows] if not isinstance(bad_rows, int) else []
    bad_count = bad_rows if isinstance(bad_rows, int) else len(bad_list)
    with transaction.atomic():
        send = Send.objects.create(
            account=account,
            template=template,
            wechat_template_id=template.template_id,
            template_title=template.title,
            target_kind=kind,
            tag_id=tag_id,
            data=data or {},
            url=url,
            miniprogram_appid=(miniprogram or {}).get("appid", "").strip(),
            miniprogram_pagepath=(miniprogram or {}).get("pagepath", "").strip(),
            status=SendStatus.AWAITING_CONFIRMATION if bad_count else SendStatus.QUEUED,
            status_note=(
                _("%(n)s rows were left out; confirm to send the others.") % {"n": bad_count}
                if bad_count
                else ""
            ),
            bad_rows=bad_list,
            total=len(recipients),
            created_by=by,
        )
        _add_deliveries(send, recipients)
        if send.status == SendStatus.QUEUED:
            transaction.on_commit(lambda: enqueue(send.pk))
    return send


def _add_deliveries(send: Send, recipients: Iterable[tuple[int | None, str, dict[str, str]]]) -> int:
    batch: list[Delivery] = []
    count = 0
    for number, openid, values in recipients:
        batch.append(
            Delivery(
                send=send,
                account_id=send.account_id,
                template_id=send.wechat_template_id,
                openid=openid,
                row_number=number,
                data=values or send.data,
            )
        )
        if len(batch) >= 5000:
            Delivery.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    Delivery.objects.bulk_create(batch)
    return count + len(batch)


def enqueue(send_id: int) -> bool:
    """Hand the send to a worker; when the queue is down, say so on the send (the periodic
    `resume_sends` picks it up once the queue is back)."""
    from .tasks import run_send

    if not enqueue_now(run_send, send_id).sent:  # core.queueing logs the broker's error
        Send.objects.filter(pk=send_id).update(
            status_note=_("The task queue is unavailable; sending starts when it is back.")
        )
        return False
    return True


def send_transition(*, send: Send, name: str, by: Actor) -> Send:
    """Apply one staff transition (confirm, pause, resume, cancel) under the row lock;
    refuses when the send's status does not allow it (transitions.TRANSITIONS)."""
    _require_send_permission(by, send.account)
    transition = TRANSITIONS[name]
    with transaction.atomic():
        locked = Send.objects.select_for_update().get(pk=send.pk)
        if locked.status not in transition.sources:
            raise NotificationError(
                _("This send is %(status)s: it cannot be %(action)s now.")
                % {"status": locked.get_status_display(), "action": str(transition.label).lower()}
            )
        locked.status = transition.target
        locked.status_note = ""
        if name == "cancel":
            skipped = Delivery.objects.filter(send=locked, status=DeliveryStatus.PENDING).update(
                status=DeliveryStatus.CANCELLED, finished_at=timezone.now()
            )
            locked.finished_at = timezone.now()
            locked.status_note = _("%(n)s messages were not sent.") % {"n": skipped}
        if name == "resume":
            locked.resume_at = None
        locked.save()
        if locked.status == SendStatus.QUEUED:
            transaction.on_commit(lambda: enqueue(locked.pk))
    return locked


def _move(send_id: int, name: str, **fields: Any) -> bool:
    """A system transition (start, wait_for_quota, complete); False when the status moved on."""
    transition = TRANSITIONS[name]
    return bool(
        Send.objects.filter(pk=send_id, status__in=transition.sources).update(
            status=transition.target, **fields
        )
    )


def _beijing_day(now: datetime.datetime) -> str:
    return now.astimezone(BEIJING).date().isoformat()


def _next_beijing_midnight(now: datetime.datetime) -> datetime.datetime:
    local = now.astimezone(BEIJING)
    return datetime.datetime.combine(local.date() + datetime.timedelta(days=1), datetime.time(0, 5), BEIJING)


def _reserve_quota(account_id: int, wanted: int) -> int:
    """Take up to ``wanted`` of today's quota (a Redis counter per account and Beijing day)."""
    key = f"notifications:quota:{account_id}:{_beijing_day(timezone.now())}"
    r = redis_client(Purpose.TASKS)
    used = int(r.incrby(key, wanted))
    r.expire(key, 2 * 86400)
    granted = max(0, min(wanted, daily_quota() - (used - wanted)))
    if granted < wanted:
        r.decrby(key, wanted - granted)
    return granted


def quota_used_today(account: OfficialAccount) -> int:
    """Calls taken today (Beijing day) from the account's daily quota, for the send page."""
    key = f"notifications:quota:{account.pk}:{_beijing_day(timezone.now())}"
    return int(redis_client(Purpose.TASKS).get(key) or 0)


def _release_quota(account_id: int, unused: int) -> None:
    if unused > 0:
        key = f"notifications:quota:{account_id}:{_beijing_day(timezone.now())}"
        redis_client(Purpose.TASKS).decrby(key, unused)


def _refresh_counts(send_id: int) -> None:
    counts = Delivery.objects.filter(send_id=send_id).aggregate(
        total=Count("id"),
        sent=Count("id", filter=Q(status__in=(DeliveryStatus.SENT, DeliveryStatus.DELIVERED))),
        failed=Count(
            "id",
            filter=Q(
                status__in=(
                    DeliveryStatus.REFUSED,
                    DeliveryStatus.USER_BLOCK,
                    DeliveryStatus.SYSTEM_FAILED,
                    DeliveryStatus.UNKNOWN,
                )
            ),
        ),
    )
    Send.objects.filter(pk=send_id).update(**counts)


def _expand_tag(send: Send) -> None:
    """List the tag's members once (user/tag/get) into delivery rows."""
    if send.total or Delivery.objects.filter(send=send).exists():
        return
    assert send.tag_id is not None
    members = wx.tag_members(client_for(send.account), send.tag_id)
    with transaction.atomic():
        count = _add_deliveries(send, ((None, openid, {}) for openid in members))
        Send.objects.filter(pk=send.pk).update(total=count)


class Claimed(NamedTuple):
    """A delivery claimed for its call: what the call and the record of its outcome need."""

    pk: int
    openid: str
    data: dict[str, str]
    called_at: datetime.datetime


def _call(client: Any, send: Send, delivery: Claimed) -> tuple[Claimed, int | None, WeChatError | None]:
    try:
        msgid = wx.send(
            client,
            touser=delivery.openid,
            template_id=send.wechat_template_id,
            data=delivery.data,
            url=send.url or None,
            miniprogram=(
                {"appid": send.miniprogram_appid, "pagepath": send.miniprogram_pagepath}
                if send.miniprogram_appid
                else None
            ),
        )
        return delivery, msgid, None
    except WeChatError as exc:
        return delivery, None, exc


def run_send(send_id: int, *, max_seconds: float = 60.0) -> str:
    """Send a send's pending messages in batches until done, paused, cancelled, out of
    today's quota or out of time (then the task queues itself again).

    No message is sent twice: a row is claimed (status CALLING, committed) before its call,
    and a CALLING row found when a run starts was interrupted mid-call (a worker died): it is
    marked UNKNOWN, never re-sent. One runner per send (a Redis lease)."""
    r = redis_client(Purpose.TASKS)
    lease = int(max_seconds + 120)
    lock_key = f"notifications:send-lock:{send_id}"
    if not r.set(lock_key, "1", nx=True, ex=lease):
        return "busy"
    try:
        return _run(send_id, max_seconds=max_seconds)
    finally:
        r.delete(lock_key)


def _run(send_id: int, *, max_seconds: float) -> str:
    started = time.monotonic()
    send = Send.objects.select_related("account").get(pk=send_id)
    if send.status == SendStatus.QUEUED:
        _move(send_id, "start", started_at=send.started_at or timezone.now(), status_note="")
        send.refresh_from_db()
    if send.status != SendStatus.SENDING:
        return send.status
    interrupted = Delivery.objects.filter(send_id=send_id, status=DeliveryStatus.CALLING).update(
        status=DeliveryStatus.UNKNOWN,
        error=_("Sending was interrupted; WeChat may or may not have sent it. Not re-sent."),
        finished_at=timezone.now(),
    )
    if interrupted:
        logger.warning("template send %s: %s interrupted messages marked unknown", send_id, interrupted)
    if send.target_kind == TargetKind.TAG:
        try:
            _expand_tag(send)
        except WeChatError as exc:
            _move(send_id, "complete", finished_at=timezone.now(), status_note=exc.explanation[:300])
            return "failed"
    batch_size = int(_setting("NOTIFICATIONS_BATCH_SIZE", 200))
    concurrency = int(_setting("NOTIFICATIONS_CONCURRENCY", 8))
    # The token is read once a second, not once a call (a Redis round trip per message); a
    # token WeChat rejects is dropped and read again at once (WeChatClient.call).
    client = client_for(send.account, token_reuse_seconds=TOKEN_REUSE_SECONDS)
    outcome = "sending"
    reason: str | None = None  # why no more batches are claimed
    cursor = 0  # claims start above the last claimed id (see _claim)
    in_flight: list[Future[tuple[Claimed, int | None, WeChatError | None]]] | None = None
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        # Pipelined: the next batch is claimed and its calls queued before the batch in flight
        # is recorded, so the threads never wait for the database between batches.
        while True:
            batch = None
            if reason is None:
                status = Send.objects.filter(pk=send_id).values_list("status", flat=True).first()
                granted = _reserve_quota(send.account_id, batch_size) if status == SendStatus.SENDING else 0
                if status != SendStatus.SENDING:
                    reason, outcome = "status", str(status)
                elif granted == 0:
                    reason = "quota"
                else:
                    claimed, cursor = _claim(send_id, granted, cursor)
                    _release_quota(send.account_id, granted - len(claimed))
                    if claimed:
                        batch = [pool.submit(_call, client, send, d) for d in claimed]
                    elif in_flight is None:
                        reason = "done"
                    # else: nothing pending now; record the batch in flight and look again
            if in_flight is not None and _record(send, [f.result() for f in in_flight]):
                reason = "quota"
            in_flight = batch
            if in_flight is None and reason is not None:
                break
            if reason is None and time.monotonic() - started > max_seconds:
                reason = "time"
    if reason == "done" and _move(send_id, "complete", finished_at=timezone.now()):
        outcome = "completed"
    elif reason == "quota":
        _wait_for_quota(send_id)
        outcome = "waiting_quota"
    elif reason == "time":
        transaction.on_commit(lambda: enqueue(send_id))
    _refresh_counts(send_id)  # exact, once a run (batches add to the counts as they go)
    return outcome


def _claim(send_id: int, wanted: int, cursor: int) -> tuple[list[Claimed], int]:
    """Up to ``wanted`` pending deliveries, marked CALLING and committed before any call.

    One statement (UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING), so a
    claim is one round trip and no model instances. Claims walk up the (send, status, id)
    index from ``cursor``, the last id claimed in this run: a claim from the start would step
    over every earlier row's dead index entries (each status change leaves one until VACUUM),
    which made a 10,000-row send twice as slow per row as a 2,000-row one
    (bench/template_send.py). Rows put back to pending below the cursor (a temporary error) are
    found by one claim from the start once the cursor finds none."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sql = (
        f"UPDATE {table} SET status = %s, called_at = %s "  # noqa: S608 (a model's table name)
        f"WHERE id IN (SELECT id FROM {table} WHERE send_id = %s AND status = %s AND id > %s "
        "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id, openid, data, called_at"
    )
    for start in (cursor, 0) if cursor else (0,):
        with transaction.atomic(), connection.cursor() as db:
            now = timezone.now()
            db.execute(
                sql,
                [DeliveryStatus.CALLING.value, now, send_id, DeliveryStatus.PENDING.value, start, wanted],
            )
            rows = db.fetchall()
        if rows:
            claimed = sorted(
                Claimed(pk, openid, data if isinstance(data, dict) else json.loads(data), called_at)
                for pk, openid, data, called_at in rows
            )
            return claimed, claimed[-1].pk
    return [], 0


def _record(send: Send, results: list[tuple[Claimed, int | None, WeChatError | None]]) -> bool:
    """Write each call's outcome; True when WeChat said the daily quota is used up (those
    rows go back to pending: WeChat refused them, so nothing was sent). The accepted ones in
    one statement; the rare others with `bulk_update` (rows built from the claim, not read
    again)."""
    now = timezone.now()
    quota_hit = False
    sent: list[tuple[int, int | None]] = []
    others: list[Delivery] = []
    failed = 0
    for claimed, msgid, error in results:
        if error is None:
            sent.append((claimed.pk, msgid))
            continue
        row = Delivery(pk=claimed.pk, status=DeliveryStatus.PENDING, msgid=None, errcode=None, error="")
        row.called_at, row.finished_at = claimed.called_at, None
        if error.errcode == DAILY_QUOTA:
            row.called_at = None
            quota_hit = True
        elif error.may_have_acted:
            row.status, row.errcode = DeliveryStatus.UNKNOWN, error.errcode
            row.error = _("No answer from WeChat; it may or may not have sent it. Not re-sent.")
            row.finished_at = now
            failed += 1
        elif not error.request_sent or error.temporary:
            row.called_at = None  # refused or never sent: pending again, tried later
        else:
            row.status, row.errcode, row.finished_at = DeliveryStatus.REFUSED, error.errcode, now
            reason = REFUSALS.get(error.errcode)
            row.error = str(reason or error.explanation)[:300]
            failed += 1
        others.append(row)
    _mark_sent(sent)
    if others:  # the rare refusals and unknowns
        Delivery.objects.bulk_update(
            others, ["status", "msgid", "errcode", "error", "called_at", "finished_at"]
        )
    if sent or failed:  # progress as it goes; `_refresh_counts` makes it exact at the end of a run
        Send.objects.filter(pk=send.pk).update(sent=F("sent") + len(sent), failed=F("failed") + failed)
    return quota_hit


def _mark_sent(sent: list[tuple[int, int | None]]) -> None:
    """One UPDATE … FROM (VALUES …) for a batch's accepted messages and their msgids:
    `bulk_update`'s CASE per row took seconds a batch of 200 (bench/template_send.py)."""
    if not sent:
        return
    table = connection.ops.quote_name(Delivery._meta.db_table)
    values = ", ".join(["(%s::bigint, %s::bigint)"] * len(sent))
    params: list[Any] = [DeliveryStatus.SENT.value]
    for pk, msgid in sent:
        params += [pk, msgid]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET status = %s, msgid = v.msgid "  # noqa: S608 (a model's table name)
            f"FROM (VALUES {values}) AS v(id, msgid) WHERE d.id = v.id",
            params,
        )


def _wait_for_quota(send_id: int) -> None:
    now = timezone.now()
    resume = _next_beijing_midnight(now)
    _move(
        send_id,
        "wait_for_quota",
        resume_at=resume,
        status_note=_("Today's quota of %(quota)s messages is used up; the rest is sent after %(when)s.")
        % {"quota": daily_quota(), "when": timezone.localtime(resume).strftime("%Y-%m-%d %H:%M")},
    )


def resume_sends() -> int:
    """Beat: queue sends whose quota day has come, and queued or sending ones no worker is
    running (the queue was down, a worker died). A second run changes nothing new: the
    runner's lease keeps one worker per send."""
    now = timezone.now()
    due = list(
        Send.objects.filter(status=SendStatus.WAITING_QUOTA, resume_at__lte=now).values_list("pk", flat=True)
    )
    for send_id in due:
        Send.objects.filter(pk=send_id, status=SendStatus.WAITING_QUOTA).update(
            status=SendStatus.QUEUED, resume_at=None, status_note=""
        )
    r = redis_client(Purpose.TASKS)
    idle = [
        pk
        for pk in Send.objects.filter(status__in=(SendStatus.QUEUED, SendStatus.SENDING)).values_list(
            "pk", flat=True
        )
        if not r.exists(f"notifications:send-lock:{pk}")
    ]
    for send_id in sorted(set(due) | set(idle)):
        enqueue(send_id)
    return len(set(due) | set(idle))


# --- outcomes (TEMPLATESENDJOBFINISH) --------------------------------------------------------
FINISH_STATUSES = {
    "success": DeliveryStatus.DELIVERED,
    "failed:user block": DeliveryStatus.USER_BLOCK,
    "failed: system failed": DeliveryStatus.SYSTEM_FAILED,
}
FINISH_QUEUE = "notifications:finish-events"


def finish_status(raw_status: str) -> str:
    """WeChat's Status text (§h) as a delivery status; unknown texts count as a system failure."""
    return FINISH_STATUSES.get(raw_status.strip(), DeliveryStatus.SYSTEM_FAILED)


def deliveries_finish(events: Iterable[tuple[int, int, str]]) -> int:
    """Record (account id, msgid, Status) outcomes on their deliveries; idempotent (a second
    push of the same outcome changes nothing). The number of rows changed."""
    by_status: dict[str, list[tuple[int, int]]] = {}
    for account_id, msgid, raw in events:
        by_status.setdefault(finish_status(raw), []).append((account_id, msgid))
    changed = 0
    now = timezone.now()
    for status, pairs in by_status.items():
        match = Q()
        for account_id, msgid in pairs:
            match |= Q(account_id=account_id, msgid=msgid)
        changed += Delivery.objects.filter(match, status=DeliveryStatus.SENT).update(
            status=status, finished_at=now
        )
    return changed


def drain_finish_events(limit: int = 5000) -> int:
    """Beat/task: apply the outcomes the callback queued (off its hot path)."""
    r = redis_client(Purpose.TASKS)
    events: list[tuple[int, int, str]] = []
    for _i in range(limit):
        item = r.rpop(FINISH_QUEUE)
        if item is None:
            break
        text = item.decode() if isinstance(item, bytes) else str(item)
        account_id, msgid, raw = text.split("|", 2)
        events.append((int(account_id), int(msgid), raw))
    changed = deliveries_finish(events) if events else 0
    for send_id in set(
        Delivery.objects.filter(
            msgid__in=[m for _a, m, _s in events], account_id__in={a for a, _m, _s in events}
        ).values_list("send_id", flat=True)
    ):
        _refresh_counts(send_id)
    return changed
