"""WeChat retries: one log row per push, the same reply every time, across threads."""

import threading

import pytest
import requests

from accounts.tests.factories import OfficialAccountFactory
from messaging.models import InboundMessage
from messaging.tests.factories import KeywordRuleFactory, WelcomeReplyFactory
from messaging.tests.pushes import build_push, event_xml, flush_log, open_reply, text_xml


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_same_message_three_times_gives_one_row_and_three_identical_replies(live_server, mode):
    account = OfficialAccountFactory(message_mode=mode)
    KeywordRuleFactory(account=account, pattern="你好", reply_text="您好")
    xml = text_xml(account, "你好", msg_id=555)
    replies = []
    for _ in range(3):
        query, body = build_push(account, xml)  # WeChat signs each retry afresh
        response = requests.post(f"{live_server.url}/wechat/{account.appid}/?{query}", data=body, timeout=10)
        assert response.status_code == 200
        replies.append(open_reply(account, response.content))
    assert flush_log() == 1
    assert InboundMessage.objects.filter(account=account).count() == 1
    assert replies[0] == replies[1] == replies[2]
    assert replies[0]["Content"] == "您好"


@pytest.mark.django_db
def test_retried_event_is_stored_once(client):
    account = OfficialAccountFactory(message_mode="plaintext")
    WelcomeReplyFactory(account=account, reply_text="欢迎")
    xml = event_xml(account, "subscribe", create_time=1_700_000_000)
    bodies = set()
    for _ in range(3):
        # Redis forgets between retries here: the database constraint still holds.
        from messaging.receiving import redis_client

        redis_client().flushdb()
        query, body = build_push(account, xml)
        response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
        bodies.add(response.content)
    assert InboundMessage.objects.filter(account=account).count() == 1
    assert len(bodies) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_same_msgid_from_eight_threads_at_once_gives_one_row(live_server, mode):
    account = OfficialAccountFactory(message_mode=mode)
    KeywordRuleFactory(account=account, pattern="并发", reply_text="同一个回复")
    xml = text_xml(account, "并发", msg_id=777)
    barrier = threading.Barrier(8)
    results: list = []
    lock = threading.Lock()

    def send():
        query, body = build_push(account, xml)
        session = requests.Session()
        barrier.wait()
        response = session.post(f"{live_server.url}/wechat/{account.appid}/?{query}", data=body, timeout=20)
        with lock:
            results.append((response.status_code, open_reply(account, response.content)))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in results] == [200] * 8
    assert all(reply == results[0][1] for _, reply in results)
    assert results[0][1]["Content"] == "同一个回复"
    assert flush_log() == 1
    assert InboundMessage.objects.filter(account=account).count() == 1


@pytest.mark.django_db
def test_same_msgid_on_two_accounts_is_two_rows(client):
    first = OfficialAccountFactory(message_mode="plaintext")
    second = OfficialAccountFactory(message_mode="plaintext")
    for account in (first, second):
        query, body = build_push(account, text_xml(account, "hi", msg_id=42))
        assert (
            client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml").status_code
            == 200
        )
    assert InboundMessage.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_retry_redis_forgot_is_stored_once_with_the_queue(client):
    """Outside any transaction the row goes through the Redis queue; a retry whose claim
    Redis forgot is queued again and the database's unique constraint drops it."""
    from messaging.receiving import redis_client

    account = OfficialAccountFactory(message_mode="plaintext")
    KeywordRuleFactory(account=account, pattern="你好", reply_text="您好")
    xml = text_xml(account, "你好", msg_id=4242)
    replies = []
    for _ in range(3):
        for key in redis_client().scan_iter("wxadmin:messaging:push:*"):
            redis_client().delete(key)  # Redis forgot the claim, not the queued rows
        query, body = build_push(account, xml)
        response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
        assert response.status_code == 200
        replies.append(open_reply(account, response.content))
    assert replies[0]["Content"] == replies[1]["Content"] == replies[2]["Content"] == "您好"
    flush_log()
    row = InboundMessage.objects.get(account=account)
    assert (row.msg_id, row.content, row.reply_summary) == (4242, "你好", "您好")
    assert row.raw["MsgId"] == "4242"


@pytest.mark.django_db
def test_claim_works_without_set_nx_get_for_redis_before_7(client, monkeypatch):
    """Older Redis servers reject SET … NX GET; the pipeline fallback keeps one row."""
    from messaging import receiving

    monkeypatch.setattr(receiving, "_set_nx_get", False)
    account = OfficialAccountFactory(message_mode="plaintext")
    KeywordRuleFactory(account=account, pattern="你好", reply_text="您好")
    xml = text_xml(account, "你好", msg_id=99)
    bodies = set()
    for _ in range(3):
        query, body = build_push(account, xml)
        bodies.add(
            client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml").content
        )
    assert len(bodies) == 1
    assert InboundMessage.objects.filter(account=account).count() == 1


@pytest.mark.django_db(transaction=True)
def test_callback_keeps_answering_and_deduplicating_when_redis_is_down(client, settings):
    account = OfficialAccountFactory(message_mode="safe")
    KeywordRuleFactory(account=account, pattern="你好", reply_text="您好")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    xml = text_xml(account, "你好", msg_id=31337)
    replies = []
    for _ in range(3):
        query, body = build_push(account, xml)
        response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
        assert response.status_code == 200
        replies.append(open_reply(account, response.content))
    assert replies[0] == replies[1] == replies[2]
    assert replies[0]["Content"] == "您好"
    assert InboundMessage.objects.filter(account=account).count() == 1
