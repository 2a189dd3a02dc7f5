"""Reads shared by the callback, the admin, tasks and the dashboard."""

from __future__ import annotations

import datetime
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from redis import RedisError

from accounts.models import OfficialAccount
from accounts.selectors import accounts_visible_to, scope_to_user
from core.dashboard_figures import Figure
from core.timeouts import database_deadline

from . import db_guard
from .models import (
    InboundMessage,
    KeywordRule,
    KfSession,
    KfSessionStatus,
    MessageDailyCount,
    TransferRule,
    WelcomeReply,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger(__name__)

APPID_RE = re.compile(r"^wx[0-9a-f]{16}\Z")

# --- The callback's account lookup -------------------------------------------------------
# The callback is the hot path: loading an account decrypts three Fernet fields and
# costs a query, so each process keeps the loaded account for a short while. Entries
# are keyed by AppID and re-checked against it, dropped when this process saves or
# deletes the account (signals in apps.py), and refreshed after
# WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS so that other processes see changes soon.
# The refresh runs in a background thread while the push is served from the entry
# it replaces: a hung or unreachable database never holds a push up (issue 10).
# Unknown AppIDs are not cached (random AppIDs must not grow the cache).
_account_cache: dict[str, tuple[float, OfficialAccount]] = {}
_account_cache_lock = threading.Lock()
_account_refreshing: set[str] = set()
#: after a failed refresh, the stale entry is used this long before the next attempt
ACCOUNT_RETRY_SECONDS = 5.0


def callback_account(appid: str) -> OfficialAccount | None:
    """The account whose callback URL carries this AppID, or None (→ 404)."""
    if not APPID_RE.match(appid or ""):
        return None
    ttl = settings.WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS
    now = time.monotonic()
    entry = _account_cache.get(appid)
    if entry is not None and entry[1].appid == appid:
        if entry[0] <= now:
            _refresh_account_in_background(appid, entry[1])
        return entry[1]
    db_guard.require_database()
    account = OfficialAccount.objects.filter(appid=appid).first()
    if account is None:
        return None
    if ttl > 0:
        with _account_cache_lock:
            _account_cache[appid] = (now + ttl, account)
    return account


def _refresh_account_in_background(appid: str, stale: OfficialAccount) -> None:
    with _account_cache_lock:
        if appid in _account_refreshing:
            return
        _account_refreshing.add(appid)
        # Until the refresh ends, this push and the next ones use the stale entry.
        _account_cache[appid] = (time.monotonic() + ACCOUNT_RETRY_SECONDS, stale)
    threading.Thread(
        target=_refresh_account, args=(appid,), daemon=True, name=f"account-refresh-{appid}"
    ).start()


def _refresh_account(appid: str) -> None:
    from django.db import connection

    try:
        with database_deadline(settings.WECHAT_CALLBACK_DATABASE_TIMEOUT):
            account = OfficialAccount.objects.filter(appid=appid).first()
    except Exception:
        logger.warning("callback: could not refresh account %s; using the cached copy", appid, exc_info=True)
    else:
        with _account_cache_lock:
            if account is None:
                _account_cache.pop(appid, None)
            else:
                _account_cache[appid] = (
                    time.monotonic() + settings.WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS,
                    account,
                )
    finally:
        connection.close()
        with _account_cache_lock:
            _account_refreshing.discard(appid)


def forget_callback_account(appid: str | None = None) -> None:
    """Drop one cached account (or all of them)."""
    with _account_cache_lock:
        if appid is None:
            _account_cache.clear()
        else:
            _account_cache.pop(appid, None)


# --- Routing reads ----------------------------------------------------------------------
# Reply rules are read on every push, so each process keeps each account's rules in
# memory, tagged with a version token stored in Redis. Saving or deleting a rule
# writes a new random token after the transaction commits (signals in apps.py) and
# drops this process's copy at once; other processes compare the token at most once
# every RULES_RECHECK_SECONDS per account and reload when it changed. So an edit
# reaches every process within about a second, and a push normally costs no query
# and no Redis round trip for its rules.
RULES_RECHECK_SECONDS = 1.0


def rules_version_key(account_id: int) -> str:
    return f"wxadmin:messaging:rules-version:{account_id}"


@dataclass
class RuleSet:
    version: bytes | None
    checked_at: float
    keyword_rules: tuple[KeywordRule, ...]
    transfer_rules: tuple[TransferRule, ...]
    welcome: WelcomeReply | None


_rules_cache: dict[int, RuleSet] = {}


def load_rules(*, account: OfficialAccount, version: bytes | None = None) -> RuleSet:
    return RuleSet(
        version=version,
        checked_at=time.monotonic(),
        keyword_rules=tuple(active_keyword_rules(account=account)),
        transfer_rules=tuple(active_transfer_rules(account=account)),
        welcome=welcome_reply_for(account=account),
    )


def rules_for(*, account: OfficialAccount, redis_client) -> RuleSet:
    """The account's active rules, from this process's cache while still current."""
    now = time.monotonic()
    cached = _rules_cache.get(account.pk)
    if cached is not None and now - cached.checked_at < RULES_RECHECK_SECONDS:
        return cached
    version = None  # Redis is down: re-read the rules from the database once a second
    if redis_client is not None:
        try:
            version = redis_client.get(rules_version_key(account.pk))
        except RedisError:
            pass
    if cached is not None and version is not None and cached.version == version:
        cached.checked_at = now
        return cached
    try:
        db_guard.require_database()
        rules = load_rules(account=account, version=version)
    except DatabaseError as exc:
        # The database is failing: the rules we have serve (a push of an account whose
        # rules this process never loaded cannot be answered right, and is refused).
        db_guard.database_failed(exc)
        if cached is None:
            raise
        cached.checked_at = now
        return cached
    if len(_rules_cache) > 5000:
        _rules_cache.clear()
    _rules_cache[account.pk] = rules
    return rules


def forget_rules(account_id: int | None = None) -> None:
    if account_id is None:
        _rules_cache.clear()
    else:
        _rules_cache.pop(account_id, None)


def active_keyword_rules(*, account: OfficialAccount) -> QuerySet[KeywordRule]:
    return KeywordRule.objects.filter(account_id=account.pk, is_active=True).order_by("-priority", "id")


def active_transfer_rules(*, account: OfficialAccount) -> QuerySet[TransferRule]:
    return (
        TransferRule.objects.filter(account_id=account.pk, is_active=True)
        .select_related("kf_account")
        .order_by("-priority", "id")
    )


def welcome_reply_for(*, account: OfficialAccount) -> WelcomeReply | None:
    return WelcomeReply.objects.filter(account_id=account.pk, is_active=True).first()


# --- Admin and dashboard reads -------------------------------------------------------------
def messages_visible_to(user) -> QuerySet[InboundMessage]:
    """The log rows of the accounts the user may see (`account_id IN (…)`, no DISTINCT)."""
    return scope_to_user(InboundMessage.objects.all(), user, "account")


def message_log_accounts(user) -> list[tuple[int, str]]:
    """The message log's account filter choices: the accounts the user may see.

    Read from the accounts, never from the messages (a DISTINCT over the log costs a scan).
    """
    return [
        (pk, name) for pk, name in accounts_visible_to(user).order_by("name", "pk").values_list("pk", "name")
    ]


def conversation(*, account: OfficialAccount, openid: str, limit: int = 200):
    """The last `limit` messages of one user with one account, oldest first."""
    rows = list(
        InboundMessage.objects.filter(account=account, openid=openid).order_by("-received_at", "-id")[:limit]
    )
    rows.reverse()
    return rows


def _received_today() -> Q:
    today = timezone.localdate()
    midnight = datetime.datetime.combine(today, datetime.time(), tzinfo=timezone.get_current_timezone())
    return Q(received_at__gte=midnight)


#: The dashboard's "received today": the message log's ``?figure=`` filter draws the day's line
#: where the daily rollup does (local midnight), so the figure and its list agree (issue 29 §4).
RECEIVED_TODAY = Figure("received_today", _("Received today"), _received_today)


def message_counts_per_day(
    *,
    user: User | AnonymousUser,
    days: int = 14,
    today: datetime.date | None = None,
    account: OfficialAccount | None = None,
) -> list[tuple[datetime.date, int]]:
    """Inbound messages per local day for the accounts the user may see (or only `account`),
    zeros included. The dashboard and the account hub read their "today" here.

    Read from the daily rollup (`MessageDailyCount`, kept up to date by a periodic task),
    never from the log itself: a few rows per account and day instead of every message.
    """
    today = today or timezone.localdate()
    start = today - datetime.timedelta(days=days - 1)
    rows = scope_to_user(MessageDailyCount.objects.filter(day__gte=start, day__lte=today), user, "account")
    if account is not None:
        rows = rows.filter(account=account)
    counts = dict(rows.order_by().values_list("day").annotate(n=Sum("count")).values_list("day", "n"))
    return [
        (start + datetime.timedelta(days=i), counts.get(start + datetime.timedelta(days=i), 0))
        for i in range(days)
    ]


def open_kf_sessions(*, account: OfficialAccount) -> QuerySet[KfSession]:
    return KfSession.objects.filter(account=account, status=KfSessionStatus.OPEN)
