"""The sync of WeChat's statistics into ``DailyFigure`` (issue 28): the daily run, backfills of
a chosen range, retries of missing days.

Rules (facts in ``wechat/api/datacube.py``, protocol §h "Statistics"):

- **Only days WeChat has finished**: a day is asked for once it is at most
  ``datacube.available_until(now)`` (yesterday after 08:00 Beijing time).
- **Windows of the documented span**: consecutive days of one area are fetched together, at
  most the API's span (7 for users and messages, 15 for the messages' distribution, 30 for
  callbacks, 1 for articles and per article). An area is planned only from the first day its
  API keeps (2025-11-01 for the per-article ones, ``datacube.first_day``): older days are
  neither asked for nor shown missing.
- **Nothing counted twice**: a window's figures replace that window's WeChat figures of the area
  (delete + insert of those days, in the transaction that marks the days ``ok``), so fetching a
  day again — a resumed backfill, a retry, two overlapping runs — leaves one row per
  (account, metric, dimension, day). Our own figures (``source="own"``) are never touched.
- **An error is never a zero**: a day WeChat answered with an error is marked ``missing`` with
  its code and words; when a window of several days fails, its days are asked one by one so
  only the faulty day stays missing. Missing days are retried by later runs (at most once per
  ``INSIGHTS_MISSING_RETRY_HOURS``, up to ``INSIGHTS_MISSING_MAX_ATTEMPTS`` attempts, then only
  on request). Three failures in a row stop the run (WeChat is down: no point burning quota).
- **Within the daily quota**: each call takes one unit of the account's budget for the Beijing
  day (``INSIGHTS_DATACUBE_DAILY_CALLS``, a Redis counter); at the budget — or when WeChat
  answers 45009 — the run stops and backfills wait for the next day (``resume_backfills`` at
  00:15 and the daily run at 08:30 pick them up).
- **One sync at a time per account**: a Redis lease (``SET NX`` with an owner, renewed before
  each call and released only by its owner, ``INSIGHTS_SYNC_LOCK_SECONDS``); a run killed
  mid-way leaves its lease to expire and its committed windows in place, so the next run
  resumes with the days still pending.
- **Certified accounts only**: statistics are an advanced interface (R-POST-05).
"""

from __future__ import annotations

import datetime
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OfficialAccount
from core.domain_errors import DomainError
from core.redis_clients import Purpose
from core.redis_clients import client as redis_client
from wechat.api import datacube
from wechat.client import JSONObject, WeChatClient
from wechat.errors import DAILY_QUOTA, WeChatError, clean_errmsg

from .models import Area, Backfill, DailyFigure, SyncDay

logger = logging.getLogger(__name__)

#: A backfill covers at most this many days (a year, leap years included).
BACKFILL_MAX_DAYS = 366
#: Consecutive failed calls after which a run stops.
FAILURES_TO_STOP = 3
#: Days the daily run plans back when earlier runs were missed (beat down, a holiday deploy).
CATCH_UP_DAYS = 30

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class InsightsSyncError(DomainError):
    """A backfill or retry refused, in words."""


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# --- what each area writes -------------------------------------------------------------------

Figure = tuple[str, str, int]  # (metric, dimension, value)

#: metric -> what it counts (labels for the charts; dimensions below).
METRICS: dict[str, Any] = {
    "user.new": gettext_lazy("new followers"),
    "user.cancel": gettext_lazy("unfollows"),
    "user.net": gettext_lazy("net follower growth"),
    "user.cumulate": gettext_lazy("total followers"),
    "msg.upstream.count": gettext_lazy("messages from users"),
    "msg.upstream.users": gettext_lazy("users who sent messages"),
    "api.callback.count": gettext_lazy("callbacks WeChat sent us"),
    "api.callback.fail": gettext_lazy("callbacks that failed"),
    "api.callback.time_total_ms": gettext_lazy("callback time, total (ms)"),
    "api.callback.time_max_ms": gettext_lazy("callback time, longest (ms)"),
    "article.read_user": gettext_lazy("article readers"),
    "article.share_user": gettext_lazy("article sharers"),
    "article.zaikan_user": gettext_lazy("article 'wow' (在看)"),
    "article.like_user": gettext_lazy("article likes"),
    "article.comment_count": gettext_lazy("article comments"),
    "msg.upstream.dist": gettext_lazy("users by messages sent in a day"),
    "article.item.read_user": gettext_lazy("readers per article"),
    "article.item.share_user": gettext_lazy("sharers per article"),
}

#: dimension values of ``user.new`` / ``user.cancel`` (WeChat's user_source)
USER_SOURCES: dict[str, Any] = {
    "0": gettext_lazy("other"),
    "1": gettext_lazy("account search"),
    "17": gettext_lazy("business card shared"),
    "30": gettext_lazy("QR code scanned"),
    "43": gettext_lazy("article page menu"),
    "51": gettext_lazy("after payment"),
    "57": gettext_lazy("account name in an article"),
    "75": gettext_lazy("article advert"),
    "78": gettext_lazy("Moments advert"),
}
#: dimension values of ``msg.upstream.*`` (WeChat's msg_type)
MSG_TYPES: dict[str, Any] = {
    "1": gettext_lazy("text"),
    "2": gettext_lazy("image"),
    "3": gettext_lazy("voice"),
    "4": gettext_lazy("video"),
    "6": gettext_lazy("third-party app message"),
}
#: dimension values of ``article.read_user`` (WeChat's user_source for reads)
READ_SOURCES: dict[str, Any] = {
    "0": gettext_lazy("chat"),
    "1": gettext_lazy("friends"),
    "2": gettext_lazy("Moments"),
    "4": gettext_lazy("account history"),
    "5": gettext_lazy("other"),
    "6": gettext_lazy("Top Stories"),
    "7": gettext_lazy("WeChat Search"),
}


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return 0


def _user_summary(rows: list[JSONObject]) -> list[Figure]:
    new = sum(_int(r.get("new_user")) for r in rows)
    cancel = sum(_int(r.get("cancel_user")) for r in rows)
    figures: list[Figure] = [
        ("user.new", "", new),
        ("user.cancel", "", cancel),
        ("user.net", "", new - cancel),
    ]
    for row in rows:
        source = str(_int(row.get("user_source")))
        figures += [
            ("user.new", source, _int(row.get("new_user"))),
            ("user.cancel", source, _int(row.get("cancel_user"))),
        ]
    return figures


def _user_cumulate(rows: list[JSONObject]) -> list[Figure]:
    # a day without a row (an account younger than the day) has no total: none is invented
    return [("user.cumulate", "", _int(r.get("cumulate_user"))) for r in rows[-1:]]


def _upstream(rows: list[JSONObject]) -> list[Figure]:
    figures: list[Figure] = [("msg.upstream.count", "", sum(_int(r.get("msg_count")) for r in rows))]
    for row in rows:
        kind = str(_int(row.get("msg_type")))
        # users of different message types overlap: no total is made of them
        figures += [
            ("msg.upstream.count", kind, _int(row.get("msg_count"))),
            ("msg.upstream.users", kind, _int(row.get("msg_user"))),
        ]
    return figures


def _interface(rows: list[JSONObject]) -> list[Figure]:
    figures: list[Figure] = [
        ("api.callback.count", "", sum(_int(r.get("callback_count")) for r in rows)),
        ("api.callback.fail", "", sum(_int(r.get("fail_count")) for r in rows)),
    ]
    if rows:
        figures += [
            ("api.callback.time_total_ms", "", sum(_int(r.get("total_time_cost")) for r in rows)),
            ("api.callback.time_max_ms", "", max(_int(r.get("max_time_cost")) for r in rows)),
        ]
    return figures


def _articles(rows: list[JSONObject]) -> list[Figure]:
    detail: dict[str, Any] = {}
    for row in rows[-1:]:
        detail = row.get("detail") or {}
    figures: list[Figure] = [
        ("article.read_user", "", _int(detail.get("read_user"))),
        ("article.share_user", "", _int(detail.get("share_user"))),
        ("article.zaikan_user", "", _int(detail.get("zaikan_user"))),
        ("article.like_user", "", _int(detail.get("like_user"))),
        ("article.comment_count", "", _int(detail.get("comment_count"))),
    ]
    for source in detail.get("read_user_source") or []:
        code = _int(source.get("user_source"))
        if code != 99999999:  # "all sources" is the total above
            figures.append(("article.read_user", str(code), _int(source.get("read_user"))))
    return figures


def _upstream_dist(rows: list[JSONObject]) -> list[Figure]:
    """Users per ``count_interval`` (the dimension); no total: WeChat gives none for the day."""
    return [("msg.upstream.dist", str(_int(r.get("count_interval"))), _int(r.get("msg_user"))) for r in rows]


def _per_article(metric: str, field_name: str) -> Callable[[list[JSONObject]], list[Figure]]:
    """One figure per article (``msgid`` as the dimension); the day's totals are getbizsummary's."""

    def parse(rows: list[JSONObject]) -> list[Figure]:
        values: dict[str, int] = {}
        for row in rows:
            msgid = str(row.get("msgid") or "")[:128]
            if msgid:
                values[msgid] = values.get(msgid, 0) + _int((row.get("detail") or {}).get(field_name))
        return [(metric, msgid, value) for msgid, value in values.items()]

    return parse


@dataclass(frozen=True)
class AreaSpec:
    api: str
    metrics: tuple[str, ...]
    parse: Callable[[list[JSONObject]], list[Figure]]

    @property
    def span(self) -> int:
        return datacube.SPANS[self.api]

    @property
    def first_day(self) -> datetime.date:
        """Days before it are never planned: WeChat keeps nothing for them."""
        return datacube.first_day(self.api)


AREAS: dict[str, AreaSpec] = {
    Area.USER_SUMMARY: AreaSpec("getusersummary", ("user.new", "user.cancel", "user.net"), _user_summary),
    Area.USER_CUMULATE: AreaSpec("getusercumulate", ("user.cumulate",), _user_cumulate),
    Area.UPSTREAM_MSG: AreaSpec("getupstreammsg", ("msg.upstream.count", "msg.upstream.users"), _upstream),
    Area.INTERFACE: AreaSpec(
        "getinterfacesummary",
        ("api.callback.count", "api.callback.fail", "api.callback.time_total_ms", "api.callback.time_max_ms"),
        _interface,
    ),
    Area.ARTICLES: AreaSpec(
        "getbizsummary",
        (
            "article.read_user",
            "article.share_user",
            "article.zaikan_user",
            "article.like_user",
            "article.comment_count",
        ),
        _articles,
    ),
    Area.UPSTREAM_DIST: AreaSpec("getupstreammsgdist", ("msg.upstream.dist",), _upstream_dist),
    Area.ARTICLE_READ: AreaSpec(
        "getarticleread", ("article.item.read_user",), _per_article("article.item.read_user", "read_user")
    ),
    Area.ARTICLE_SHARE: AreaSpec(
        "getarticleshare", ("article.item.share_user",), _per_article("article.item.share_user", "share_user")
    ),
}


def area_days(start: datetime.date, end: datetime.date) -> int:
    """How many (area, day) pairs of ``start..end`` can be fetched: each area from its first day."""
    return sum(max(0, (end - max(start, spec.first_day)).days + 1) for spec in AREAS.values())


# --- planning ----------------------------------------------------------------------------------


def _days(start: datetime.date, end: datetime.date) -> Iterator[datetime.date]:
    for offset in range((end - start).days + 1):
        yield start + datetime.timedelta(days=offset)


def plan_days(*, account: OfficialAccount, start: datetime.date, end: datetime.date) -> int:
    """Make a ``pending`` row for every (area, day) of the range not yet known; days already
    fetched or missing keep their state. Returns how many rows were made."""
    known = set(SyncDay.objects.filter(account=account, day__range=(start, end)).values_list("area", "day"))
    new = [
        SyncDay(account=account, area=area, day=day)
        for day in _days(start, end)
        for area, spec in AREAS.items()
        if (area, day) not in known and day >= spec.first_day
    ]
    SyncDay.objects.bulk_create(new, ignore_conflicts=True, batch_size=2000)
    return len(new)


def _todo(account_id: int, until: datetime.date, now: datetime.datetime) -> Q:
    retry_before = now - datetime.timedelta(hours=_setting("INSIGHTS_MISSING_RETRY_HOURS", 6))
    return Q(account_id=account_id, day__lte=until) & (
        Q(status=SyncDay.Status.PENDING)
        | Q(
            status=SyncDay.Status.MISSING,
            attempts__lt=_setting("INSIGHTS_MISSING_MAX_ATTEMPTS", 5),
            last_tried_at__lt=retry_before,
        )
    )


def windows(days: Iterable[datetime.date], span: int) -> list[list[datetime.date]]:
    """Consecutive days, at most ``span`` per window, in order."""
    out: list[list[datetime.date]] = []
    for day in sorted(days):
        last = out[-1] if out else None
        if last and len(last) < span and (day - last[-1]).days == 1:
            last.append(day)
        else:
            out.append([day])
    return out


# --- quota and lock ----------------------------------------------------------------------------


def _quota_key(account_id: int, now: datetime.datetime) -> str:
    return f"insights:datacube-calls:{account_id}:{now.astimezone(datacube.BEIJING).date().isoformat()}"


def calls_today(account: OfficialAccount, now: datetime.datetime | None = None) -> int:
    """Datacube calls the sync made today (Beijing day) for the account."""
    return int(redis_client(Purpose.TASKS).get(_quota_key(account.pk, now or timezone.now())) or 0)


def _take_call(account_id: int, now: datetime.datetime) -> bool:
    """One unit of today's budget, or False when it is used up."""
    r = redis_client(Purpose.TASKS)
    key = _quota_key(account_id, now)
    pipe = r.pipeline(transaction=False)  # one round trip
    pipe.incr(key)
    pipe.expire(key, 2 * 86400)
    used = int(pipe.execute()[0])
    if used > _setting("INSIGHTS_DATACUBE_DAILY_CALLS", 500):
        r.decr(key)
        return False
    return True


def _spend_all(account_id: int, now: datetime.datetime) -> None:
    """WeChat said 45009: nothing more today."""
    r = redis_client(Purpose.TASKS)
    r.set(_quota_key(account_id, now), _setting("INSIGHTS_DATACUBE_DAILY_CALLS", 500), ex=2 * 86400)


def lock_key(account_id: int) -> str:
    return f"insights:sync-lock:{account_id}"


# --- the run -----------------------------------------------------------------------------------


@dataclass
class SyncOutcome:
    """How a run ended: ``done`` (nothing left it may fetch now), ``quota`` (budget or 45009),
    ``more`` (out of time: queue again), ``failing`` (WeChat kept failing), ``busy`` (another
    run holds the account)."""

    status: str = "done"
    calls: int = 0
    days_ok: int = 0
    days_missing: int = 0
    errors: list[str] = field(default_factory=list)


def _client(account: OfficialAccount) -> WeChatClient:
    from accounts.wechat_api import client_for

    return client_for(account)


def sync_account(
    account_id: int,
    *,
    now: datetime.datetime | None = None,
    client: WeChatClient | None = None,
    max_seconds: float | None = None,
    max_calls: int | None = None,
) -> SyncOutcome:
    """Fetch every day of the account that is pending (or missing and due for a retry) and
    available, area by area, in windows; then settle its open backfills. One run per account
    at a time (a Redis lease); see the module docstring for the rules."""
    max_seconds = max_seconds if max_seconds is not None else _setting("INSIGHTS_SYNC_MAX_SECONDS", 240)
    r = redis_client(Purpose.TASKS)
    owner = secrets.token_hex(8)
    lease = _setting("INSIGHTS_SYNC_LOCK_SECONDS", 120)
    key = lock_key(account_id)
    if not r.set(key, owner, nx=True, ex=lease):
        return SyncOutcome(status="busy")

    def renew() -> None:
        """After each window: the lease runs ``lease`` seconds more, ours only."""
        r.eval(_RENEW, 1, key, owner, lease)

    try:
        outcome = _run(
            account_id, now=now, client=client, max_seconds=max_seconds, max_calls=max_calls, renew=renew
        )
        settle_backfills(account_id, outcome=outcome, now=now)
        return outcome
    finally:
        r.eval(_RELEASE, 1, key, owner)


def _run(
    account_id: int,
    *,
    now: datetime.datetime | None,
    client: WeChatClient | None,
    max_seconds: float,
    max_calls: int | None,
    renew: Callable[[], None] = lambda: None,
) -> SyncOutcome:
    now = now or timezone.now()
    account = OfficialAccount.objects.get(pk=account_id)
    outcome = SyncOutcome()
    until = datacube.available_until(now)
    todo = (
        SyncDay.objects.filter(_todo(account_id, until, now))
        .order_by("area", "day")
        .values_list("area", "day")
    )
    by_area: dict[str, list[datetime.date]] = {}
    for area, day in todo:
        by_area.setdefault(area, []).append(day)
    if not by_area:
        return outcome
    client = client or _client(account)
    started = time.monotonic()
    failures = 0
    queue: list[tuple[str, list[datetime.date]]] = [
        (area, window) for area, days in by_area.items() for window in windows(days, AREAS[area].span)
    ]
    while queue:
        if time.monotonic() - started > max_seconds or (max_calls is not None and outcome.calls >= max_calls):
            outcome.status = "more"
            return outcome
        area, window = queue.pop(0)
        renew()
        if not _take_call(account_id, now):
            outcome.status = "quota"
            return outcome
        outcome.calls += 1
        spec = AREAS[area]
        try:
            answer = datacube.fetch(client, spec.api, window[0], window[-1])
        except WeChatError as error:
            if error.errcode == DAILY_QUOTA:
                _spend_all(account_id, now)
                outcome.status = "quota"
                return outcome
            if len(window) > 1:  # find the faulty day: ask the window's days one by one
                queue[:0] = [(area, [day]) for day in window]
            else:
                _mark_missing(account_id, area, window[0], error, now)
                outcome.days_missing += 1
            outcome.errors.append(f"{spec.api} {window[0]}…{window[-1]}: {error.errcode}")
            failures += 1
            if failures >= FAILURES_TO_STOP:
                outcome.status = "failing"
                return outcome
            continue
        failures = 0
        if answer.get("is_delay"):  # WeChat says the figures are not final: ask again later
            continue
        _store_window(account_id, area, window, answer["list"], now)
        outcome.days_ok += len(window)
    return outcome


def _store_window(
    account_id: int, area: str, window: list[datetime.date], rows: list[JSONObject], now: datetime.datetime
) -> None:
    """The window's figures replace its WeChat figures of the area, and its days become ``ok``,
    in one transaction (a kill before the commit leaves the days pending, after it leaves them
    done: never half)."""
    spec = AREAS[area]
    by_day: dict[str, list[JSONObject]] = {}
    for row in rows:
        by_day.setdefault(str(row.get("ref_date")), []).append(row)
    figures = [
        DailyFigure(
            account_id=account_id,
            day=day,
            metric=metric,
            dimension=dimension,
            value=value,
            source=DailyFigure.Source.WECHAT,
        )
        for day in window
        for metric, dimension, value in spec.parse(by_day.get(day.isoformat(), []))
    ]
    with transaction.atomic():
        DailyFigure.objects.filter(
            account_id=account_id,
            day__in=window,
            metric__in=spec.metrics,
            source=DailyFigure.Source.WECHAT,
        ).delete()
        DailyFigure.objects.bulk_create(figures)
        SyncDay.objects.filter(account_id=account_id, area=area, day__in=window).update(
            status=SyncDay.Status.OK, errcode=None, reason="", last_tried_at=now, synced_at=now
        )


def _mark_missing(
    account_id: int, area: str, day: datetime.date, error: WeChatError, now: datetime.datetime
) -> None:
    """WeChat answered an error for the day: missing, with its code and words (no figure)."""
    reason = f"{clean_errmsg(error.errmsg)} — {error.explanation}"[:300]
    SyncDay.objects.filter(account_id=account_id, area=area, day=day).update(
        status=SyncDay.Status.MISSING,
        attempts=F("attempts") + 1,
        errcode=error.errcode,
        reason=reason,
        last_tried_at=now,
    )


# --- backfills and retries ---------------------------------------------------------------------


def range_counts(account_id: int, start: datetime.date, end: datetime.date) -> dict[str, int]:
    rows = (
        SyncDay.objects.filter(account_id=account_id, day__range=(start, end))
        .values("status")
        .annotate(n=Count("id"))
    )
    return {row["status"]: row["n"] for row in rows}


def settle_backfills(account_id: int, *, outcome: SyncOutcome, now: datetime.datetime | None = None) -> None:
    """Each open backfill's counts; done when none of its days is pending any more (missing
    days stay listed, and later runs retry them); waiting when the quota stopped the run."""
    now = now or timezone.now()
    for backfill in Backfill.objects.filter(account_id=account_id, status__in=Backfill.OPEN):
        counts = range_counts(account_id, backfill.start, backfill.end)
        backfill.days_done = counts.get(SyncDay.Status.OK, 0)
        backfill.days_missing = counts.get(SyncDay.Status.MISSING, 0)
        if not counts.get(SyncDay.Status.PENDING, 0):
            backfill.status, backfill.finished_at = Backfill.Status.DONE, now
            backfill.note = ""
        elif outcome.status == "quota":
            backfill.status = Backfill.Status.WAITING_QUOTA
            backfill.note = _(
                "Today's statistics calls are used up; it goes on after midnight (Beijing time)."
            )
        elif outcome.status == "failing":
            backfill.status = Backfill.Status.RUNNING
            backfill.note = _("WeChat kept answering errors; the next run tries again.")[:300]
        else:
            backfill.status = Backfill.Status.RUNNING
            backfill.note = ""
        backfill.save(update_fields=["days_done", "days_missing", "status", "finished_at", "note"])


def check_range(
    *,
    account: OfficialAccount,
    start: datetime.date,
    end: datetime.date,
    now: datetime.datetime | None = None,
) -> None:
    """What WeChat would refuse, in words: a reversed range, over a year, days WeChat has not
    finished (today; yesterday before 08:00) or before 2014-12-01; an uncertified account
    (R-POST-05)."""
    now = now or timezone.now()
    until = datacube.available_until(now)
    if not account.is_certified(now.astimezone(datacube.BEIJING).date()):
        raise InsightsSyncError(_("WeChat's statistics need a certified account (R-POST-05)."))
    if end < start:
        raise InsightsSyncError(_("The range ends before it starts."))
    if (end - start).days + 1 > BACKFILL_MAX_DAYS:
        raise InsightsSyncError(_("A backfill covers at most a year (366 days)."))
    if start < datacube.FIRST_DAY:
        raise InsightsSyncError(_("WeChat keeps statistics from 1 December 2014 on."))
    if end > until:
        raise InsightsSyncError(
            _(
                "WeChat gives a day's statistics after 08:00 (Beijing time) the next day: "
                "the last day you can ask for now is %(day)s."
            )
            % {"day": until.isoformat()}
        )


def statistics_accounts(now: datetime.datetime | None = None) -> list[int]:
    """Accounts whose statistics the daily run fetches: the certified ones (R-POST-05)."""
    today = (now or timezone.now()).astimezone(datacube.BEIJING).date()
    return list(OfficialAccount.objects.filter(certified_until__gte=today).values_list("pk", flat=True))


def plan_yesterday(now: datetime.datetime | None = None) -> list[int]:
    """The daily run's plan: the newest available day for every certified account, and the
    days since the account's last planned day when runs were missed (at most
    ``CATCH_UP_DAYS`` back); answers the accounts with something to fetch (pending, or missing
    and due)."""
    now = now or timezone.now()
    until = datacube.available_until(now)
    ids = statistics_accounts(now)
    last = dict(
        SyncDay.objects.filter(account_id__in=ids)
        .values("account_id")
        .annotate(last=Max("day"))
        .values_list("account_id", "last")
    )
    for account in OfficialAccount.objects.filter(pk__in=ids):
        start = until
        if last.get(account.pk) is not None:
            start = max(
                last[account.pk] + datetime.timedelta(days=1), until - datetime.timedelta(days=CATCH_UP_DAYS)
            )
        plan_days(account=account, start=min(start, until), end=until)
    return accounts_with_work(now, ids)


def accounts_with_work(now: datetime.datetime, ids: list[int] | None = None) -> list[int]:
    until = datacube.available_until(now)
    found: set[int] = set()
    for account_id in ids if ids is not None else statistics_accounts(now):
        if SyncDay.objects.filter(_todo(account_id, until, now)).exists():
            found.add(account_id)
    return sorted(found)
