"""WeChat's own certification events (docs/wechat-protocol.md §f) applied to orders and accounts.

WeChat pushes `qualification_verify_success/fail`, `naming_verify_success/fail`,
`annual_renew` and `verify_expired` to the account's callback. The messaging router
hands them to `handle_push` (registered in `CertificationConfig.ready()`), which
records the push once per (account, event, CreateTime) — WeChat's retries and a
second process handling the same push change nothing — and then:

- success: the order with the reviewer succeeds, certified until WeChat's
  `ExpiredTime`; our own date (R-POST-02) is computed too and a disagreement flagged;
- failure: the order fails with the one of the six reasons (R-CERT-12) that WeChat's
  `FailReason` names; a reason we cannot map is recorded and left for staff to decide;
- `annual_renew`: opens the pre-filled annual review (R-POST-03), or notes it on the
  one already open;
- `verify_expired`: the certification lapses (R-POST-04, R-KF-01).

Each is written on the order as done by WeChat (an `OrderEvent` with no user and a
`wechat_…` action) and told to the account's staff as a notification.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import OfficialAccount

from . import deadlines
from .models import (
    FailureReason,
    Notification,
    Order,
    OrderEvent,
    OrderKind,
    OrderStatus,
    WeChatEvent,
    WeChatEventType,
)
from .services.account_certification import accounts_decertify, certifying_order
from .services.creation import order_create
from .services.errors import CertificationError
from .services.review import order_fail, order_succeed
from .transitions import WITH_REVIEWER

SUCCESS_EVENTS = (WeChatEventType.QUALIFICATION_SUCCESS, WeChatEventType.NAMING_SUCCESS)
FAIL_EVENTS = (WeChatEventType.QUALIFICATION_FAIL, WeChatEventType.NAMING_FAIL)

# WeChat's FailReason is free text; these words name the R-CERT-12 reason it gives.
# The order matters: "三次" wins over the words a repeated failure also contains.
REASON_WORDS = (
    (("三次", "3次", "多次"), FailureReason.RESUBMITTED_THREE_TIMES),
    (("超时", "逾期"), FailureReason.TIMEOUT),
    (("商标",), FailureReason.TRADEMARK_NOT_AUTHORISED),
    (("身份证", "证件"), FailureReason.OPERATOR_ID_WRONG),
    (("运营者", "授权"), FailureReason.OPERATOR_NOT_AUTHORISED),
    (("注册", "主体"), FailureReason.NOT_REGISTERED),
)


@dataclass(frozen=True)
class Push:
    """The fields of one certification push that matter here."""

    event: str
    create_time: int
    expires_on: datetime.date | None = None
    fail_reason: str = ""

    @classmethod
    def from_message(cls, message) -> Push:
        raw = message.raw
        return cls(
            event=message.event,
            create_time=message.create_time,
            expires_on=_date_of(raw.get("ExpiredTime")),
            fail_reason=str(raw.get("FailReason") or "").strip()[:500],
        )

    @property
    def sent_on(self) -> datetime.date:
        return _date_of(self.create_time) or timezone.localdate()


def _date_of(timestamp) -> datetime.date | None:
    """A Unix timestamp as a date in Asia/Shanghai; None when absent or not a number."""
    try:
        moment = datetime.datetime.fromtimestamp(int(str(timestamp).strip()), tz=datetime.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return deadlines.local_date(moment)


def failure_reason_for(text: str) -> str | None:
    """R-CERT-12: which of the six failure reasons WeChat's FailReason names, if any."""
    for words, reason in REASON_WORDS:
        if any(word in text for word in words):
            return reason
    return None


def handle_push(*, account: OfficialAccount, message, now: datetime.datetime) -> None:
    """The messaging router's hook for the six certification events (see module docstring)."""
    wechat_event_apply(account=account, push=Push.from_message(message), now=now)


def wechat_event_apply(
    *, account: OfficialAccount, push: Push, now: datetime.datetime | None = None
) -> WeChatEvent:
    """Apply one certification push exactly once; a repeat returns the first record."""
    now = now or timezone.now()
    with transaction.atomic():
        # The account lock serialises two deliveries of one push (WeChat's retry racing
        # the first); the unique constraint on the record is the backstop.
        account = OfficialAccount.objects.select_for_update().get(pk=account.pk)
        existing = WeChatEvent.objects.filter(
            account=account, event=push.event, create_time=push.create_time
        ).first()
        if existing is not None:
            return existing
        record = WeChatEvent(
            account=account,
            event=push.event,
            create_time=push.create_time,
            received_at=now,
            expires_on=push.expires_on,
            fail_reason=push.fail_reason,
        )
        with override(settings.LANGUAGE_CODE):
            APPLY[push.event](account, record, push, now)
            record.save()
            _notify(record, now)
    return record


# --- one function per kind of event ---------------------------------------------------------
def _open_order(account: OfficialAccount, kind: str | None = None) -> Order | None:
    """The open order WeChat's result is about: the one with the reviewer first (an
    account has at most one there), else the most recent open one."""
    orders = Order.objects.filter(account=account).open()
    if kind is not None:
        orders = orders.filter(kind=kind)
    return orders.filter(status__in=WITH_REVIEWER).first() or orders.order_by("-created_at", "-id").first()


def _note_on(order: Order, record: WeChatEvent, note: str, now: datetime.datetime) -> None:
    OrderEvent.objects.create(
        order=order,
        action=f"wechat_{record.event}",
        from_status=order.status,
        to_status=order.status,
        at=now,
        note=note,
    )


def _check_date(record: WeChatEvent, ours: datetime.date | None) -> str:
    """Compare WeChat's ExpiredTime with our own date; flag and explain a difference."""
    record.our_date = ours
    if record.expires_on and ours and record.expires_on != ours:
        record.date_mismatch = True
        return _("WeChat's expiry date %(theirs)s differs from ours (%(ours)s): check it with WeChat.") % {
            "theirs": record.expires_on,
            "ours": ours,
        }
    return ""


def _apply_success(account, record: WeChatEvent, push: Push, now) -> None:
    """Success: the order in review succeeds; WeChat's date checked against ours (R-POST-02)."""
    order = _open_order(account)
    if order is not None and order.status == OrderStatus.IN_REVIEW:
        renews = order.kind in (OrderKind.INITIAL, OrderKind.ANNUAL_REVIEW)
        ours = deadlines.certification_valid_until(push.sent_on) if renews else account.certified_until
        warning = _check_date(record, ours)
        order_succeed(
            order=order,
            by=None,
            now=now,
            action=f"wechat_{record.event}",
            valid_until=(record.expires_on or ours) if renews else None,
            note=_("Pushed by WeChat.") + (" " + warning if warning else ""),
        )
        record.order = order
        record.outcome = " ".join(
            filter(None, [_("Order #%(id)s recorded as succeeded.") % {"id": order.pk}, warning])
        )
        return
    if order is not None:
        record.order, record.needs_attention = order, True
        record.outcome = _(
            "Order #%(id)s is “%(status)s”, not in review: its status was not changed. Check it."
        ) % {"id": order.pk, "status": order.get_status_display()}
        _note_on(order, record, record.outcome, now)
        return
    certifying = certifying_order(account)
    warning = _check_date(record, account.certified_until)
    if certifying is not None:
        record.order = certifying
        record.needs_attention = record.date_mismatch
        record.outcome = " ".join(
            filter(
                None,
                [_("Recorded on order #%(id)s, which already succeeded.") % {"id": certifying.pk}, warning],
            )
        )
        _note_on(certifying, record, record.outcome, now)
        return
    record.needs_attention = True
    record.outcome = _(
        "No order of this account is waiting for this result: nothing was "
        "changed. Check the account's certification."
    )


def _apply_fail(account, record: WeChatEvent, push: Push, now) -> None:
    """Failure: the order fails with the R-CERT-12 reason WeChat names, else staff decide."""
    order = _open_order(account)
    said = (
        _("Reason given by WeChat: %(reason)s") % {"reason": push.fail_reason}
        if push.fail_reason
        else _("WeChat gave no reason.")
    )
    if order is not None and order.status in (OrderStatus.IN_REVIEW, OrderStatus.REJECTED):
        record.order = order
        reason = failure_reason_for(push.fail_reason)
        if reason is None:
            record.needs_attention = True
            record.outcome = " ".join(
                [
                    said,
                    _(
                        "It is not one of the six failure reasons: order #%(id)s was left as it is; "
                        "record the failure with the right reason."
                    )
                    % {"id": order.pk},
                ]
            )
            _note_on(order, record, record.outcome, now)
            return
        order_fail(
            order=order,
            by=None,
            reason=reason,
            now=now,
            note=_("Pushed by WeChat.") + " " + said,
            action=f"wechat_{record.event}",
        )
        record.outcome = " ".join(
            [
                _("Order #%(id)s recorded as failed: %(reason)s.")
                % {"id": order.pk, "reason": FailureReason(reason).label},
                said,
            ]
        )
        return
    certifying = certifying_order(account) if order is None else order
    record.needs_attention = True
    if (
        record.event == WeChatEventType.NAMING_FAIL
        and certifying is not None
        and certifying.status == OrderStatus.SUCCEEDED
    ):
        record.outcome = " ".join(
            [said, _("The name certification failed: the badge does not show, the API permissions stay.")]
        )
    else:
        record.outcome = " ".join([said, _("No order of this account is in review: nothing was changed.")])
    if certifying is not None:
        record.order = certifying
        _note_on(certifying, record, record.outcome, now)


def _apply_annual_renew(account, record: WeChatEvent, push: Push, now) -> None:
    """annual_renew: open the pre-filled annual review (R-POST-03) unless one is open."""
    warning = _check_date(record, account.certified_until)
    order = _open_order(account, kind=OrderKind.ANNUAL_REVIEW)
    if order is None and account.certified_until is not None:
        try:
            # WeChat itself says it is time: no "started early" confirmation (R-POST-02).
            order = order_create(
                account=account, kind=OrderKind.ANNUAL_REVIEW, by=None, now=now, early_ok=True
            )
        except CertificationError as exc:
            record.needs_attention = True
            record.outcome = " ".join([*exc.messages, warning]).strip()
            return
        record.order = order
        record.outcome = " ".join(
            filter(
                None,
                [
                    _(
                        "Annual review order #%(id)s opened, pre-filled; nothing is paid until staff "
                        "record the payment."
                    )
                    % {"id": order.pk},
                    warning,
                ],
            )
        )
        _note_on(order, record, record.outcome, now)
        return
    record.needs_attention = True
    if order is not None:
        record.order = order
        record.needs_attention = record.date_mismatch
        text = _("The annual review is already open: order #%(id)s.") % {"id": order.pk}
        record.outcome = " ".join(filter(None, [text, warning]))
        _note_on(order, record, record.outcome, now)
        return
    record.outcome = _(
        "This account has no certification on record: no annual review was "
        "opened. Check the account's certification."
    )


def _apply_expired(account, record: WeChatEvent, push: Push, now) -> None:
    """verify_expired: the certification lapses (R-POST-04, R-KF-01)."""
    from .reminders import lapse_consequences

    warning = _check_date(record, account.certified_until)
    certifying = certifying_order(account)
    was_certified = account.certified_until is not None
    accounts_decertify(account_ids=[account.pk], now=now)
    record.needs_attention = record.date_mismatch
    consequences = lapse_consequences()
    first = (
        _("The certification expired.") if was_certified else _("The certification had already lapsed here.")
    )
    record.outcome = " ".join(filter(None, [first, consequences, warning]))
    if certifying is not None:
        record.order = certifying
        _note_on(certifying, record, record.outcome, now)


APPLY: dict[str, Callable[[OfficialAccount, WeChatEvent, Push, datetime.datetime], None]] = {
    WeChatEventType.QUALIFICATION_SUCCESS: _apply_success,
    WeChatEventType.NAMING_SUCCESS: _apply_success,
    WeChatEventType.QUALIFICATION_FAIL: _apply_fail,
    WeChatEventType.NAMING_FAIL: _apply_fail,
    WeChatEventType.ANNUAL_RENEW: _apply_annual_renew,
    WeChatEventType.VERIFY_EXPIRED: _apply_expired,
}


def _notify(record: WeChatEvent, now: datetime.datetime) -> int:
    """One in-admin notification per recipient (assigned staff, else the Administrators)."""
    from .reminders import recipients_for

    account = record.account
    title = _("%(event)s: %(name)s") % {"event": record.get_event_display(), "name": account.name}
    if record.needs_attention:
        title = _("Check: %(title)s") % {"title": title}
    notes = [
        Notification(
            user=user,
            order=record.order,
            milestone=record.event,
            title=title[:200],
            body=record.outcome,
            due_on=record.expires_on or deadlines.local_date(now),
            created_at=now,
        )
        for user in recipients_for({account.pk}).get(account.pk, [])
    ]
    Notification.objects.bulk_create(notes, ignore_conflicts=True)
    return len(notes)
