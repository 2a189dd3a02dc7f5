"""Honest WeChat writes of the audience app (issue 23, point 3; the house rule "record the
intent before the call, settle an unknown outcome by reading WeChat back, never end in an
untrue state").

Every change the audience makes in WeChat — tag / untag a batch of followers, blacklist /
unblacklist a batch, a remark, a tag created, renamed or deleted — is one ``WeChatWrite`` row:

1. ``record`` / ``record_batches`` commit the row(s) as ``pending`` before any call, leased to
   the writer (``lease_until``);
2. ``run`` marks the row ``sent`` (committed) and makes the call. WeChat's answer settles it
   (``done`` with our own rows changed in the same transaction, or ``failed`` with WeChat's
   refusal in words). A call that certainly never left (the token fetch failed because Redis
   or WeChat was down, connection refused) goes back to ``pending`` for the sweeper;
3. when the request was sent and no answer came back (read timeout, connection reset after
   sending), ``settle`` reads WeChat back — ``user/info/batchget`` (each follower's
   ``tagid_list``) for tagging, ``tags/members/getblacklist`` for the blacklist, ``user/info``
   for a remark, ``tags/get`` for tags — and records what WeChat has. "Not applied" is only
   final once ``CONFIRM_AFTER`` has passed since the call (a late answer may still apply it);
   until then, and while the read-back itself fails, the row stays ``sent``;
4. ``sweep`` (the beat task ``audience.settle_writes``) takes rows whose lease ran out — the
   writer died (worker killed, gunicorn timeout), or WeChat/Redis was down — sends the
   ``pending`` ones (the call was certainly not made; a remark or rename superseded by a newer
   one is not sent) and reads back the ``sent`` ones.

This module knows the calls, the read-backs and our own rows; the rules staff see (limits,
refusals in words) are in ``services``, which passes its ``words`` for WeChat's refusals.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from accounts.models import OfficialAccount
from core.typing import Actor
from wechat.api import tags as tags_api
from wechat.api import users as users_api
from wechat.client import WeChatClient
from wechat.errors import WeChatError

from .models import Follower, FollowerTag, Tag, WeChatWrite

logger = logging.getLogger(__name__)

Action = WeChatWrite.Action
State = WeChatWrite.State

#: how long a writer holds its rows: longer than a call with the client's retries plus a read-back
LEASE = datetime.timedelta(seconds=150)
#: when the sweeper tries a row again that could not be sent or read back
RETRY_AFTER = datetime.timedelta(seconds=60)
#: "read back: not applied" is final only this long after the call (a late answer may apply it)
CONFIRM_AFTER = datetime.timedelta(seconds=60)
MAX_SEND_TRIES = 20
MAX_READ_BACKS = 30

BATCH_ACTIONS = frozenset({Action.TAG, Action.UNTAG, Action.BLACKLIST, Action.UNBLACKLIST})

#: a WeChat refusal in words (``services`` passes its own)
Words = Callable[[WeChatError], str]


def _default_words(error: WeChatError) -> str:
    return f"{error.explanation}（{error.errcode}）"


# --- the intent ----------------------------------------------------------------------------


def record(
    *,
    account: OfficialAccount,
    action: str,
    by: Actor,
    openids: Iterable[str] = (),
    tag_wechat_id: int | None = None,
    text: str = "",
) -> WeChatWrite:
    """One write, committed as ``pending`` and leased to the caller, before any call."""
    return record_batches(
        account=account, action=action, by=by, batches=[list(openids)], tag_wechat_id=tag_wechat_id, text=text
    )[0]


def record_batches(
    *,
    account: OfficialAccount,
    action: str,
    by: Actor,
    batches: list[list[str]],
    tag_wechat_id: int | None = None,
    text: str = "",
) -> list[WeChatWrite]:
    """One row per WeChat call (a batch of at most 50 or 20 OpenIDs), in one statement."""
    now = timezone.now()
    rows = [
        WeChatWrite(
            account=account,
            action=action,
            by=by if by is not None and by.pk else None,
            openids=batch,
            tag_wechat_id=tag_wechat_id,
            text=text,
            lease_until=now + LEASE,
            created_at=now,
        )
        for batch in batches
    ]
    with transaction.atomic():
        return WeChatWrite.objects.bulk_create(rows)


def release(writes: Iterable[WeChatWrite], *, detail: str = "") -> int:
    """Rows the writer will not send itself (it stopped: WeChat or Redis is down): the
    sweeper sends them once its lease has run out."""
    ids = [w.pk for w in writes]
    return WeChatWrite.objects.filter(pk__in=ids, state=State.PENDING).update(
        lease_until=timezone.now() + RETRY_AFTER, detail=detail
    )


def cancel(writes: Iterable[WeChatWrite], *, detail: str) -> int:
    """Rows never sent that will not be (an earlier batch was refused): failed, in words."""
    ids = [w.pk for w in writes]
    return WeChatWrite.objects.filter(pk__in=ids, state=State.PENDING).update(
        state=State.FAILED, detail=detail, settled_at=timezone.now(), lease_until=None
    )


# --- the call ------------------------------------------------------------------------------


def _call(write: WeChatWrite, client: WeChatClient) -> dict[str, Any]:
    tag_id = write.tag_wechat_id
    if write.action == Action.TAG:
        tags_api.tag_users(client, int(tag_id or 0), write.openids)
    elif write.action == Action.UNTAG:
        tags_api.untag_users(client, int(tag_id or 0), write.openids)
    elif write.action == Action.BLACKLIST:
        users_api.blacklist(client, write.openids)
    elif write.action == Action.UNBLACKLIST:
        users_api.unblacklist(client, write.openids)
    elif write.action == Action.REMARK:
        users_api.update_remark(client, write.openids[0], write.text)
    elif write.action == Action.TAG_CREATE:
        return tags_api.create(client, write.text)
    elif write.action == Action.TAG_RENAME:
        tags_api.update(client, int(tag_id or 0), write.text)
    elif write.action == Action.TAG_DELETE:
        try:
            tags_api.delete(client, int(tag_id or 0))
        except WeChatError as error:
            if error.errcode != 45159:  # already gone in WeChat: what was asked holds
                raise
    return {}


def run(write: WeChatWrite, client: WeChatClient, *, words: Words = _default_words) -> WeChatWrite:
    """Send one pending write (the caller holds its lease) and settle it from WeChat's
    answer, or by reading back when the answer was lost. Returns the row as it now is."""
    now = timezone.now()
    if not WeChatWrite.objects.filter(pk=write.pk, state=State.PENDING).update(
        state=State.SENT, sent_at=now, attempts=F("attempts") + 1, lease_until=now + LEASE
    ):
        write.refresh_from_db()  # someone else took it
        return write
    write.refresh_from_db()
    try:
        answer = _call(write, client)
    except RedisError as error:  # the token store's Redis: raised before the call is made
        return _not_sent(write, None, _("Redis could not be reached: %(why)s") % {"why": error})
    except WeChatError as error:
        if not error.request_sent or (error.temporary and not error.may_have_acted):
            return _not_sent(write, error.errcode, words(error))  # never left, or WeChat said "busy"
        if error.may_have_acted:
            logger.warning("audience write %s: answer lost (%s); reading WeChat back", write.pk, error)
            return settle(write, client, words=words, lost=error)
        _finish(write, State.FAILED, errcode=error.errcode, detail=words(error))
        return write
    if write.action == Action.TAG_CREATE:
        write.tag_wechat_id = int(answer["id"])
    _finish(write, State.DONE, applied=list(write.openids))
    return write


def _not_sent(write: WeChatWrite, errcode: int | None, why: str) -> WeChatWrite:
    """The call certainly did not change anything: pending again for the sweeper, or
    failed after MAX_SEND_TRIES."""
    if write.attempts >= MAX_SEND_TRIES:
        _finish(
            write,
            State.FAILED,
            errcode=errcode,
            detail=_("Not sent: WeChat could not be reached after %(n)d tries (%(why)s). Do it again.")
            % {"n": write.attempts, "why": why},
        )
        return write
    WeChatWrite.objects.filter(pk=write.pk, state=State.SENT).update(
        state=State.PENDING,
        errcode=errcode,
        detail=_("Not sent yet (%(why)s); sent again automatically.") % {"why": why},
        lease_until=timezone.now() + RETRY_AFTER,
    )
    write.refresh_from_db()
    return write


# --- reading WeChat back -------------------------------------------------------------------


def _read_back(write: WeChatWrite, client: WeChatClient) -> list[str] | bool:
    """What WeChat has now: the OpenIDs of a batch write for which WeChat shows the change,
    or whether a single write holds. Sets ``tag_wechat_id`` of a tag WeChat created."""
    wanted = set(write.openids)
    if write.action in (Action.TAG, Action.UNTAG):
        holds: list[str] = []
        for start in range(0, len(write.openids), users_api.BATCHGET_MAX):
            for info in users_api.batch_get(client, write.openids[start : start + users_api.BATCHGET_MAX]):
                has = write.tag_wechat_id in (info.get("tagid_list") or [])
                if info.get("openid") in wanted and has == (write.action == Action.TAG):
                    holds.append(info["openid"])
        return holds
    if write.action in (Action.BLACKLIST, Action.UNBLACKLIST):
        listed: set[str] = set()
        begin = ""
        while True:
            page = users_api.blacklist_page(client, begin)
            listed.update(o for o in page["openids"] if o in wanted)
            if not page["openids"] or not page["next_openid"] or listed == wanted:
                break
            begin = page["next_openid"]
        if write.action == Action.BLACKLIST:
            return [o for o in write.openids if o in listed]
        return [o for o in write.openids if o not in listed]
    if write.action == Action.REMARK:
        return str(users_api.get(client, write.openids[0]).get("remark", "")) == write.text
    tags = {int(t["id"]): str(t["name"]) for t in tags_api.list_all(client)}
    if write.action == Action.TAG_CREATE:
        found = [tag_id for tag_id, name in tags.items() if name == write.text]
        if found:
            write.tag_wechat_id = found[0]
        return bool(found)
    if write.action == Action.TAG_RENAME:
        return tags.get(int(write.tag_wechat_id or 0)) == write.text
    return int(write.tag_wechat_id or 0) not in tags  # TAG_DELETE


def settle(
    write: WeChatWrite,
    client: WeChatClient,
    *,
    words: Words = _default_words,
    lost: WeChatError | None = None,
) -> WeChatWrite:
    """A ``sent`` write whose answer is unknown: read WeChat back and record what it has."""
    now = timezone.now()
    try:
        found = _read_back(write, client)
    except WeChatError as error:
        read_backs = write.read_backs + 1
        state = State.UNKNOWN if read_backs >= MAX_READ_BACKS else State.SENT
        WeChatWrite.objects.filter(pk=write.pk, state=State.SENT).update(
            state=state,
            read_backs=read_backs,
            errcode=(lost or error).errcode,
            detail=_(
                "WeChat did not answer, and reading it back failed too (%(why)s): whether it "
                "applied the change is checked again automatically."
            )
            % {"why": words(error)},
            lease_until=now + RETRY_AFTER,
            settled_at=now if state == State.UNKNOWN else None,
        )
        write.refresh_from_db()
        return write
    read_backs = write.read_backs + 1
    applied = found if isinstance(found, list) else (list(write.openids) if found else [])
    complete = found if isinstance(found, bool) else len(found) == len(write.openids)
    if complete:
        _finish(
            write,
            State.DONE,
            applied=applied,
            read_backs=read_backs,
            detail=_("WeChat's answer was lost; read back from WeChat: applied."),
        )
        return write
    young = write.sent_at is not None and now - write.sent_at < CONFIRM_AFTER
    if young:  # WeChat may still apply a late request: look again before saying "not done"
        with transaction.atomic():
            _apply_locally(write, applied)
            WeChatWrite.objects.filter(pk=write.pk, state=State.SENT).update(
                read_backs=read_backs,
                applied=len(applied),
                errcode=lost.errcode if lost else write.errcode,
                detail=_(
                    "WeChat did not answer; it has not applied the change so far. Checked again shortly."
                ),
                lease_until=write.sent_at + CONFIRM_AFTER if write.sent_at else now + RETRY_AFTER,
            )
        write.refresh_from_db()
        return write
    if write.action in BATCH_ACTIONS:
        detail = _(
            "WeChat's answer was lost; read back from WeChat, %(n)d of %(all)d followers have the "
            "change. Do it again for the others."
        ) % {"n": len(applied), "all": len(write.openids)}
    else:
        detail = _(
            "WeChat's answer was lost; read back from WeChat, the change was not applied. Do it again."
        )
    _finish(write, State.FAILED, applied=applied, read_backs=read_backs, detail=detail)
    return write


# --- our own rows --------------------------------------------------------------------------


def _apply_locally(write: WeChatWrite, applied: list[str]) -> None:
    """Make our rows say what WeChat has (idempotent: a second settle changes nothing)."""
    account_id = write.account_id
    tag_id = int(write.tag_wechat_id or 0)
    if write.action in (Action.TAG, Action.UNTAG):
        if not applied:
            return
        ids = list(
            Follower.objects.filter(account_id=account_id, openid__in=applied).values_list("pk", flat=True)
        )
        if write.action == Action.UNTAG:
            FollowerTag.objects.filter(follower_id__in=ids, tag_id=tag_id).delete()
        else:
            FollowerTag.objects.bulk_create(
                [FollowerTag(follower_id=i, account_id=account_id, tag_id=tag_id) for i in ids],
                ignore_conflicts=True,
            )
    elif write.action in (Action.BLACKLIST, Action.UNBLACKLIST):
        if applied:
            Follower.objects.filter(account_id=account_id, openid__in=applied).update(
                blacklisted=write.action == Action.BLACKLIST
            )
    elif write.action == Action.REMARK:
        if applied:
            Follower.objects.filter(account_id=account_id, openid=write.openids[0]).update(
                remark=write.text, updated_at=timezone.now()
            )
    elif write.action == Action.TAG_CREATE:
        Tag.objects.update_or_create(account_id=account_id, wechat_id=tag_id, defaults={"name": write.text})
    elif write.action == Action.TAG_RENAME:
        Tag.objects.filter(account_id=account_id, wechat_id=tag_id).update(name=write.text)
    elif write.action == Action.TAG_DELETE:
        FollowerTag.objects.filter(account_id=account_id, tag_id=tag_id).delete()
        Tag.objects.filter(account_id=account_id, wechat_id=tag_id).delete()


def _finish(
    write: WeChatWrite,
    state: str,
    *,
    applied: list[str] | None = None,
    errcode: int | None = None,
    detail: str = "",
    read_backs: int | None = None,
) -> None:
    """Settle the row and change our own rows in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        if state == State.DONE or applied:
            _apply_locally(write, applied or [])
        fields: dict[str, Any] = {
            "state": state,
            "applied": len(applied or []),
            "detail": detail,
            "settled_at": now,
            "lease_until": None,
            "tag_wechat_id": write.tag_wechat_id,
        }
        if errcode is not None:
            fields["errcode"] = errcode
        if read_backs is not None:
            fields["read_backs"] = read_backs
        WeChatWrite.objects.filter(pk=write.pk).update(**fields)
    write.refresh_from_db()


# --- the sweeper ---------------------------------------------------------------------------


def _superseded(write: WeChatWrite) -> bool:
    """A pending remark or rename with a newer one for the same follower or tag."""
    newer = WeChatWrite.objects.filter(account_id=write.account_id, action=write.action, pk__gt=write.pk)
    if write.action == Action.REMARK:
        return newer.filter(openids=write.openids).exists()
    if write.action == Action.TAG_RENAME:
        return newer.filter(tag_wechat_id=write.tag_wechat_id).exists()
    return False


def _claim(write_id: int, now: datetime.datetime) -> WeChatWrite | None:
    claimed = (
        WeChatWrite.objects.filter(pk=write_id, state__in=[State.PENDING, State.SENT])
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(lease_until=now + LEASE)
    )
    return WeChatWrite.objects.select_related("account").get(pk=write_id) if claimed else None


def sweep(
    *,
    words: Words = _default_words,
    client_for: Callable[[OfficialAccount], WeChatClient] | None = None,
    on_tags_changed: Callable[[set[int]], None] | None = None,
    limit: int = 200,
) -> dict[str, int]:
    """Settle the open writes nobody holds (their writer died, or WeChat/Redis was down):
    send the pending ones, read back the sent ones. Returns counts by outcome;
    ``on_tags_changed`` gets the accounts whose followers' tags changed."""
    if client_for is None:
        from accounts.wechat_api import client_for as project_client_for

        client_for = project_client_for
    now = timezone.now()
    due = list(
        WeChatWrite.objects.filter(state__in=[State.PENDING, State.SENT])
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    counts: dict[str, int] = {"sent": 0, "read_back": 0, "superseded": 0}
    tag_accounts: set[int] = set()
    for write_id in due:
        write = _claim(write_id, now)
        if write is None:
            continue
        if write.state == State.PENDING and _superseded(write):
            _finish(write, State.FAILED, detail=_("Not sent: a newer change of the same replaced it."))
            counts["superseded"] += 1
            continue
        try:
            client = client_for(write.account)
            if write.state == State.PENDING:
                write = run(write, client, words=words)
                counts["sent"] += 1
            else:
                write = settle(write, client, words=words)
                counts["read_back"] += 1
        except Exception:  # one bad row (or a database blip) must not stop the others
            logger.exception("audience write %s: sweep failed; tried again later", write_id)
            continue
        counts[write.state] = counts.get(write.state, 0) + 1
        if write.action in (Action.TAG, Action.UNTAG, Action.TAG_DELETE) and (
            write.applied or write.state == State.DONE
        ):
            tag_accounts.add(write.account_id)
    if tag_accounts and on_tags_changed is not None:
        on_tags_changed(tag_accounts)
    return counts
