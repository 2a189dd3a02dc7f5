"""Fan-out: one menu to many accounts through a real Celery worker, with injected faults."""

import datetime
import time

import pytest

from accounts.tests.factories import OfficialAccountFactory
from menus import services
from menus.models import MenuVersion, VersionStatus
from menus.selectors import fanout_progress

from .menu_cases import CLICK, VIEW

MINIPROGRAM = {
    "type": "miniprogram",
    "name": "小程序",
    "url": "https://mp.weixin.qq.com",
    "appid": "wx286b93c14bbf93aa",
    "pagepath": "pages/index",
}
MENU = {"button": [{**CLICK, "reply": "你好"}, {"name": "更多", "sub_button": [VIEW, MINIPROGRAM]}]}


def wait_until_done(fanout, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = fanout_progress(fanout)
        if progress["done"]:
            return progress
        time.sleep(0.25)
    return fanout_progress(fanout)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fanout_to_20_accounts_with_faults_ends_with_none_pending(celery_worker_thread, wechat, operator):
    """Every account ends published or failed with a reason; quota and validation apply
    per account (miniprogram needs certification)."""
    certified_until = datetime.date(2099, 1, 1)
    accounts = [
        OfficialAccountFactory(assigned_staff=[operator], certified_until=certified_until) for _ in range(19)
    ]
    uncertified = OfficialAccountFactory(assigned_staff=[operator])
    for account in [*accounts, uncertified]:
        wechat(account)
    sandbox = wechat.sandbox
    sandbox.fail_rate = 0.25  # "system busy" (-1) on a quarter of all calls: retried
    sandbox.force_error("/cgi-bin/menu/create", 40007, times=1, appid=accounts[0].appid)
    sandbox.force_error("/cgi-bin/menu/create", "drop", times=2, appid=accounts[1].appid)

    fanout = services.fanout_start(data=MENU, accounts=[*accounts, uncertified], by=operator)
    progress = wait_until_done(fanout)

    assert progress["pending"] == 0, progress
    assert progress["published"] + progress["failed"] == 20
    versions = {
        v.menu.account_id: v for v in MenuVersion.objects.filter(fanout=fanout).select_related("menu")
    }
    for version in versions.values():
        if version.status == VersionStatus.FAILED:
            assert version.errcode is not None and version.errmsg and version.explanation
        else:
            assert version.status == VersionStatus.PUBLISHED
            live = sandbox.state(version.menu.account.appid)["menu"]["button"]
            assert [b["name"] for b in live] == ["今日歌曲", "更多"]
    assert versions[accounts[0].pk].errcode == 40007  # permanent: failed at once
    assert versions[accounts[0].pk].attempts == 1
    assert versions[uncertified.pk].errcode == 40120  # sub-button miniprogram, refused early
    assert versions[uncertified.pk].attempts == 0
    # dropped connections are retried (by the client when nothing was sent, else by the task)
    assert versions[accounts[1].pk].status == VersionStatus.PUBLISHED
    # with a 25 % failure rate and 6 attempts, (almost) every other account gets through
    assert progress["published"] >= 15
