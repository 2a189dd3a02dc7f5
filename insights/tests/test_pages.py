"""The insights pages (issue 28): scoped, served from DailyFigure only, say what is missing."""

from __future__ import annotations

import datetime
import io

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import EntityFactory, OfficialAccountFactory, UserFactory
from insights.figures import Period, figures_for
from insights.models import DailyFigure, RollupDay

from .factories import figures

pytestmark = pytest.mark.django_db

START = datetime.date(2026, 10, 1)


@pytest.fixture
def world():
    entity = EntityFactory()
    first = OfficialAccountFactory(entity=entity, name="甲号")
    second = OfficialAccountFactory(entity=entity, name="乙号")
    stranger = OfficialAccountFactory(name="别人的号")
    figures(first, START, 61, {"user.new": 10, "user.cancel": 2, "user.cumulate": 1000})
    figures(second, START, 61, {"user.new": 5, "user.cumulate": 500})
    figures(first, START, 61, {"menu.click": 3}, source="own")
    RollupDay.objects.bulk_create(
        RollupDay(day=START + datetime.timedelta(days=n), rolled_at="2026-12-01T00:00:00Z", final=True)
        for n in range(61)
    )
    operator = UserFactory(groups=["Operators"])
    first.assigned_staff.add(operator)
    second.assigned_staff.add(operator)
    return {"entity": entity, "first": first, "second": second, "stranger": stranger, "operator": operator}


def url(name, *args, **query):
    base = reverse(name, args=args)
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


NOV = {"start": "2026-11-01", "end": "2026-11-30"}


def test_a_period_is_compared_with_the_one_before(world):
    got = figures_for(
        [world["first"].pk],
        Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)),
        today=datetime.date(2026, 12, 7),
    )
    new = got.get("user.new")
    assert new.current == 300 and new.previous == 300 and new.change == 0.0  # 30 days each
    assert got.previous == Period(datetime.date(2026, 10, 2), datetime.date(2026, 10, 31))
    total = got.get("user.cumulate")
    assert total.current == 1060  # the last day's value, not a sum
    assert got.missing == []


def test_the_account_page_shows_figures_charts_and_exports(client, world):
    client.force_login(world["operator"])
    response = client.get(url("admin:insights_account", world["first"].pk, **NOV))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-metric="user.new"' in body and "<svg" in body
    assert 'data-testid="missing"' not in body
    for fmt in ("csv", "xlsx"):
        export = client.get(url("admin:insights_account_export", world["first"].pk, fmt, **NOV))
        assert export.status_code == 200
        assert export["Content-Disposition"].endswith(f'.{fmt}"')
    assert (
        "2026-11-30"
        in client.get(url("admin:insights_account_export", world["first"].pk, "csv", **NOV)).content.decode()
    )


def test_pages_are_scoped_and_the_agency_is_for_those_who_see_everything(client, world):
    client.force_login(world["operator"])
    assert client.get(url("admin:insights_account", world["stranger"].pk)).status_code == 403
    assert client.get(url("admin:insights_account_export", world["stranger"].pk, "csv")).status_code == 403
    assert client.get(url("admin:insights_entity", world["stranger"].entity_id)).status_code == 403
    assert client.get(url("admin:insights_agency")).status_code == 403
    assert client.get(url("admin:insights_entity", world["entity"].pk, **NOV)).status_code == 200
    overview = client.get(url("admin:insights_overview")).content.decode()
    assert "甲号" in overview and "别人的号" not in overview
    finance = UserFactory(groups=["Finance"])
    client.force_login(finance)
    assert client.get(url("admin:insights_overview")).status_code == 403


def test_a_period_without_data_says_what_is_missing_and_why(client, world):
    client.force_login(world["operator"])
    body = client.get(
        url("admin:insights_account", world["first"].pk, start="2025-01-01", end="2025-01-31")
    ).content.decode()
    assert 'data-testid="no-data"' in body
    assert 'data-testid="missing"' in body
    assert "2025-01-01 – 2025-01-31" in body


def test_a_bad_period_is_said_and_the_default_shown(client, world):
    client.force_login(world["operator"])
    for start, end in (
        ("2026-13-01", "2026-11-30"),
        ("2026-11-30", "2026-11-01"),
        ("2020-01-01", "2026-01-01"),
    ):
        response = client.get(url("admin:insights_account", world["first"].pk, start=start, end=end))
        assert response.status_code == 200
        assert 'data-testid="period-error"' in response.content.decode()
    assert (
        client.get(
            url("admin:insights_account_export", world["first"].pk, "csv", start="x", end="y")
        ).status_code
        == 400
    )


def test_query_count_does_not_grow_with_the_period(client, world):
    client.force_login(world["operator"])
    counts = []
    for query in ({"start": "2026-11-01", "end": "2026-11-07"}, {"start": "2024-01-01", "end": "2026-11-30"}):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url("admin:insights_entity", world["entity"].pk, **query)).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]


def test_the_sync_selectors_reasons_are_used_when_it_is_there(world, monkeypatch):
    """The seam to the datacube sync: its ``missing_days`` (day, area, why) per account."""
    from types import SimpleNamespace

    from insights import figures as module

    def missing_days(account, start, end):
        return [SimpleNamespace(day=start, area_label="用户分析", why="微信返回错误 61500")]

    monkeypatch.setattr(module, "_sync_missing_days", lambda: missing_days)
    got = figures_for(
        [world["first"].pk],
        Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)),
        today=datetime.date(2026, 12, 7),
    )
    [item] = [m for m in got.missing if m.account_id == world["first"].pk]
    assert item.days == [datetime.date(2026, 11, 1)]
    assert item.reason == "用户分析: 微信返回错误 61500"


def test_wechat_codes_are_shown_in_words(world):
    DailyFigure.objects.create(
        account=world["first"],
        day=datetime.date(2026, 11, 2),
        metric="user.new",
        dimension="30",
        value=4,
        source="wechat",
    )
    got = figures_for([world["first"].pk], Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30)))
    assert got.breakdowns["user.new"] == [("QR code", 4)]  # in English here; 扫描二维码 in Chinese


def test_the_account_hub_shows_the_last_week(client, world):
    from insights.tests.factories import figures as add

    account = OfficialAccountFactory(name="丙号")
    account.assigned_staff.add(world["operator"])
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    add(account, yesterday - datetime.timedelta(days=13), 14, {"user.new": 3})
    client.force_login(world["operator"])
    body = client.get(reverse("admin:accounts_officialaccount_hub", args=[account.pk])).content.decode()
    assert reverse("admin:insights_account", args=[account.pk]) in body
    assert "21（" in body  # 7 days × 3 new followers, then the 7 days before


def test_one_accounts_figures_are_read_without_aggregating_and_match_the_grouped_path(world):
    """Issue 28 (page time): one account's daily totals are read as stored (no GROUP BY) and its
    per-account row comes from them (no query); the figures equal those the grouped path of an
    entity gives for the same account, and the query count does not grow with the period."""
    today = datetime.date(2026, 12, 7)
    first, second = world["first"].pk, world["second"].pk
    DailyFigure.objects.create(
        account_id=first,
        day=datetime.date(2026, 11, 30),
        metric="api.callback.time_max_ms",
        value=9,
        source="wechat",
    )
    period = Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    with CaptureQueriesContext(connection) as one:
        alone = figures_for([first], period, today=today)
    with CaptureQueriesContext(connection) as two:
        both = figures_for([first, second], period, today=today)
    assert alone.per_account[first] == both.per_account[first]
    assert alone.per_account[first]["user.new"] == 300 and alone.per_account[first]["user.cumulate"] == 1060
    assert alone.per_account[first]["api.callback.time_max_ms"] == 9
    assert alone.get("user.new").series == [
        v - w for v, w in zip(both.get("user.new").series, [5] * 30, strict=True)
    ]
    # the per-account sums and last values are two queries the single account does without
    # (the third: the second account's missing days, one query per account)
    assert len(two) - len(one) == 3
    assert not any(
        "GROUP BY" in q["sql"] and "SUM(" in q["sql"] and '"day"' in q["sql"].split("GROUP BY")[1]
        for q in one.captured_queries
    )
    with CaptureQueriesContext(connection) as longer:
        figures_for([first], Period(datetime.date(2025, 12, 1), datetime.date(2026, 11, 30)), today=today)
    assert len(longer) == len(one)


def test_the_xlsx_export_has_every_sheet_with_bold_headers_and_the_days(client, world):
    """The export written through openpyxl's write-only workbook (issue 28, its time): the same
    sheets, a bold header row, one row per day with the figures."""
    client.force_login(world["operator"])
    export = client.get(url("admin:insights_entity_export", world["entity"].pk, "xlsx", **NOV))
    book = openpyxl.load_workbook(io.BytesIO(export.content))
    assert len(book.worksheets) == 5  # summary, every day, breakdowns, per account, missing days
    daily = book.worksheets[1]
    assert daily.cell(row=1, column=1).font.b
    rows = list(daily.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 30 and rows[0][0] == "2026-11-01"
    per_account = book.worksheets[3]
    assert {r[0] for r in per_account.iter_rows(min_row=2, values_only=True)} == {"甲号", "乙号"}
