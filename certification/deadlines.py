"""Every date that matters to a certification order, one pure function each.

All functions take their inputs (and `today`/`now` where relevant) as arguments, so
they can be tested at their boundaries without a database. Times are interpreted in
Asia/Shanghai, where Tencent and the review companies work.
"""

from __future__ import annotations

import calendar
import datetime
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

import holidays

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
REVIEW_WORKING_DAYS = 15
RESUBMISSION_DAYS = 30
INVOICE_REQUEST_DAYS = 30
INVOICE_EXPECTED_DAYS = 80
ANNUAL_REVIEW_REMINDER_MONTHS = 3


@dataclass(frozen=True)
class DueDate:
    """A due date, and whether it rests on a holiday calendar not yet announced."""

    date: datetime.date
    estimate: bool


@lru_cache(maxsize=64)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("CN", years=year)


@lru_cache(maxsize=64)
def is_announced_year(year: int) -> bool:
    """R-CERT-11: whether the State Council's holiday arrangement for `year` is in the package.

    `holidays` extends the China calendar past the last announced year by rule but
    without make-up working days; every announced year since 2001 has at least one
    make-up day, so a year without any is one the package only estimates.
    """
    return any(day.year == year for day in _calendar(year).weekend_workdays)


def is_working_day(day: datetime.date) -> bool:
    """R-CERT-11: a Chinese working day (public holidays off, make-up weekend days on).

    For a year whose arrangement is not announced (see `is_announced_year`) the
    statutory holidays are still known by rule and are days off; only the make-up
    working days are unknown, so none are counted — `holidays` computes exactly that
    for such a year (Clarifications, R-CERT-11). A due date therefore never falls on
    a public holiday.
    """
    return _calendar(day.year).is_working_day(day)


def add_working_days(start: datetime.date, count: int) -> DueDate:
    """The `count`-th Chinese working day after `start` (`start` itself is not counted)."""
    day = start
    estimate = False
    remaining = count
    while remaining:
        day += datetime.timedelta(days=1)
        if not is_announced_year(day.year):
            estimate = True
        if is_working_day(day):
            remaining -= 1
    return DueDate(day, estimate)


def review_due(submitted_on: datetime.date) -> DueDate:
    """R-CERT-11: review due 15 Chinese working days after a complete submission."""
    return add_working_days(submitted_on, REVIEW_WORKING_DAYS)


def resubmission_deadline(rejected_on: datetime.date) -> datetime.date:
    """R-CERT-12: resubmit within 30 calendar days counted from the rejection.

    The chapter counts the first window from the first rejection; after a later
    rejection it is silent, and this project gives every rejection its own 30-day
    window from that rejection (Clarifications, R-CERT-12). The deadline is the last
    day on which a resubmission is still in time.
    """
    return rejected_on + datetime.timedelta(days=RESUBMISSION_DAYS)


def invoice_request_deadline(completed_on: datetime.date) -> datetime.date:
    """R-CERT-10: a missing invoice can be requested within 30 days after completion."""
    return completed_on + datetime.timedelta(days=INVOICE_REQUEST_DAYS)


def invoice_expected_by(completed_on: datetime.date) -> datetime.date:
    """R-CERT-10: Tencent issues and mails the invoice within 80 days after completion."""
    return completed_on + datetime.timedelta(days=INVOICE_EXPECTED_DAYS)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Calendar months, clamped to the month's last day (Feb 29 + 12 months → Feb 28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def certification_valid_until(succeeded_on: datetime.date) -> datetime.date:
    """R-POST-02: a certification is valid for one year from the day it succeeded."""
    return add_months(succeeded_on, 12)


def annual_review_reminder_on(valid_until: datetime.date) -> datetime.date:
    """R-POST-02: the annual-review reminder goes out 3 months before expiry."""
    return add_months(valid_until, -ANNUAL_REVIEW_REMINDER_MONTHS)


def days_left(due: datetime.date, today: datetime.date) -> int:
    """Days from `today` to `due` (0 on the day, negative when overdue)."""
    return (due - today).days


def is_open(now: datetime.datetime, opens_at: datetime.time, closes_at: datetime.time) -> bool:
    """R-CERT-15: a review company answers "周一至周五(工作日)" between its hours (Shanghai time).

    Monday to Friday *and* a working day: closed on make-up Saturdays and Sundays
    and on public holidays (Clarifications, R-CERT-15).
    """
    local = now.astimezone(SHANGHAI)
    day = local.date()
    return (
        day.weekday() < 5
        and is_working_day(day)
        and opens_at <= local.time().replace(tzinfo=None) < closes_at
    )


def local_date(moment: datetime.datetime) -> datetime.date:
    return moment.astimezone(SHANGHAI).date()
