"""What every certification write shares: the clock, the lock, the status guard
(read from `certification.transitions`), the move and its `OrderEvent`."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from certification.models import Order, OrderEvent
from certification.transitions import TRANSITIONS, WITH_REVIEWER
from core.typing import Actor

from .errors import CertificationError


def _now(now: datetime.datetime | None) -> datetime.datetime:
    return now or timezone.now()


def _today(now: datetime.datetime) -> datetime.date:
    return timezone.localdate(now)


def _record(
    order: Order,
    *,
    action: str,
    by: Actor,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    at: datetime.datetime | None = None,
) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order,
        action=action,
        from_status=from_status,
        to_status=to_status,
        by=by if by is not None and by.is_authenticated else None,
        at=at or timezone.now(),
        note=note,
    )


def _lock(order: Order) -> Order:
    return Order.objects.select_for_update().select_related("account", "account__entity").get(pk=order.pk)


def _require_status(order: Order, allowed: Iterable[str], action_label: str | Promise) -> None:
    if order.status not in allowed:
        raise CertificationError(
            _("Order #%(id)s is “%(status)s”; it cannot be %(action)s now.")
            % {"id": order.pk, "status": order.get_status_display(), "action": action_label},
            code="wrong_status",
        )


def _require_transition(order: Order, name: str) -> None:
    """The status guard of every transition: the statuses its row in the one table
    (`certification.transitions`) allows it from, and the refusal that row words."""
    # Imported here: the table names these very service functions.
    transition = TRANSITIONS[name]
    _require_status(order, transition.sources, transition.refused_as)


def _move(
    order: Order,
    *,
    to: str,
    action: str,
    by: Actor,
    note: str = "",
    now: datetime.datetime | None = None,
    update_fields: Iterable[str] = (),
) -> Order:
    from_status = order.status
    order.status = to
    order.save(update_fields=["status", "updated_at", *update_fields])
    _record(order, action=action, by=by, from_status=from_status, to_status=to, note=note, at=now)
    return order


def _check_none_with_reviewer(
    orders: Iterable[Order], *, field: str | None = None, exclude: int | None = None
) -> None:
    """R-POST-01 / R-POST-03: a modification may be prepared while an annual review is
    being prepared (and the other way round) — the chapter lets data be modified while
    the certification is valid — but only one application at a time is with Tencent's
    reviewer, so neither is opened or submitted while the other is in review."""
    for other in orders:
        if other.pk != exclude and other.status in WITH_REVIEWER:
            message = _("Order #%(id)s (%(kind)s) is with the reviewer: wait until it is finished.") % {
                "id": other.pk,
                "kind": other.get_kind_display(),
            }
            raise CertificationError({field: message} if field else message, code="other_order_in_review")
