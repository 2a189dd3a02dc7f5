"""Customer-service sessions (R-KF-03): who serves whom, kept current by kf_*_session events."""

from __future__ import annotations

import datetime

from accounts.models import OfficialAccount
from messaging.models import KfSession, KfSessionStatus, KfWaitCase
from wechat.messages import KfSessionEvent


def kf_session_apply_event(
    *, account: OfficialAccount, event: KfSessionEvent, at: datetime.datetime
) -> KfSession | None:
    """R-KF-03: keep "who serves whom" current from kf_create/close/switch_session events.

    Create opens a session (closing a stale open one of the same user first);
    close closes it; switch moves it to ToKfAccount and remembers FromKfAccount.
    """
    openid = event.from_user
    current = (
        KfSession.objects.select_for_update()
        .filter(account=account, openid=openid, status=KfSessionStatus.OPEN)
        .first()
    )
    if event.event == "kf_create_session":
        if current is not None:
            if current.kf_account == event.kf_account:
                return current
            current.status, current.closed_at = KfSessionStatus.CLOSED, at
            current.save(update_fields=["status", "closed_at"])
        KfWaitCase.objects.filter(account=account, openid=openid).delete()
        return KfSession.objects.create(
            account=account, openid=openid, kf_account=event.kf_account, opened_at=at
        )
    if event.event == "kf_close_session":
        if current is not None:
            current.status, current.closed_at = KfSessionStatus.CLOSED, at
            current.save(update_fields=["status", "closed_at"])
        return current
    if event.event == "kf_switch_session":
        if current is None:
            return KfSession.objects.create(
                account=account,
                openid=openid,
                kf_account=event.to_kf_account,
                opened_at=at,
                switched_from=event.from_kf_account,
            )
        current.kf_account = event.to_kf_account
        current.switched_from = event.from_kf_account
        current.save(update_fields=["kf_account", "switched_from"])
        return current
    return None
