"""The token store's view of each account's access token, written into `AccountTokenStatus`.

A leaf of the accounts app: the token store built in `wechat_api` reports every fetch here, and
the services read the same rows, so neither of those two modules needs to import the other.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from wechat.tokens import TokenInfo

from .models import AccountTokenStatus, OfficialAccount


def _aware(timestamp: float | None) -> datetime.datetime | None:
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)


def token_status_record(*, info: TokenInfo) -> AccountTokenStatus | None:
    """Write the store's view of one account's token into its status row (one transaction).

    Called by the token store after every fetch attempt, whoever triggered it
    (a task, an admin action, or a client that found the cache near expiry).
    """
    account = OfficialAccount.objects.filter(appid=info.appid).only("pk").first()
    if account is None:
        return None
    with transaction.atomic():
        status, _created = AccountTokenStatus.objects.select_for_update().get_or_create(
            account=account, defaults={"source": info.source}
        )
        status.source = info.source
        status.fetched_at = _aware(info.fetched_at)
        status.expires_at = _aware(info.expires_at)
        status.fetches_today = info.fetches_today
        status.fetches_day = datetime.date.fromisoformat(info.day) if info.day else None
        status.last_errcode = info.last_errcode
        status.last_errmsg = (info.last_error or "")[:500]
        if info.ends_early_at and info.last_error:
            # issue 23, point 7: said on the token status page next to the error, stored
            # in the site's language (the fetch may run in a worker, or in any request)
            with translation.override(settings.LANGUAGE_CODE):
                note = _(
                    "WeChat did not answer a token fetch and may have issued a token we never "
                    "received: the current token is treated as ending at the expiry shown, and "
                    "is refreshed again before then."
                )
            status.last_errmsg = f"{info.last_error} — {note}"[:500]
        status.last_error_at = _aware(info.last_error_at)
        status.save()
    return status
