"""Writes of the accounts app: access-token refresh and the status row it keeps (R-MENU-04).

The Redis token store (wechat.tokens) is the truth about tokens; the database
keeps, per account, what the admin shows — fetched at, expires at, fetches
today, the last error — and never the token.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from core.typing import Actor
from wechat.errors import WeChatError
from wechat.tokens import TokenInfo

from .models import STABLE_RENEW_SECONDS, AccountTokenStatus, OfficialAccount, TokenSource
from .selectors import accounts_needing_token_refresh
from .token_status import token_status_record
from .wechat_api import token_store

logger = logging.getLogger(__name__)


def refresh_window_seconds(account: OfficialAccount) -> int:
    """How long before expiry the scheduled refresh renews this account's token.

    Classic tokens: TOKEN_REFRESH_WINDOW_SECONDS. Stable tokens: at most 300 s,
    because stable_token keeps returning the same token until its last 5 minutes.
    """
    window: int = settings.TOKEN_REFRESH_WINDOW_SECONDS
    if account.token_source == TokenSource.STABLE:
        return min(window, STABLE_RENEW_SECONDS)
    return window


def account_token_refresh(
    *, account: OfficialAccount, force: bool = False, by: Actor = None
) -> AccountTokenStatus:
    """R-MENU-04: refresh one account's token through the single-flight store.

    Idempotent: without ``force`` nothing is fetched while the cached token has
    more than the refresh window left. ``force`` ("refresh token now") fetches
    a new one unless another process just did. The outcome — or the WeChat
    error (40164 whitelist, 40125 wrong secret, 45009 quota...) — is recorded
    on the account's status row; errors are re-raised for the caller.
    """
    store = token_store()
    try:
        store.refresh(
            account.appid,
            account.appsecret,
            source=account.token_source,
            force=force,
            min_ttl_seconds=refresh_window_seconds(account),
        )
    except WeChatError as error:
        info = store.status(account.appid, source=account.token_source)
        if info is None or info.last_errcode != error.errcode:
            # e.g. waiting for another process's lock timed out: not recorded by the store
            info = TokenInfo(
                appid=account.appid,
                source=account.token_source,
                last_errcode=error.errcode,
                last_error=error.errmsg,
                last_error_at=timezone.now().timestamp(),
                fetches_today=info.fetches_today if info else 0,
                day=info.day if info else "",
                fetched_at=info.fetched_at if info else None,
                expires_at=info.expires_at if info else None,
            )
        token_status_record(info=info)
        _mark_manual(account, by)
        raise
    info = store.status(account.appid, source=account.token_source)
    status = token_status_record(info=info) if info else None
    _mark_manual(account, by)
    if status is None:
        status, _ = AccountTokenStatus.objects.get_or_create(account=account)
    status.refresh_from_db()
    return status


def _mark_manual(account: OfficialAccount, by: Actor) -> None:
    if by is not None:
        AccountTokenStatus.objects.filter(account=account).update(
            last_manual_refresh_by=by, last_manual_refresh_at=timezone.now()
        )


def token_refresh_plan(*, now: datetime.datetime | None = None) -> list[tuple[int, float]]:
    """(account id, countdown seconds) for every account due a scheduled refresh.

    The countdowns spread the refreshes evenly over TOKEN_REFRESH_SPREAD_SECONDS
    so that a hundred accounts do not hit WeChat in the same second.
    """
    ids = list(accounts_needing_token_refresh(now=now).values_list("pk", flat=True))
    spread: float = settings.TOKEN_REFRESH_SPREAD_SECONDS
    return [(pk, spread * index / len(ids)) for index, pk in enumerate(ids)]


def url_verification_record(account: OfficialAccount) -> None:
    """WeChat's URL check reached us with a good signature: remember when (issue 29 §7).

    The check is rare (staff press "submit" in the MP console), so one UPDATE is fine on the
    callback's GET; a database that does not answer must not fail the check itself.
    """
    try:
        OfficialAccount.objects.filter(pk=account.pk).update(callback_verified_at=timezone.now())
    except DatabaseError:
        logger.warning("callback %s: URL check answered, but its time could not be recorded", account.appid)
