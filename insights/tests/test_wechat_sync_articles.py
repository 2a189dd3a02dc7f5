"""The per-article statistics (getarticleread, getarticleshare) and the upstream distribution
(getupstreammsgdist) in the WeChat-statistics sync (issue 28): windows of their documented
spans, exact figures against the sandbox, nothing before the per-article APIs' first day, an
error day missing (never zeros), and the figures on the account page and in its export."""

import datetime
import io

import openpyxl
import pytest
from django.db.models import Sum
from django.urls import reverse

from insights import selectors, sync_services, wechat_sync
from insights.models import Area, Backfill, DailyFigure, SyncDay
from insights.tests.conftest import NOW
from wechat.api import datacube
from wechat_sandbox.areas.datacube import figures

D = datetime.date.fromisoformat
DAY = datetime.timedelta(days=1)


def backfill(account, operator, start, end):
    return sync_services.start_backfill(account=account, start=start, end=end, by=operator, now=NOW)


def each_day(start, end):
    day = start
    while day <= end:
        yield day
        day += DAY


def stored(account, metric, start, end):
    """{dimension: summed value} of a WeChat metric over the days."""
    rows = (
        DailyFigure.objects.filter(account=account, metric=metric, day__range=(start, end), source="wechat")
        .values_list("dimension")
        .annotate(v=Sum("value"))
    )
    return dict(rows)


def test_per_article_and_distribution_figures_are_fetched_in_their_spans_and_exact(wx, account, operator):
    """getupstreammsgdist in windows of 15 days, getarticleread/getarticleshare one day a call;
    one figure per article (msgid) and per count_interval, equal to what WeChat answered."""
    start, end = D("2026-11-20"), D("2026-12-06")  # 17 days
    run = backfill(account, operator, start, end)
    assert wechat_sync.sync_account(account.pk, now=NOW).status == "done"
    assert wx.calls("getupstreammsgdist") == 2  # 15 + 2 days
    assert wx.calls("getarticleread") == wx.calls("getarticleshare") == 17

    reads, shares, dist = {}, {}, {}
    for day in each_day(start, end):
        for row in figures(account.appid, "getarticleread", day):
            reads[row["msgid"]] = reads.get(row["msgid"], 0) + row["detail"]["read_user"]
        for row in figures(account.appid, "getarticleshare", day):
            shares[row["msgid"]] = shares.get(row["msgid"], 0) + row["detail"]["share_user"]
        for row in figures(account.appid, "getupstreammsgdist", day):
            key = str(row["count_interval"])
            dist[key] = dist.get(key, 0) + row["msg_user"]
    assert len(reads) > 5 and shares and set(dist) == {"1", "2", "3"}
    assert stored(account, "article.item.read_user", start, end) == reads
    assert stored(account, "article.item.share_user", start, end) == shares
    assert stored(account, "msg.upstream.dist", start, end) == dist
    # no invented totals: the day's article totals are getbizsummary's, the distribution has none
    assert not DailyFigure.objects.filter(
        metric__in=["article.item.read_user", "msg.upstream.dist"], dimension=""
    ).exists()
    run.refresh_from_db()
    assert (run.status, run.days_done, run.days_total) == (Backfill.Status.DONE, 17 * 8, 17 * 8)


def test_per_article_days_before_their_first_day_are_neither_asked_for_nor_missing(wx, account, operator):
    """WeChat keeps per-article figures from 2025-11-01 on: older days are not planned, not
    called and not listed as missing; the other statistics of those days are."""
    start, end = D("2025-10-28"), D("2025-11-03")  # 4 days before, 3 from the first day
    assert D("2025-11-01") == datacube.ARTICLE_FIRST_DAY
    run = backfill(account, operator, start, end)
    assert run.days_total == 7 * 6 + 3 * 2
    planned = SyncDay.objects.filter(account=account, area=Area.ARTICLE_READ)
    assert sorted(planned.values_list("day", flat=True)) == [
        D("2025-11-01"),
        D("2025-11-02"),
        D("2025-11-03"),
    ]
    assert wechat_sync.sync_account(account.pk, now=NOW).status == "done"
    assert wx.calls("getarticleread") == wx.calls("getarticleshare") == 3
    assert selectors.missing_days(account, start, end, now=NOW) == []
    # the sandbox answers nothing for those days either, as WeChat says its data is not valid
    assert figures(account.appid, "getarticleread", D("2025-10-31")) == []


def test_a_day_a_per_article_api_answers_an_error_is_missing_never_zero(wx, account, operator):
    """R: an error day is marked missing with WeChat's code, no figure is written for it; a
    15-day distribution window with a bad day is asked day by day, only that day missing."""
    start, end, bad, flaky = D("2026-11-22"), D("2026-12-06"), D("2026-12-01"), D("2026-12-03")
    wx.control(
        fault={"day": bad.isoformat(), "errcode": -1, "errmsg": "system error", "api": "getarticleread"}
    )
    wx.control(fault={"day": flaky.isoformat(), "errcode": 61501, "api": "getupstreammsgdist", "times": 1})
    backfill(account, operator, start, end)
    outcome = wechat_sync.sync_account(account.pk, now=NOW)
    assert outcome.status == "done" and outcome.days_missing == 1
    assert wx.calls("getupstreammsgdist") == 1 + 15  # the failed window, then its days one by one
    read_day = SyncDay.objects.get(account=account, area=Area.ARTICLE_READ, day=bad)
    assert (read_day.status, read_day.errcode) == ("missing", -1)
    assert not DailyFigure.objects.filter(account=account, day=bad, metric="article.item.read_user").exists()
    assert DailyFigure.objects.filter(account=account, day=bad, metric="article.item.share_user").exists()
    assert SyncDay.objects.get(account=account, area=Area.UPSTREAM_DIST, day=flaky).status == "ok"
    [missing] = selectors.missing_days(account, start, end, now=NOW)
    assert (missing.day, missing.area, missing.errcode) == (bad, "article_read", -1)


def test_the_account_page_and_its_export_show_articles_and_the_distribution(client, wx, account, operator):
    """The per-article readers and sharers and the distribution are breakdowns on the page (a
    chart each, in words) and rows of the export's breakdown sheet."""
    start, end = D("2026-11-30"), D("2026-12-06")
    backfill(account, operator, start, end)
    wechat_sync.sync_account(account.pk, now=NOW)
    readers = stored(account, "article.item.read_user", start, end)
    top = max(readers, key=readers.get)  # the first bar of the chart
    publish, index = top.split("_")
    client.force_login(operator)
    query = {"start": start.isoformat(), "end": end.isoformat()}
    body = client.get(reverse("admin:insights_account", args=[account.pk]), query).content.decode()
    # in Chinese, the default language (insights/locale/zh_Hans)
    assert "单篇文章阅读人数" in body and "单篇文章分享人数" in body
    assert f"群发 {publish} 第 {index} 篇" in body
    assert "消息发送分布（微信统计）" in body and "1–5 条" in body
    export = client.get(reverse("admin:insights_account_export", args=[account.pk, "xlsx"]), query)
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).worksheets[2]  # the breakdowns
    rows = {(r[0], r[1]): r[2] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[("单篇文章阅读人数", f"群发 {publish} 第 {index} 篇")] == readers[top]
    assert ("消息发送分布（微信统计）", "6–10 条") in rows


@pytest.mark.parametrize("api", ["getarticleread", "getarticleshare", "getupstreammsgdist"])
def test_the_sandbox_refuses_a_range_over_the_span_like_wechat(wx, account, api):
    """61501 for a range longer than the API's span (1, 1 and 15 days)."""
    from accounts.wechat_api import client_for
    from wechat.errors import WeChatError

    span = datacube.SPANS[api]
    end = D("2026-12-06")
    with pytest.raises(WeChatError) as error:
        client_for(account).call(
            "POST",
            datacube.path(api),
            body={"begin_date": (end - span * DAY).isoformat(), "end_date": end.isoformat()},
        )
    assert error.value.errcode == datacube.DATE_RANGE_ERROR
    with pytest.raises(ValueError, match=f"takes 1 to {span} days"):
        datacube.check_span(api, end - span * DAY, end)
