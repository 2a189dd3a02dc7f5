"""Publishing (issue 25, R-CONTENT-04): the intent first, the job followed by freepublish/get
and by the PUBLISHJOBFINISH push, the URL recorded, refusals in words, nothing half-written."""

import pytest
import requests

from content.drafts import draft_push, draft_save
from content.errors import ContentError
from content.models import DraftStatus, Publication, PublicationStatus
from content.publishing import apply_event, publication_poll, publish_submit
from content.tests.conftest import article


@pytest.fixture
def pushed(wechat, account, operator, cover):
    return draft_push(
        draft=draft_save(account=account, articles=[article(cover)], by=operator).draft, by=operator
    )


def outcome(wechat, account, **body):
    requests.post(f"{wechat.base_url}/sandbox/drafts/{account.appid}/outcome", json=body, timeout=5)


def test_a_draft_must_be_on_wechat_before_it_is_published(wechat, account, operator, cover):
    draft = draft_save(account=account, articles=[article(cover)], by=operator).draft
    with pytest.raises(ContentError) as caught:
        publish_submit(draft=draft, by=operator)
    assert "Send the draft to WeChat first" in caught.value.user_message
    assert not Publication.objects.exists()


def test_a_publish_is_polled_to_success_and_the_article_url_recorded(wechat, account, operator, pushed):
    publication = publish_submit(draft=pushed, by=operator)
    assert publication.status == PublicationStatus.PUBLISHING and publication.publish_id
    publication_poll(publication.pk)
    publication.refresh_from_db()
    pushed.refresh_from_db()
    assert publication.status == PublicationStatus.PUBLISHED and pushed.status == DraftStatus.PUBLISHED
    assert publication.url == f"http://mp.weixin.qq.com/s/{publication.publish_id}_1"


def test_a_review_refusal_fails_the_publication_in_words_and_gives_the_draft_back(
    wechat, account, operator, pushed, settings
):
    outcome(wechat, account, status=4, fail_idx=[1])
    publication = publish_submit(draft=pushed, by=operator)
    publication_poll(publication.pk)
    publication.refresh_from_db()
    pushed.refresh_from_db()
    assert publication.status == PublicationStatus.FAILED and publication.fail_idx == [1]
    assert "review refused" in publication.error
    assert pushed.status == DraftStatus.SYNCED  # it can be fixed and published again
    settings.LANGUAGE_CODE = "zh-hans"
    from django.utils import translation

    with translation.override("zh-hans"):
        from content.publishing import STATUS_WORDS

        assert "审核" in str(STATUS_WORDS[4])


def test_a_submit_wechat_refuses_leaves_no_open_publication(wechat, account, operator, pushed):
    wechat.force_error("/cgi-bin/freepublish/submit", 53503, times=1)
    with pytest.raises(ContentError):
        publish_submit(draft=pushed, by=operator)
    publication = Publication.objects.get()
    pushed.refresh_from_db()
    assert publication.status == PublicationStatus.FAILED and pushed.status == DraftStatus.SYNCED


def test_the_event_and_the_poll_agree_and_a_repeated_event_changes_nothing(wechat, account, operator, pushed):
    outcome(wechat, account, status=0, delay=3600)
    publication = publish_submit(draft=pushed, by=operator)
    publication_poll(publication.pk)
    publication.refresh_from_db()
    assert publication.status == PublicationStatus.PUBLISHING
    info = {
        "publish_id": publication.publish_id,
        "publish_status": "0",
        "article_id": "art_1",
        "article_detail": {
            "count": "1",
            "item": {"idx": "1", "article_url": "http://mp.weixin.qq.com/s/abc"},
        },
    }
    assert apply_event(account=account, info=info)
    apply_event(account=account, info={**info, "publish_status": "3"})  # late, contradicting: ignored
    publication.refresh_from_db()
    assert (publication.status, publication.url) == (
        PublicationStatus.PUBLISHED,
        "http://mp.weixin.qq.com/s/abc",
    )


@pytest.mark.django_db(transaction=True)
def test_publishjobfinish_pushed_by_the_sandbox_reaches_the_publication_through_the_callback(
    sandbox, settings, redis_client, live_server
):
    """The whole loop over HTTP: the sandbox pushes PUBLISHJOBFINISH to our callback, the
    handler registered through messaging.event_hooks records it."""
    import datetime

    from accounts.tests.factories import OfficialAccountFactory, UserFactory
    from content.library import material_upload
    from content.tests.conftest import JPEG, register

    operator = UserFactory(groups=["Operators"])
    account = OfficialAccountFactory(assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1))
    settings.WECHAT_API_BASE = sandbox.base_url
    register(sandbox, account)
    sandbox.app(account.appid).callback_url = f"{live_server.url}/wechat/{account.appid}/"
    cover = material_upload(account=account, kind="thumb", filename="c.jpg", data=JPEG, by=operator)
    draft = draft_push(
        draft=draft_save(account=account, articles=[article(cover)], by=operator).draft, by=operator
    )
    outcome(sandbox, account, status=0, delay=3600)
    publication = publish_submit(draft=draft, by=operator)
    answer = requests.post(
        f"{sandbox.base_url}/sandbox/drafts/{account.appid}/finish", json={}, timeout=10
    ).json()
    assert answer == {"pushed": 1, "failed": 0}
    publication.refresh_from_db()
    assert publication.status == PublicationStatus.PUBLISHED and publication.url.startswith(
        "http://mp.weixin.qq.com/s/"
    )
