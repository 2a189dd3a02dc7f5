"""Articles and drafts (issue 25): R-CONTENT-05 a cover from the library, R-CONTENT-02 bodies
reduced to WeChat's HTML with the removals said, versions, draft/add then draft/update with
the intent first and an unknown outcome settled by reading WeChat back (R-CONTENT-03), copy."""

import base64
import datetime

import pytest

from content.drafts import draft_copy, draft_delete, draft_push, draft_save, draft_settle
from content.errors import ContentError
from content.models import Draft, DraftStatus, DraftVersion, Material
from content.tests.conftest import JPEG, PNG, article, register


def test_r_content_05_a_draft_without_a_cover_or_with_another_accounts_cover_is_refused(
    wechat, account, operator, cover
):
    with pytest.raises(ContentError) as caught:
        draft_save(account=account, articles=[article(cover, thumb_media_id="")], by=operator)
    assert "cover" in caught.value.user_message
    with pytest.raises(ContentError):
        draft_save(account=account, articles=[article(cover, thumb_media_id="sbm_someone_else")], by=operator)
    assert not Draft.objects.exists()


def test_r_content_02_scripts_iframes_and_outside_images_are_removed_and_said(
    wechat, account, operator, cover
):
    body = (
        '<p onclick="steal()">你好<script>alert(1)</script></p><iframe src="https://evil.example"></iframe>'
        '<img src="https://elsewhere.example/a.png"><a href="javascript:alert(1)">链接</a>'
    )
    saved = draft_save(account=account, articles=[article(cover, content=body)], by=operator)
    html = saved.draft.articles[0]["content"]
    assert (
        "script" not in html and "iframe" not in html and "onclick" not in html and "javascript" not in html
    )
    assert "elsewhere" not in html and "你好" in html
    said = " ".join(saved.notes)
    assert "<script> ×1" in said and "<iframe> ×1" in said and "event handlers" in said and "1 images" in said


def test_a_pasted_image_is_uploaded_with_uploadimg_and_its_src_replaced(wechat, account, operator, cover):
    pasted = base64.b64encode(PNG).decode()
    saved = draft_save(
        account=account,
        articles=[article(cover, content=f'<p><img src="data:image/png;base64,{pasted}"></p>')],
        by=operator,
    )
    html = saved.draft.articles[0]["content"]
    assert 'src="http://mmbiz.qpic.cn/sandbox/body_' in html and "data:" not in html
    assert wechat.state(account.appid)["materials"]["body_images"] == 1


def test_saves_are_versions_and_a_push_adds_then_updates_the_wechat_draft(wechat, account, operator, cover):
    saved = draft_save(
        account=account, articles=[article(cover), article(cover, title="第二篇")], by=operator
    )
    draft = draft_push(draft=saved.draft, by=operator)
    assert draft.status == DraftStatus.SYNCED and draft.media_id and draft.pushed_version == 1
    again = draft_save(
        account=account,
        draft=draft,
        articles=[article(cover, title="改了"), article(cover, title="第二篇")],
        by=operator,
    )
    assert again.version == 2 and again.draft.status == DraftStatus.CHANGED
    pushed = draft_push(draft=again.draft, by=operator)
    assert pushed.media_id == draft.media_id and pushed.pushed_version == 2
    state = wechat.state(account.appid)["drafts"]
    assert state["draft_count"] == 1 and [a["title"] for a in state["drafts"][0]["articles"]] == [
        "改了",
        "第二篇",
    ]
    assert list(DraftVersion.objects.values_list("number", flat=True)) == [2, 1]


def test_a_refused_push_is_failed_with_words_and_the_draft_kept(wechat, account, operator, cover):
    saved = draft_save(account=account, articles=[article(cover)], by=operator)
    wechat.force_error("/cgi-bin/draft/add", 45002, times=1)
    with pytest.raises(ContentError) as caught:
        draft_push(draft=saved.draft, by=operator)
    saved.draft.refresh_from_db()
    assert saved.draft.status == DraftStatus.FAILED and "45002" in saved.draft.error
    assert "too long" in caught.value.user_message
    assert draft_push(draft=saved.draft, by=operator).status == DraftStatus.SYNCED


def test_r_content_03_an_unanswered_add_is_unknown_and_settled_from_batchget(
    wechat, account, operator, cover
):
    saved = draft_save(account=account, articles=[article(cover)], by=operator)
    wechat.force_error("/cgi-bin/draft/add", "drop", times=1)
    with pytest.raises(ContentError):
        draft_push(draft=saved.draft, by=operator)
    saved.draft.refresh_from_db()
    assert saved.draft.status == DraftStatus.UNKNOWN
    # not on WeChat (the connection dropped before): settled as not sent, nothing invented
    assert draft_settle(draft=saved.draft).status == DraftStatus.LOCAL
    # WeChat did add it: the settle finds it by its titles and adopts its media_id
    from accounts.wechat_api import client_for
    from wechat.api import drafts as wx

    media_id = wx.add(client_for(account), [{**saved.draft.articles[0]}])
    Draft.objects.filter(pk=saved.draft.pk).update(status=DraftStatus.UNKNOWN)
    saved.draft.refresh_from_db()
    settled = draft_settle(draft=saved.draft)
    assert (settled.status, settled.media_id) == (DraftStatus.SYNCED, media_id)


def test_two_pushes_never_run_at_once(wechat, account, operator, cover):
    saved = draft_save(account=account, articles=[article(cover)], by=operator)
    Draft.objects.filter(pk=saved.draft.pk).update(status=DraftStatus.PUSHING)
    with pytest.raises(ContentError):
        draft_push(draft=saved.draft, by=operator)
    assert wechat.state(account.appid)["drafts"]["draft_count"] == 0


def test_a_draft_is_copied_to_another_account_with_its_cover_in_that_library(
    wechat, account, operator, cover
):
    from accounts.tests.factories import OfficialAccountFactory

    other = OfficialAccountFactory(assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1))
    register(wechat, other)
    saved = draft_save(account=account, articles=[article(cover)], by=operator)
    result = draft_copy(draft=saved.draft, targets=[other], by=operator)
    [copy] = result.copied
    assert copy.account == other and copy.status == DraftStatus.LOCAL and copy.copied_from == saved.draft
    new_cover = Material.objects.get(account=other)
    assert copy.articles[0]["thumb_media_id"] == new_cover.media_id != cover.media_id
    assert draft_push(draft=copy, by=operator).status == DraftStatus.SYNCED


def test_a_copy_to_an_account_not_assigned_fails_for_that_account_only(wechat, account, operator, cover):
    from accounts.tests.factories import OfficialAccountFactory

    mine = OfficialAccountFactory(assigned_staff=[operator], certified_until=datetime.date(2099, 1, 1))
    theirs = OfficialAccountFactory(certified_until=datetime.date(2099, 1, 1))
    register(wechat, mine)
    saved = draft_save(account=account, articles=[article(cover)], by=operator)
    result = draft_copy(draft=saved.draft, targets=[theirs, mine], by=operator)
    assert [d.account for d in result.copied] == [mine] and [a for a, _w in result.failed] == [theirs]
    assert not Draft.objects.filter(account=theirs).exists()


def test_a_delete_removes_the_wechat_draft_first(wechat, account, operator, cover):
    draft = draft_push(
        draft=draft_save(account=account, articles=[article(cover)], by=operator).draft, by=operator
    )
    draft_delete(draft=draft, by=operator)
    assert not Draft.objects.exists() and wechat.state(account.appid)["drafts"]["draft_count"] == 0


def test_a_jpeg_cover_is_enough(account, operator, cover):
    assert cover.kind == "thumb" and JPEG
