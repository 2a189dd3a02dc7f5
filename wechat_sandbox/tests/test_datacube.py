"""The datacube area over HTTP: WeChat's date errors and the fault helper's bad input."""

import datetime

import requests

from wechat.tests.conftest import APPID, SECRET

BEIJING = datetime.timezone(datetime.timedelta(hours=8))


def token(sb):
    return requests.get(
        f"{sb.base_url}/cgi-bin/token",
        params={"grant_type": "client_credential", "appid": APPID, "secret": SECRET},
        timeout=5,
    ).json()["access_token"]


def test_malformed_dates_answer_61500_and_reversed_ranges_61501(sb):
    sb.clock = datetime.datetime(2026, 12, 7, 9, tzinfo=BEIJING).timestamp
    url = f"{sb.base_url}/datacube/getupstreammsg"
    params = {"access_token": token(sb)}
    assert (
        requests.post(
            url, params=params, json={"begin_date": "2026/12/01", "end_date": "2026-12-02"}, timeout=5
        ).json()["errcode"]
        == 61500
    )
    assert (
        requests.post(
            url, params=params, json={"begin_date": "2026-12-03", "end_date": "2026-12-02"}, timeout=5
        ).json()["errcode"]
        == 61501
    )
    answer = requests.post(
        url, params=params, json={"begin_date": "2014-11-25", "end_date": "2014-12-01"}, timeout=5
    ).json()
    assert {r["ref_date"] for r in answer["list"]} <= {"2014-12-01"}


def test_fault_helper_refuses_a_fault_without_day_or_code(sb):
    answer = requests.post(
        f"{sb.base_url}/sandbox/datacube/{APPID}", json={"fault": {"day": "x"}}, timeout=5
    ).json()
    assert answer["errcode"] == 40097
    answer = requests.post(f"{sb.base_url}/sandbox/datacube/wxunknown", json={}, timeout=5).json()
    assert answer["errcode"] == 40013
    requests.post(
        f"{sb.base_url}/sandbox/datacube/{APPID}",
        json={"fault": {"day": "2026-12-01", "errcode": 61501}},
        timeout=5,
    )
    assert sb.state(APPID)["datacube"]["faults"]["2026-12-01"]["errcode"] == 61501
