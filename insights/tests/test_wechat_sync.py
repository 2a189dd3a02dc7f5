"""The WeChat-statistics sync (issue 28): windows of the documented span, exact sums against
the sandbox's deterministic figures, nothing counted twice, error days missing (never zeros)
and retried, the daily quota, one run per account, a killed run resumes."""

import datetime

import pytest
from django.db.models import Sum

from insights import selectors, sync_services, tasks, wechat_sync
from insights.models import Area, Backfill, DailyFigure, SyncDay
from insights.tests.conftest import NOW
from wechat_sandbox.areas.datacube import figures

D = datetime.date.fromisoformat
DAY = datetime.timedelta(days=1)


def expected(account, api, start, end, key):
    total, day = 0, start
    while day <= end:
        total += sum(r[key] for r in figures(account.appid, api, day))
        day += DAY
    return total


def figure_sum(account, metric, start, end, dimension=""):
    rows = DailyFigure.objects.filter(
        account=account, metric=metric, dimension=dimension, day__range=(start, end), source="wechat"
    )
    return rows.aggregate(s=Sum("value"))["s"] or 0


def backfill(account, operator, start, end):
    return sync_services.start_backfill(account=account, start=start, end=end, by=operator, now=NOW)


def test_a_backfill_fetches_in_windows_of_the_span_and_the_sums_are_exact(wx, account, operator):
    start, end = D("2026-11-07"), D("2026-12-06")  # 30 days
    run = backfill(account, operator, start, end)
    outcome = wechat_sync.sync_account(account.pk, now=NOW)
    assert outcome.status == "done"
    # 30 days: 5 windows of ≤ 7 for users, cumulate, messages; 2 of ≤ 15 for the distribution;
    # 1 of 30 for callbacks; 30 single days for published content and each per-article API
    assert wx.calls("getusersummary") == wx.calls("getusercumulate") == wx.calls("getupstreammsg") == 5
    assert wx.calls("getupstreammsgdist") == 2 and wx.calls("getinterfacesummary") == 1
    assert wx.calls("getbizsummary") == wx.calls("getarticleread") == wx.calls("getarticleshare") == 30
    assert outcome.calls == wx.calls() == 108
    new = expected(account, "getusersummary", start, end, "new_user")
    cancel = expected(account, "getusersummary", start, end, "cancel_user")
    assert figure_sum(account, "user.new", start, end) == new > 0
    assert figure_sum(account, "user.net", start, end) == new - cancel
    assert figure_sum(account, "user.new", start, end, dimension="30") == sum(
        r["new_user"]
        for d in range(30)
        for r in figures(account.appid, "getusersummary", start + d * DAY)
        if r["user_source"] == 30
    )
    assert figure_sum(account, "msg.upstream.count", start, end) == expected(
        account, "getupstreammsg", start, end, "msg_count"
    )
    assert figure_sum(account, "api.callback.count", start, end) == expected(
        account, "getinterfacesummary", start, end, "callback_count"
    )
    cumulate = DailyFigure.objects.get(account=account, metric="user.cumulate", day=end).value
    assert cumulate == figures(account.appid, "getusercumulate", end)[0]["cumulate_user"]
    run.refresh_from_db()
    assert (run.status, run.progress, run.days_done, run.days_missing) == ("done", 100, 240, 0)
    assert selectors.missing_days(account, start, end, now=NOW) == []


def test_fetching_the_same_days_again_counts_nothing_twice(wx, account, operator):
    start, end = D("2026-11-20"), D("2026-12-06")
    backfill(account, operator, start, end)
    wechat_sync.sync_account(account.pk, now=NOW)
    rows, total = DailyFigure.objects.count(), figure_sum(account, "user.new", start, end)
    DailyFigure.objects.create(account=account, day=end, metric="menu.click", value=7, source="own")
    SyncDay.objects.filter(account=account).update(status=SyncDay.Status.PENDING)  # as if never fetched
    assert wechat_sync.sync_account(account.pk, now=NOW).status == "done"
    assert DailyFigure.objects.count() == rows + 1  # our own figure is left alone
    assert figure_sum(account, "user.new", start, end) == total


def test_a_day_wechat_answers_with_an_error_is_missing_never_zero_and_is_retried(wx, account, operator):
    start, end, bad = D("2026-11-30"), D("2026-12-06"), D("2026-12-03")
    wx.control(
        fault={"day": bad.isoformat(), "errcode": -1, "errmsg": "system error", "api": "getusersummary"}
    )
    backfill(account, operator, start, end)
    outcome = wechat_sync.sync_account(account.pk, now=NOW)
    assert outcome.status == "done" and outcome.days_missing == 1
    # the 7-day window failed, then its days were asked one by one: only the bad day is missing
    assert wx.calls("getusersummary") == 1 + 7
    day = SyncDay.objects.get(account=account, area=Area.USER_SUMMARY, day=bad)
    assert (day.status, day.errcode, day.attempts) == ("missing", -1, 1)
    assert not DailyFigure.objects.filter(account=account, day=bad, metric__startswith="user.new").exists()
    assert DailyFigure.objects.filter(account=account, day=bad, metric="user.cumulate").exists()
    [missing] = selectors.missing_days(account, start, end, now=NOW)
    assert (missing.day, missing.area, missing.status, missing.errcode) == (
        bad,
        "user_summary",
        "missing",
        -1,
    )
    assert "system error" in missing.reason
    # a run soon after does not retry it yet; one after INSIGHTS_MISSING_RETRY_HOURS does
    assert wechat_sync.sync_account(account.pk, now=NOW + datetime.timedelta(hours=1)).calls == 0
    wx.control(clear=True)
    later = NOW + datetime.timedelta(hours=7)
    assert wechat_sync.sync_account(account.pk, now=later).days_ok == 1
    day.refresh_from_db()
    assert day.status == "ok" and figure_sum(account, "user.new", start, end) == expected(
        account, "getusersummary", start, end, "new_user"
    )


def test_a_missing_day_is_given_up_after_the_attempts_until_staff_retry_it(wx, account, operator, settings):
    settings.INSIGHTS_MISSING_MAX_ATTEMPTS = 2
    bad = D("2026-12-06")
    wx.control(fault={"day": bad.isoformat(), "errcode": 61501, "api": "getbizsummary"})
    backfill(account, operator, bad, bad)
    for hours in (0, 7, 14):
        wechat_sync.sync_account(account.pk, now=NOW + datetime.timedelta(hours=hours))
    day = SyncDay.objects.get(account=account, area=Area.ARTICLES, day=bad)
    assert (day.status, day.attempts) == ("missing", 2)
    wx.control(clear=True)
    assert sync_services.retry_days(days=[day], by=operator) == 1
    wechat_sync.sync_account(account.pk, now=NOW + datetime.timedelta(hours=15))
    day.refresh_from_db()
    assert day.status == "ok" and day.errcode is None


def test_a_period_without_data_is_fetched_ok_with_no_invented_totals(wx, account, operator):
    wx.control(since="2026-12-05")  # a new account: WeChat has nothing before
    start, end = D("2026-11-30"), D("2026-12-06")
    backfill(account, operator, start, end)
    wechat_sync.sync_account(account.pk, now=NOW)
    assert not SyncDay.objects.exclude(status="ok").exists()
    quiet = D("2026-12-01")
    assert DailyFigure.objects.get(account=account, metric="user.new", dimension="", day=quiet).value == 0
    assert not DailyFigure.objects.filter(account=account, metric="user.cumulate", day=quiet).exists()
    assert DailyFigure.objects.filter(account=account, metric="user.cumulate", day=end).exists()
    assert selectors.missing_days(account, start, end, now=NOW) == []
    # never asked for, and not yet available, are said too
    statuses = {
        (m.day, m.status) for m in selectors.missing_days(account, D("2026-12-06"), D("2026-12-07"), now=NOW)
    }
    assert statuses == {(D("2026-12-07"), "not_yet")}
    older = selectors.missing_days(
        account, D("2026-11-01"), D("2026-11-01"), areas=["user_cumulate"], now=NOW
    )
    assert [(m.status, m.area) for m in older] == [("not_synced", "user_cumulate")]


def test_the_daily_budget_stops_a_backfill_which_resumes_the_next_day(wx, account, operator, settings):
    settings.INSIGHTS_DATACUBE_DAILY_CALLS = 10
    start, end = D("2026-11-07"), D("2026-12-06")
    run = backfill(account, operator, start, end)
    assert wechat_sync.sync_account(account.pk, now=NOW).status == "quota"
    assert wx.calls() == 10
    run.refresh_from_db()
    assert run.status == "waiting_quota" and 0 < run.progress < 100
    assert wechat_sync.sync_account(account.pk, now=NOW + datetime.timedelta(hours=1)).calls == 0
    day = NOW
    for _ in range(15):  # 108 calls at 10 a day
        day += datetime.timedelta(days=1)
        wx.sb.clock = day.timestamp
        if wechat_sync.sync_account(account.pk, now=day).status == "done":
            break
    run.refresh_from_db()
    assert run.status == "done" and wx.calls() == 108  # no window fetched twice
    assert figure_sum(account, "user.new", start, end) == expected(
        account, "getusersummary", start, end, "new_user"
    )


def test_wechat_daily_quota_45009_stops_the_run_for_the_day(wx, account, operator):
    wx.sb.app(account.appid).quotas["/datacube/getusercumulate"] = 1
    run = backfill(account, operator, D("2026-11-20"), D("2026-12-06"))
    outcome = wechat_sync.sync_account(account.pk, now=NOW)
    assert outcome.status == "quota"
    assert wechat_sync.calls_today(account, NOW) == 500  # nothing more today
    run.refresh_from_db()
    assert run.status == "waiting_quota"
    assert not SyncDay.objects.filter(status="missing").exists()  # the quota is not the day's fault


def test_one_sync_per_account_and_a_dead_runs_lease_expires(wx, account, operator, redis_client):
    backfill(account, operator, D("2026-12-01"), D("2026-12-06"))
    redis_client.set(wechat_sync.lock_key(account.pk), "someone-else", px=300)
    assert wechat_sync.sync_account(account.pk, now=NOW).status == "busy"
    assert wx.calls() == 0
    import time

    time.sleep(0.4)
    assert wechat_sync.sync_account(account.pk, now=NOW).status == "done"
    assert redis_client.get(wechat_sync.lock_key(account.pk)) is None


class Killed(BaseException):
    """A worker killed mid-run (not an Exception: nothing catches it)."""


def test_a_run_killed_mid_backfill_resumes_and_counts_nothing_twice(wx, account, operator, monkeypatch):
    start, end = D("2026-09-08"), D("2026-12-06")  # 90 days
    run = backfill(account, operator, start, end)
    real_store, stored = wechat_sync._store_window, []

    def dying_store(*args, **kwargs):
        if len(stored) == 20:
            raise Killed  # WeChat answered window 21, the worker dies before its commit
        stored.append(args)
        real_store(*args, **kwargs)

    monkeypatch.setattr(wechat_sync, "_store_window", dying_store)
    with pytest.raises(Killed):
        wechat_sync._run(account.pk, now=NOW, client=None, max_seconds=600, max_calls=None)
    monkeypatch.setattr(wechat_sync, "_store_window", real_store)
    assert SyncDay.objects.filter(status="ok").exists() and SyncDay.objects.filter(status="pending").exists()
    assert wechat_sync.sync_account(account.pk, now=NOW).status == "done"
    # 13 windows × 3 of 7 days, 6 of 15 (distribution), 3 of 30, 90 days × 3 single-day APIs:
    # only the killed window was asked twice
    assert wx.calls() == 1 + (13 * 3 + 6 + 3 + 90 * 3)
    assert figure_sum(account, "user.new", start, end) == expected(
        account, "getusersummary", start, end, "new_user"
    )
    assert DailyFigure.objects.filter(metric="user.new", dimension="").count() == 90
    run.refresh_from_db()
    assert run.status == "done"


def test_a_delayed_answer_is_not_final_and_stays_pending(wx, account, operator):
    wx.control(delay="2026-12-06")
    backfill(account, operator, D("2026-12-06"), D("2026-12-06"))
    wechat_sync.sync_account(account.pk, now=NOW)
    day = SyncDay.objects.get(account=account, area=Area.ARTICLES)
    assert day.status == "pending"
    assert not DailyFigure.objects.filter(metric__startswith="article.").exists()


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        ("2026-12-05", "2026-12-01", "ends before it starts"),
        ("2025-12-01", "2026-12-06", "at most a year"),
        ("2026-12-01", "2026-12-07", "the last day you can ask for now is 2026-12-06"),
        ("2014-11-01", "2014-12-31", "from 1 December 2014"),
    ],
)
def test_a_backfill_of_a_bad_range_is_refused_in_words_and_changes_nothing(
    wx, account, operator, start, end, words
):
    with pytest.raises(wechat_sync.InsightsSyncError, match=words):
        backfill(account, operator, D(start), D(end))
    assert not Backfill.objects.exists() and not SyncDay.objects.exists()


def test_an_uncertified_account_and_a_second_open_backfill_are_refused(wx, account, operator):
    backfill(account, operator, D("2026-12-01"), D("2026-12-06"))
    with pytest.raises(wechat_sync.InsightsSyncError, match="already running"):
        backfill(account, operator, D("2026-11-01"), D("2026-11-06"))
    account.certified_until = D("2026-01-01")
    account.save()
    with pytest.raises(wechat_sync.InsightsSyncError, match="certified account"):
        backfill(account, operator, D("2026-11-01"), D("2026-11-06"))


def test_the_daily_run_twice_fetches_yesterday_once(
    wx, account, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        tasks, "enqueue_now", lambda task, *args: queued.append(args) or type("T", (), {"sent": True})()
    )
    monkeypatch.setattr(tasks.timezone, "now", lambda: NOW)
    assert tasks.sync_yesterday() == 1 and queued == [(account.pk,)]
    wechat_sync.sync_account(account.pk, now=NOW)
    assert tasks.sync_yesterday() == 0  # nothing left: a second beat queues nothing
    assert wx.calls() == 8  # one call per statistics area
    assert set(SyncDay.objects.values_list("day", flat=True)) == {D("2026-12-06")}


def test_the_daily_run_catches_up_the_days_it_missed(wx, account, monkeypatch):
    monkeypatch.setattr(tasks, "enqueue_now", lambda task, *args: type("T", (), {"sent": True})())
    monkeypatch.setattr(tasks.timezone, "now", lambda: NOW - 3 * DAY)
    tasks.sync_yesterday()  # plans 2026-12-03; then three mornings without a run
    monkeypatch.setattr(tasks.timezone, "now", lambda: NOW)
    tasks.sync_yesterday()
    days = set(SyncDay.objects.filter(area="user_summary").values_list("day", flat=True))
    assert days == {D("2026-12-03"), D("2026-12-04"), D("2026-12-05"), D("2026-12-06")}
