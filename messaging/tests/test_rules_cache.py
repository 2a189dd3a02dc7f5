"""The callback's in-process rule cache: edits reach this process at once, others within ~1 s."""

import pytest

from accounts.tests.factories import OfficialAccountFactory
from messaging import selectors
from messaging.models import KeywordRule
from messaging.receiving import redis_client
from messaging.tests.factories import KeywordRuleFactory
from messaging.tests.pushes import build_push, open_reply, text_xml


def ask(client, account, msg_id):
    query, body = build_push(account, text_xml(account, "营业时间", msg_id=msg_id))
    response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
    return open_reply(account, response.content)["Content"]


@pytest.mark.django_db(transaction=True)
def test_rule_edits_invalidate_the_cache_in_this_and_other_processes(client):
    account = OfficialAccountFactory(message_mode="safe")
    rule = KeywordRuleFactory(account=account, pattern="营业时间", reply_text="A")
    assert ask(client, account, 1) == "A"

    # A change that bypasses the signals is not seen: the rules are really cached.
    KeywordRule.objects.filter(pk=rule.pk).update(reply_text="stale")
    assert ask(client, account, 2) == "A"

    # Saving through the model publishes a new version and drops this process's copy.
    rule.reply_text = "B"
    rule.save()
    assert ask(client, account, 3) == "B"

    # Another process saved (new version in Redis, our copy untouched): seen at the
    # next re-check, at most RULES_RECHECK_SECONDS later.
    KeywordRule.objects.filter(pk=rule.pk).update(reply_text="C")
    redis_client().set(selectors.rules_version_key(account.pk), "from-another-process")
    assert ask(client, account, 4) == "B"
    selectors._rules_cache[account.pk].checked_at -= selectors.RULES_RECHECK_SECONDS + 1
    assert ask(client, account, 5) == "C"


@pytest.mark.django_db(transaction=True)
def test_deleting_a_rule_takes_effect_at_once(client):
    account = OfficialAccountFactory(message_mode="plaintext")
    rule = KeywordRuleFactory(account=account, pattern="营业时间", reply_text="A")
    assert ask(client, account, 1) == "A"
    rule.delete()
    query, body = build_push(account, text_xml(account, "营业时间", msg_id=2))
    response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
    assert response.content == b"success"


@pytest.mark.django_db(transaction=True)
def test_changing_the_accounts_mode_takes_effect_at_once(client):
    account = OfficialAccountFactory(message_mode="plaintext")
    KeywordRuleFactory(account=account, pattern="营业时间", reply_text="A")
    assert ask(client, account, 1) == "A"
    account.message_mode = "safe"
    account.save()
    query, body = build_push(account, text_xml(account, "营业时间", msg_id=2), mode="plaintext")
    response = client.post(f"/wechat/{account.appid}/?{query}", data=body, content_type="text/xml")
    assert response.status_code == 400  # safe mode now refuses plain pushes
