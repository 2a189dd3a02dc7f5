"""The monthly client report (issue 28): a printable page in Chinese and its PDF, kept, listed,
downloadable by staff who see the whole entity; made on demand and by the monthly task."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from accounts.tests.factories import EntityFactory, OfficialAccountFactory, UserFactory
from insights import reports
from insights.models import Report

from .factories import figures

pytestmark = pytest.mark.django_db

NOV = datetime.date(2026, 11, 1)


@pytest.fixture
def entity(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    entity = EntityFactory(short_name="示例客户")
    for name in ("甲号", "乙号"):
        account = OfficialAccountFactory(entity=entity, name=name)
        figures(account, datetime.date(2026, 10, 1), 61, {"user.new": 10, "user.cumulate": 1000})
        figures(account, datetime.date(2026, 10, 1), 61, {"menu.click": 4}, source="own")
    return entity


def test_the_page_is_chinese_with_each_account_and_says_what_is_missing(entity, client, admin_user):
    html = reports.render_html(entity, NOV, today=datetime.date(2026, 12, 7))
    assert "甲号" in html and "乙号" in html
    assert "新增关注" in html  # Chinese whatever the staff member's language
    assert "<svg" in html
    assert (
        "本系统统计的数据" in html and "尚未汇总" in html
    )  # no rollup days recorded: said, not shown as zeros


def test_generating_keeps_a_pdf_downloadable_by_who_sees_the_whole_entity(entity, client):
    report = Report.objects.create(entity=entity, month=NOV)
    done = reports.generate(report.pk, today=datetime.date(2026, 12, 7))
    assert done.status == "done" and done.accounts == 2
    assert done.file.read(5) == b"%PDF-"
    first, second = entity.accounts.order_by("name")
    partial = UserFactory(groups=["Operators"])
    first.assigned_staff.add(partial)
    whole = UserFactory(groups=["Operators"])
    first.assigned_staff.add(whole)
    second.assigned_staff.add(whole)
    download = reverse("admin:insights_report_download", args=[report.pk])
    client.force_login(partial)
    assert client.get(download).status_code == 403
    client.force_login(whole)
    response = client.get(download)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    listing = client.get(reverse("admin:insights_report_changelist")).content.decode()
    assert "示例客户" in listing
    stranger = UserFactory(groups=["Operators"])
    client.force_login(stranger)
    assert "示例客户" not in client.get(reverse("admin:insights_report_changelist")).content.decode()
    assert client.get(download).status_code == 403


def test_generating_again_replaces_the_file(entity):
    report = Report.objects.create(entity=entity, month=NOV)
    first = reports.generate(report.pk).file.name
    second = reports.generate(report.pk).file.name
    assert Report.objects.count() == 1
    storage = Report.objects.get().file.storage
    assert storage.exists(second) and (first == second or not storage.exists(first))


def test_staff_request_a_report_and_a_bad_month_changes_nothing(
    entity, client, django_capture_on_commit_callbacks
):
    user = UserFactory(groups=["Operators"])
    for account in entity.accounts.all():
        account.assigned_staff.add(user)
    client.force_login(user)
    add = reverse("admin:insights_report_add")
    for bad in ("2026-13", "next month", "2999-01"):
        response = client.post(add, {"entity": entity.pk, "month": bad})
        assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert Report.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(add, {"entity": entity.pk, "month": "2026-11"})
    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.month, report.status, report.created_by) == (NOV, "pending", user)
    assert len(queued) == 1


def test_the_monthly_task_queues_each_entity_once(entity, django_capture_on_commit_callbacks):
    EntityFactory()  # no account: no report
    with django_capture_on_commit_callbacks(execute=False):
        assert reports.generate_month(month=NOV) == 1
    Report.objects.update(status="done")
    with django_capture_on_commit_callbacks(execute=False):
        assert reports.generate_month(month=NOV) == 0  # a second run changes nothing


def test_a_request_whose_task_was_lost_is_queued_again(entity, django_capture_on_commit_callbacks):
    from django.utils import timezone

    report = Report.objects.create(entity=entity, month=NOV)
    later = timezone.now() + datetime.timedelta(minutes=11)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert reports.requeue_stale(now=timezone.now()) == 0  # just asked for: its task may be running
        assert reports.requeue_stale(now=later) == 1
    assert len(queued) == 1
    Report.objects.filter(pk=report.pk).update(status="done")
    assert reports.requeue_stale(now=later) == 0
