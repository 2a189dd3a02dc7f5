"""The datacube client against the sandbox over loopback HTTP (protocol §h "Statistics"):
spans, the 08:00 rule, deterministic figures, day faults and the quota."""

import datetime

import pytest
import requests

from wechat.api import datacube
from wechat.errors import WeChatError
from wechat.tests.conftest import APPID
from wechat.tests.test_client import make_client
from wechat_sandbox.areas.datacube import figures

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
# 2026-12-07 09:00 Beijing: yesterday (12-06) is available
NOW = datetime.datetime(2026, 12, 7, 9, 0, tzinfo=BEIJING)


@pytest.fixture
def client(sb, redis_client):
    sb.clock = NOW.timestamp
    return make_client(sb, redis_client, max_attempts=1)


def day(text):
    return datetime.date.fromisoformat(text)


def errcode(call, *args):
    with pytest.raises(WeChatError) as caught:
        call(*args)
    return caught.value.errcode


def test_available_until_is_yesterday_from_eight_beijing():
    assert datacube.available_until(NOW) == day("2026-12-06")
    assert datacube.available_until(NOW.replace(hour=7, minute=59)) == day("2026-12-05")
    # 00:30 UTC is 08:30 in Beijing
    assert datacube.available_until(datetime.datetime(2026, 12, 7, 0, 30, tzinfo=datetime.UTC)) == day(
        "2026-12-06"
    )


def test_user_summary_answers_the_generated_figures_for_seven_days(client):
    rows = datacube.user_summary(client, day("2026-11-30"), day("2026-12-06"))
    assert {r["ref_date"] for r in rows} <= {f"2026-1{m}-{d:02d}" for m in (1, 2) for d in range(1, 31)}
    expected = sum(
        r["new_user"]
        for d in range(7)
        for r in figures(APPID, "getusersummary", day("2026-11-30") + datetime.timedelta(days=d))
    )
    assert sum(r["new_user"] for r in rows) == expected > 0
    again = datacube.user_summary(client, day("2026-11-30"), day("2026-12-06"))
    assert again == rows  # deterministic per (appid, day)


def test_cumulate_grows_by_the_daily_net(client):
    rows = datacube.user_cumulate(client, day("2026-12-01"), day("2026-12-02"))
    first, second = (r["cumulate_user"] for r in rows)
    net = sum(
        r["new_user"] - r["cancel_user"]
        for r in datacube.user_summary(client, day("2026-12-02"), day("2026-12-02"))
    )
    assert second - first == net


def test_spans_are_refused_with_61501_by_wechat_and_before_the_call_by_the_client(client, sb):
    with pytest.raises(ValueError, match="1 to 7 days"):
        datacube.user_summary(client, day("2026-11-01"), day("2026-11-08"))
    answer = requests.post(
        f"{sb.base_url}/datacube/getusersummary",
        params={"access_token": client._token()},
        json={"begin_date": "2026-11-01", "end_date": "2026-11-08"},
        timeout=5,
    ).json()
    assert answer["errcode"] == 61501
    assert len(datacube.interface_summary(client, day("2026-11-07"), day("2026-12-06"))) == 30


def test_today_and_yesterday_before_eight_are_refused(client, sb):
    assert errcode(datacube.user_summary, client, day("2026-12-07"), day("2026-12-07")) == 61501
    sb.clock = NOW.replace(hour=7, minute=59).timestamp
    assert errcode(datacube.user_summary, client, day("2026-12-06"), day("2026-12-06")) == 61501
    assert datacube.user_summary(client, day("2026-12-05"), day("2026-12-05")) == [
        {"ref_date": "2026-12-05", **r} for r in figures(APPID, "getusersummary", day("2026-12-05"))
    ]


def test_a_faulty_day_fails_every_call_holding_it_and_days_before_since_have_no_data(client, sb):
    control = f"{sb.base_url}/sandbox/datacube/{APPID}"
    requests.post(
        control, json={"fault": {"day": "2026-12-03", "errcode": -1, "api": "getusersummary"}}, timeout=5
    )
    assert errcode(datacube.user_summary, client, day("2026-12-01"), day("2026-12-04")) == -1
    assert datacube.user_summary(client, day("2026-12-04"), day("2026-12-04"))
    assert datacube.user_cumulate(client, day("2026-12-03"), day("2026-12-03"))  # other APIs answer
    requests.post(control, json={"clear": True, "since": "2026-12-05"}, timeout=5)
    rows = datacube.user_cumulate(client, day("2026-11-30"), day("2026-12-06"))
    assert [r["ref_date"] for r in rows] == ["2026-12-05", "2026-12-06"]
    assert datacube.user_summary(client, day("2026-11-28"), day("2026-12-04")) == []


def test_bizsummary_is_one_day_with_delay_flag(client, sb):
    answer = datacube.biz_summary(client, day("2026-12-06"), day("2026-12-06"))
    detail = answer["list"][0]["detail"]
    assert answer["is_delay"] is False
    assert detail["read_user"] == sum(
        s["read_user"] for s in detail["read_user_source"] if s["user_source"] != 99999999
    )
    requests.post(f"{sb.base_url}/sandbox/datacube/{APPID}", json={"delay": "2026-12-06"}, timeout=5)
    assert datacube.biz_summary(client, day("2026-12-06"), day("2026-12-06"))["is_delay"] is True


def test_calls_count_against_the_daily_quota(client, sb):
    sb.app(APPID).quotas["/datacube/getusercumulate"] = 2
    datacube.user_cumulate(client, day("2026-12-06"), day("2026-12-06"))
    datacube.user_cumulate(client, day("2026-12-05"), day("2026-12-05"))
    assert errcode(datacube.user_cumulate, client, day("2026-12-04"), day("2026-12-04")) == 45009
    assert sb.state(APPID)["calls_today"]["/datacube/getusercumulate"] == 2
