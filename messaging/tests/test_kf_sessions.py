"""Session events keep "who serves whom" current (R-KF-03) and are never transferred."""

import datetime

import pytest

from accounts.tests.factories import OfficialAccountFactory
from messaging.models import InboundMessage, KfSession, KfWaitCase, Route
from messaging.tests.factories import TransferRuleFactory
from messaging.tests.pushes import build_push, event_xml


def push(client, account, xml):
    query, body = build_push(account, xml)
    response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
    assert response.status_code == 200
    return response


@pytest.mark.django_db
def test_create_switch_close_session_events_r_kf_03(client):
    account = OfficialAccountFactory(
        kf_enabled=True, certified_until=datetime.date(2099, 1, 1), message_mode="plaintext"
    )
    TransferRuleFactory(account=account, match_type="any", pattern="")
    KfWaitCase.objects.create(
        account=account, openid="o_user", latest_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    )
    response = push(
        client,
        account,
        event_xml(
            account,
            "kf_create_session",
            openid="o_user",
            create_time=1_700_000_000,
            extra="<KfAccount>amy@demo</KfAccount>",
        ),
    )
    assert response.content == b"success"  # events are never transferred
    session = KfSession.objects.get(account=account, openid="o_user", status="open")
    assert session.kf_account == "amy@demo"
    assert not KfWaitCase.objects.filter(account=account).exists()

    push(
        client,
        account,
        event_xml(
            account,
            "kf_switch_session",
            openid="o_user",
            create_time=1_700_000_100,
            extra="<FromKfAccount>amy@demo</FromKfAccount><ToKfAccount>bob@demo</ToKfAccount>",
        ),
    )
    session.refresh_from_db()
    assert (session.kf_account, session.switched_from) == ("bob@demo", "amy@demo")

    push(
        client,
        account,
        event_xml(
            account,
            "kf_close_session",
            openid="o_user",
            create_time=1_700_000_200,
            extra="<KfAccount>bob@demo</KfAccount>",
        ),
    )
    session.refresh_from_db()
    assert session.status == "closed" and session.closed_at is not None
    assert set(InboundMessage.objects.values_list("route", flat=True)) == {Route.KF_EVENT}


@pytest.mark.django_db
def test_a_retried_session_event_is_applied_once(client):
    account = OfficialAccountFactory(message_mode="plaintext")
    xml = event_xml(
        account,
        "kf_create_session",
        openid="o_user",
        create_time=1_700_000_000,
        extra="<KfAccount>amy@demo</KfAccount>",
    )
    push(client, account, xml)
    push(client, account, xml)
    assert KfSession.objects.filter(account=account).count() == 1
