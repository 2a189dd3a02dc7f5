"""Tag / untag ALL followers matching the list's filter: count first, then a chunked,
resumable job with progress (issue 24)."""

import pytest
from django.urls import reverse

from audience import bulk, services
from audience.models import BulkTagJob, Follower, FollowerTag


@pytest.fixture
def synced(account, wx):
    wx.generate(120)
    services.run_sync(services.start_sync(account=account).pk)
    # every third follower has a remark: the filter of these tests
    for follower in Follower.objects.filter(account=account).order_by("pk")[::3]:
        Follower.objects.filter(pk=follower.pk).update(remark=f"门店A{follower.pk}")
    return Follower.objects.filter(account=account)


@pytest.fixture
def vip(account, wx, operator):
    return services.create_tag(account=account, name="VIP", by=operator)


def test_the_page_shows_the_count_first_and_changes_nothing_before_confirming(
    client, operator, account, wx, synced, vip
):
    client.force_login(operator)
    url = reverse("admin:audience_follower_bulk")
    filters = f"account__id__exact={account.pk}&q=门店A"
    listed = client.get(reverse("admin:audience_follower_changelist") + "?" + filters).content.decode()
    assert 'data-testid="bulk-all-matching"' in listed and f"{url}?filters=" in listed
    page = client.get(url, {"filters": filters, "bulk_tag": vip.pk, "bulk_mode": "tag"})
    assert page.status_code == 200
    assert "40" in page.content.decode() and b'name="confirm" value="yes"' in page.content
    assert not BulkTagJob.objects.exists() and not wx.state().tag_counts.get(vip.wechat_id)

    done = client.post(url, {"filters": filters, "bulk_tag": vip.pk, "bulk_mode": "tag", "confirm": "yes"})
    job = BulkTagJob.objects.get()
    assert done.status_code == 302 and done["Location"].endswith(f"/{job.pk}/change/")
    assert (job.total, job.status) == (40, BulkTagJob.Status.RUNNING)
    job = bulk.run_job(job.pk)
    assert (job.status, job.processed, job.changed, job.skipped) == (BulkTagJob.Status.DONE, 40, 40, 0)
    remarked = set(synced.exclude(remark="").values_list("openid", flat=True))
    assert {o for o in remarked if vip.wechat_id in wx.state().user_tags(o)} == remarked
    assert FollowerTag.objects.filter(tag_id=vip.wechat_id).count() == 40
    assert client.get(reverse("admin:audience_bulktagjob_change", args=[job.pk])).status_code == 200


def test_a_killed_job_resumes_from_its_cursor_and_skips_who_already_has_the_tag(
    account, wx, synced, vip, operator, monkeypatch
):
    monkeypatch.setattr(bulk, "CHUNK", 50)
    job = bulk.start_job(queryset=Follower.objects.all(), tag=vip, untag=False, by=operator)
    job = bulk.run_job(job.pk, max_chunks=1)  # the worker dies after one chunk
    assert (job.status, job.processed, job.changed) == (BulkTagJob.Status.RUNNING, 50, 50)
    first_cursor = job.cursor
    # a second worker re-sent the first chunk meanwhile: tagging it again changes nothing
    job = bulk.run_job(job.pk)
    assert job.cursor != first_cursor
    assert (job.status, job.processed, job.changed) == (BulkTagJob.Status.DONE, 120, 120)
    assert wx.state().tag_counts[vip.wechat_id] == 120
    everyone = Follower.objects.all()
    again = bulk.run_job(bulk.start_job(queryset=everyone, tag=vip, untag=False, by=operator).pk)
    assert (again.changed, again.skipped) == (0, 120)  # everyone has it: no call
    remarked = synced.exclude(remark="")
    untag = bulk.run_job(bulk.start_job(queryset=remarked, tag=vip, untag=True, by=operator).pk)
    assert (untag.status, untag.changed) == (BulkTagJob.Status.DONE, 40)
    assert wx.state().tag_counts[vip.wechat_id] == 80


def test_a_refusal_stops_the_job_in_words_and_it_can_be_resumed(account, wx, synced, vip, operator):
    job = bulk.start_job(queryset=Follower.objects.all(), tag=vip, untag=False, by=operator)
    wx.sb.force_error("/cgi-bin/tags/members/batchtagging", 45009, times=1, appid=account.appid)
    job = bulk.run_job(job.pk)
    assert job.status == BulkTagJob.Status.PAUSED and "45009" in job.last_error
    assert job.processed == 0
    assert bulk.resume(job)
    job = bulk.run_job(job.pk)
    assert (job.status, job.processed) == (BulkTagJob.Status.DONE, 120)
    assert wx.state().tag_counts[vip.wechat_id] == 120


def test_followers_with_twenty_tags_are_skipped_and_counted(account, wx, synced, vip, operator):
    full = synced.order_by("pk").first()
    FollowerTag.objects.bulk_create(
        [FollowerTag(follower=full, account=account, tag_id=300 + i) for i in range(20)]
    )
    job = bulk.run_job(bulk.start_job(queryset=Follower.objects.all(), tag=vip, untag=False, by=operator).pk)
    assert (job.status, job.changed, job.skipped) == (BulkTagJob.Status.DONE, 119, 1)


def test_nothing_matching_or_another_accounts_followers_start_no_job(account, wx, synced, vip, operator):
    with pytest.raises(services.AudienceError):
        bulk.start_job(queryset=Follower.objects.filter(remark="无此人"), tag=vip, untag=False, by=operator)
    assert not BulkTagJob.objects.exists()


def test_a_stale_running_job_is_requeued_by_the_sweeper(account, wx, synced, vip, operator):
    import datetime

    from django.utils import timezone

    job = bulk.start_job(queryset=Follower.objects.all(), tag=vip, untag=False, by=operator)
    assert bulk.claim_stale_jobs() == []
    later = timezone.now() + bulk.STALE_AFTER + datetime.timedelta(seconds=1)
    assert bulk.claim_stale_jobs(now=later) == [job.pk]
    assert bulk.claim_stale_jobs(now=later) == []  # claimed: the next sweep waits again
    BulkTagJob.objects.filter(pk=job.pk).update(status=BulkTagJob.Status.DONE)
    assert bulk.claim_stale_jobs(now=later + bulk.STALE_AFTER * 2) == []
