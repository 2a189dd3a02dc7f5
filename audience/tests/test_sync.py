"""The full sync: pages, upserts, resumes after a kill without duplicates, reconciles (issue 24)."""

import pytest

from audience import services
from audience.models import Follower, SyncRun

pytestmark = pytest.mark.django_db(transaction=False)


def test_full_sync_stores_every_follower_once_with_a_summary(account, wx):
    wx.generate(12_345)
    run = services.run_sync(services.start_sync(account=account).pk)
    assert run.status == SyncRun.Status.DONE
    assert (run.total, run.seen, run.added, run.updated) == (12_345, 12_345, 12_345, 0)
    assert Follower.objects.filter(account=account, subscribed=True).count() == 12_345
    first = Follower.objects.get(account=account, openid=wx.state().openid_at(0))
    assert first.unionid and first.subscribe_time is not None


def test_a_killed_sync_resumes_from_its_cursor_without_duplicates(account, wx):
    wx.generate(20_000)
    run = services.start_sync(account=account)
    run = services.run_sync(run.pk, max_pages=1)  # the worker dies after one page
    assert run.status == SyncRun.Status.RUNNING and run.seen == 10_000
    assert run.next_openid == wx.state().openid_at(9_999)
    resumed = services.start_sync(account=account)
    assert resumed.pk == run.pk
    done = services.run_sync(resumed.pk)
    assert (done.status, done.seen, done.added) == (SyncRun.Status.DONE, 20_000, 20_000)
    assert Follower.objects.filter(account=account).count() == 20_000


def test_the_reconcile_marks_followers_wechat_no_longer_lists(account, wx):
    wx.generate(300)
    services.run_sync(services.start_sync(account=account).pk)
    gone = wx.state().openid_at(7)
    wx.state().unsubscribe(gone)
    run = services.run_sync(services.start_sync(account=account).pk)
    assert (run.updated, run.unsubscribed) == (299, 1)
    assert not Follower.objects.get(account=account, openid=gone).subscribed


def test_the_daily_quota_pauses_the_run_with_its_cursor_and_words(account, wx):
    wx.generate(15_000)
    wx.sb.app(account.appid).quotas["/cgi-bin/user/get"] = 1
    run = services.run_sync(services.start_sync(account=account).pk)
    assert run.status == SyncRun.Status.PAUSED and run.seen == 10_000
    assert "45009" in run.last_error


def test_a_resync_replaces_each_followers_tags_and_remark_with_wechats(account, wx):
    """The set-based upsert (PostgreSQL: one json page, RETURNING tells added from updated)
    stores WeChat's tags and remark, and a second run replaces them, never adds duplicates."""
    from audience.models import FollowerTag

    wx.generate(250)
    state = wx.state()
    first, second = state.openid_at(3), state.openid_at(200)
    state.info[first] = {"tagid_list": [100, 101], "remark": "老客户"}
    state.info[second] = {"tagid_list": [101]}
    services.run_sync(services.start_sync(account=account).pk)
    assert sorted(FollowerTag.objects.filter(follower__openid=first).values_list("tag_id", flat=True)) == [
        100,
        101,
    ]
    assert Follower.objects.get(account=account, openid=first).remark == "老客户"
    state.info[first] = {"tagid_list": [102], "remark": ""}
    run = services.run_sync(services.start_sync(account=account).pk)
    assert (run.added, run.updated) == (0, 250)
    assert list(FollowerTag.objects.filter(follower__openid=first).values_list("tag_id", flat=True)) == [102]
    assert list(FollowerTag.objects.filter(follower__openid=second).values_list("tag_id", flat=True)) == [101]
    assert FollowerTag.objects.filter(account=account).count() == 2
    assert Follower.objects.get(account=account, openid=first).remark == ""


def test_the_reconcile_reads_the_blacklist_back_from_wechat(account, wx):
    """members/getblacklist into Follower.blacklisted: set for the listed, cleared for the rest."""
    wx.generate(50)
    state = wx.state()
    listed, cleared = state.openid_at(1), state.openid_at(2)
    state.blacklist[listed] = None
    services.run_sync(services.start_sync(account=account).pk)
    Follower.objects.filter(account=account, openid=cleared).update(blacklisted=True)  # stale
    assert services.sync_blacklist(account=account) == 1
    assert set(
        Follower.objects.filter(account=account, blacklisted=True).values_list("openid", flat=True)
    ) == {listed}


def test_a_refused_blacklist_read_leaves_the_run_done_and_the_flags_untouched(account, wx):
    wx.generate(20)
    services.run_sync(services.start_sync(account=account).pk)
    Follower.objects.filter(account=account, openid=wx.state().openid_at(0)).update(blacklisted=True)
    wx.sb.app(account.appid).quotas["/cgi-bin/tags/members/getblacklist"] = 0
    run = services.run_sync(services.start_sync(account=account).pk)
    assert run.status == SyncRun.Status.DONE and run.errors == 1
    assert "45009" in run.last_error
    assert Follower.objects.filter(account=account, blacklisted=True).count() == 1


def test_a_synced_follower_row_updates_only_the_indexes_the_pages_need(db):
    """Each of the sync's million inserts pays every index of the table: there is none that
    another already serves (no index on ``account`` alone, ``qr_code`` only where set)."""
    from django.db import connection

    def indexes(table):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT array_agg(a.attname::text ORDER BY k.n), i.indpred IS NOT NULL "
                "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                "WHERE i.indrelid = %s::regclass GROUP BY i.indexrelid, i.indpred",
                [table],
            )
            return sorted((tuple(columns), partial) for columns, partial in cursor.fetchall())

    assert indexes("audience_follower") == sorted(
        [
            (("id",), False),
            (("account_id", "openid"), False),
            (("account_id", "subscribe_time", "id"), False),
            (("account_id", "subscribe_time", "id"), True),  # followers with a remark
            (("qr_code_id",), True),  # followers a code brought
        ]
    )
    assert indexes("audience_followertag") == sorted(
        [(("id",), False), (("follower_id", "tag_id"), False), (("account_id", "tag_id"), False)]
    )
