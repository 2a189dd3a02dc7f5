"""Deadlines at their boundaries (pure functions, no database)."""

import datetime

import pytest

from certification import deadlines

D = datetime.date


class TestReviewDueInChineseWorkingDays:
    """R-CERT-11: 15 Chinese working days after a complete submission."""

    def test_plain_weeks_count_monday_to_friday_r_cert_11(self):
        # Mon 2026-11-02 → three weeks of working days later
        assert deadlines.review_due(D(2026, 11, 2)) == deadlines.DueDate(D(2026, 11, 23), False)

    def test_spring_festival_is_skipped_and_make_up_saturdays_count_r_cert_11(self):
        # Submitted Tue 2026-02-10. Sat 02-14 and Sat 02-28 are make-up working days;
        # 02-16..02-23 is the Spring Festival break.
        due = deadlines.review_due(D(2026, 2, 10))
        assert due == deadlines.DueDate(D(2026, 3, 9), False)

    def test_make_up_saturday_is_a_working_day_r_cert_11(self):
        assert deadlines.is_working_day(D(2026, 2, 14))  # Saturday, make-up day
        assert not deadlines.is_working_day(D(2026, 2, 21))  # plain Saturday
        assert not deadlines.is_working_day(D(2026, 2, 18))  # Wednesday in the holiday

    def test_submission_the_day_before_on_and_after_a_make_up_saturday_r_cert_11(self):
        # 2026-02-13 (Fri, day before), 02-14 (make-up Sat, day of), 02-15 (Sun, day after)
        before = deadlines.review_due(D(2026, 2, 13)).date
        on = deadlines.review_due(D(2026, 2, 14)).date
        after = deadlines.review_due(D(2026, 2, 15)).date
        assert (before, on, after) == (D(2026, 3, 12), D(2026, 3, 13), D(2026, 3, 13))

    def test_national_day_week_is_skipped_r_cert_11(self):
        # Submitted Wed 2026-09-30: 10-01..10-07 off, Sat 10-10 is a make-up day.
        assert deadlines.review_due(D(2026, 9, 30)) == deadlines.DueDate(D(2026, 10, 27), False)

    def test_unannounced_year_keeps_statutory_holidays_off_and_is_an_estimate_r_cert_11(self):
        """R-CERT-11 (Clarifications): in a year not yet announced the statutory holidays
        are days off, no make-up day is counted, and the date is an estimate."""
        assert not deadlines.is_announced_year(2027)
        due = deadlines.review_due(D(2026, 12, 21))
        # Mon 2026-12-21: 12-22..12-31 (8 days); Fri 2027-01-01 is New Year's Day, off.
        assert due == deadlines.DueDate(D(2027, 1, 12), True)

    def test_unannounced_year_due_date_never_lands_on_a_holiday_r_cert_11(self):
        """R-CERT-11: the issue's case — submitted 2026-12-11 was due on 2027-01-01."""
        assert deadlines.review_due(D(2026, 12, 11)) == deadlines.DueDate(D(2027, 1, 4), True)
        assert not deadlines.is_working_day(D(2027, 10, 1))  # National Day
        assert not deadlines.is_working_day(D(2027, 2, 9))  # Spring Festival
        assert deadlines.is_working_day(D(2027, 10, 8))  # a plain Friday
        start = D(2026, 1, 1)
        for offset in range(730):  # every 2026–27 submission
            due = deadlines.review_due(start + datetime.timedelta(days=offset)).date
            assert deadlines.is_working_day(due), due
            assert due not in deadlines._calendar(due.year), due  # never a public holiday

    def test_within_an_announced_year_the_date_is_not_an_estimate_r_cert_11(self):
        assert deadlines.is_announced_year(2026)
        assert deadlines.review_due(D(2026, 11, 2)).estimate is False


class TestResubmissionDeadline:
    """R-CERT-12: 30 calendar days counted from the rejection (each rejection its own)."""

    def test_thirty_calendar_days_including_holidays_r_cert_12(self):
        assert deadlines.resubmission_deadline(D(2026, 9, 20)) == D(2026, 10, 20)
        assert deadlines.resubmission_deadline(D(2026, 2, 1)) == D(2026, 3, 3)


class TestInvoiceDeadlines:
    """R-CERT-10: request a missing invoice within 30 days; invoice expected within 80."""

    def test_request_and_expected_by_count_from_completion_r_cert_10(self):
        assert deadlines.invoice_request_deadline(D(2026, 1, 10)) == D(2026, 2, 9)
        assert deadlines.invoice_expected_by(D(2026, 1, 10)) == D(2026, 3, 31)


class TestValidity:
    """R-POST-02: valid one year from the success day; reminder 3 months before."""

    def test_valid_until_one_year_after_success_r_post_02(self):
        assert deadlines.certification_valid_until(D(2026, 3, 15)) == D(2027, 3, 15)

    def test_leap_day_success_clamps_to_february_28_r_post_02(self):
        assert deadlines.certification_valid_until(D(2028, 2, 29)) == D(2029, 2, 28)

    def test_reminder_three_months_before_expiry_r_post_02(self):
        assert deadlines.annual_review_reminder_on(D(2027, 3, 15)) == D(2026, 12, 15)
        assert deadlines.annual_review_reminder_on(D(2027, 5, 31)) == D(2027, 2, 28)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-11-30T08:59:00+08:00", False),  # Monday before 09:00
        ("2026-11-30T09:00:00+08:00", True),
        ("2026-11-30T17:29:00+08:00", True),
        ("2026-11-30T17:30:00+08:00", False),
        ("2026-11-28T10:00:00+08:00", False),  # Saturday
        ("2026-10-02T10:00:00+08:00", False),  # National Day
        ("2026-10-10T10:00:00+08:00", False),  # make-up Saturday: Mon–Fri only
        ("2026-02-14T10:00:00+08:00", False),  # make-up Saturday
        ("2027-10-01T10:00:00+08:00", False),  # National Day of a year not announced
        ("2027-10-08T10:00:00+08:00", True),  # a plain Friday of that year
        ("2026-11-30T01:30:00+00:00", True),  # 09:30 in Shanghai
    ],
)
def test_review_company_open_on_working_days_in_shanghai_hours_r_cert_15(moment, expected):
    """R-CERT-15: "周一至周五(工作日)" — Monday to Friday when a working day, Shanghai time."""
    now = datetime.datetime.fromisoformat(moment)
    assert deadlines.is_open(now, datetime.time(9, 0), datetime.time(17, 30)) is expected


@pytest.mark.django_db
def test_the_four_review_companies_are_seeded_with_hotlines_r_cert_15():
    """The rows in the database after the seed migration, not the migration's constant."""
    from certification.models import ReviewCompany
    from certification.tests.factories import apply_seed_migration

    apply_seed_migration()  # a transactional test may have flushed the reused database
    hotlines = list(ReviewCompany.objects.order_by("pk").values_list("hotline", flat=True))
    assert hotlines == ["027-59757188", "021-33977660", "4000303908", "028-85182726"]
