"""The insights pages in Chromium, in Chinese, at 1440 px (issue 28): the walk's checks
(``wxadmin/tests/test_walk_browser.py``: no visible English outside its allowlist, no
horizontal overflow, no console error) on every page of the app with real figures, a period
with missing days, and a generated report — plus: every chart draws something."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import EntityFactory, OfficialAccountFactory
from insights import reports
from insights.models import Report, RollupDay
from wxadmin.tests.test_walk_browser import (
    ALLOWED,
    ARTIFACTS,
    OVERFLOW_JS,
    VISIBLE_TEXT_JS,
    WIDTH,
    data_words,
    english_in,
)

from .factories import figures

#: paths drawn per chart (a chart with none drew nothing)
CHART_PATHS_JS = """
() => [...document.querySelectorAll('svg[data-testid="chart"], svg[data-testid="bar-chart"]')]
  .map((svg) => svg.querySelectorAll("path, rect").length)
"""


@pytest.fixture
def insights_data(transactional_db, admin_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    entity = EntityFactory(short_name="示例客户")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    accounts = []
    for name in ("示例甲号", "示例乙号"):
        account = OfficialAccountFactory(entity=entity, name=name)
        # 50 days of WeChat's figures with a gap of 3 days (WeChat answered an error)
        figures(account, yesterday - datetime.timedelta(days=49), 40, {"user.new": 12, "user.cumulate": 900})
        figures(account, yesterday - datetime.timedelta(days=6), 7, {"user.new": 9, "user.cumulate": 950})
        figures(
            account,
            yesterday - datetime.timedelta(days=49),
            50,
            {"menu.click": 5, "msg.inbound": 30},
            source="own",
        )
        accounts.append(account)
    RollupDay.objects.bulk_create(
        RollupDay(day=yesterday - datetime.timedelta(days=n), rolled_at=timezone.now(), final=True)
        for n in range(20)
    )
    report = Report.objects.create(entity=entity, month=reports.previous_month())
    reports.generate(report.pk)
    return {"entity": entity, "account": accounts[0], "report": report}


@pytest.mark.browser
@pytest.mark.slow
def test_every_insights_page_reads_in_chinese_fits_and_draws(
    page, live_server, admin_login, insights_data, admin_user
):
    page.set_viewport_size({"width": WIDTH, "height": 900})
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console.append(str(exc)))
    admin_login(admin_user.username, "password")
    page.wait_for_url("**/admin/")
    month = insights_data["report"].month
    pages = {
        "insights_overview": reverse("admin:insights_overview"),
        "insights_account": reverse("admin:insights_account", args=[insights_data["account"].pk]),
        "insights_account_year": reverse("admin:insights_account", args=[insights_data["account"].pk])
        + "?start=2025-01-01&end=2025-12-31",
        "insights_account_bad_period": reverse("admin:insights_account", args=[insights_data["account"].pk])
        + "?start=2026-13-01&end=x",
        "insights_entity": reverse("admin:insights_entity", args=[insights_data["entity"].pk]),
        "insights_agency": reverse("admin:insights_agency"),
        "insights_report_changelist": reverse("admin:insights_report_changelist"),
        "insights_report_add": reverse("admin:insights_report_add"),
        "insights_report_change": reverse("admin:insights_report_change", args=[insights_data["report"].pk]),
        "insights_report_page": reverse(
            "admin:insights_report_page", args=[insights_data["entity"].pk, month.year, month.month]
        ),
    }
    data = data_words()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    for name, path in pages.items():
        console.clear()
        response = page.goto(f"{live_server.url}{path}", wait_until="load")
        issues = []
        if response is None or response.status >= 400:
            issues.append(f"HTTP {response.status if response else '—'}")
        overflow = page.evaluate(OVERFLOW_JS)
        if overflow > 1:
            issues.append(f"{overflow}px wider than the {WIDTH}px window")
        issues += english_in(page.evaluate(VISIBLE_TEXT_JS), ALLOWED, data)
        issues += [f"console: {text}" for text in console]
        drawn = page.evaluate(CHART_PATHS_JS)
        if name in ("insights_account", "insights_entity", "insights_agency", "insights_report_page"):
            if not drawn or min(drawn) == 0:
                issues.append(f"charts not drawn: {drawn}")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=name == "insights_account")
        if issues:
            problems[f"{name} {path}"] = issues
    assert not problems, "\n".join(f"{p}: {i}" for p, i in problems.items())
    # the missing days are said on the account page, with their reason
    page.goto(f"{live_server.url}{pages['insights_account']}")
    assert "缺失的数据及原因" in page.text_content('[data-testid="missing"]')
