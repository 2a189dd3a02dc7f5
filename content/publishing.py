"""Publishing (issue 25; protocol in docs/wechat-protocol.md §h and `wechat/api/drafts.py`):
``freepublish/submit`` with the intent written first; the job followed by a task polling
``freepublish/get`` and by the ``PUBLISHJOBFINISH`` push, whichever comes first (both
idempotent); the articles' URLs recorded; failures said in words (R-CONTENT-04)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.wechat_api import client_for
from core.queueing import enqueue_on_commit
from core.typing import Actor
from wechat.api import drafts as wx
from wechat.errors import WeChatError

from .errors import ContentError, refusal, require_access, require_certified
from .models import Draft, DraftStatus, Publication, PublicationStatus

logger = logging.getLogger(__name__)
PUBLISH_PERMISSION = "content.publish_draft"
POLL_TASK = "content.poll_publication"
#: how long the poll keeps asking freepublish/get (WeChat's review can take a while)
POLL_FOR = datetime.timedelta(hours=6)
OPEN = (PublicationStatus.SUBMITTING, PublicationStatus.PUBLISHING, PublicationStatus.UNKNOWN)
STATUS_WORDS = {
    wx.PUBLISH_ORIGINAL_FAIL: gettext_lazy("WeChat refused it as not original (原创校验未通过)."),
    wx.PUBLISH_FAIL: gettext_lazy("Publishing failed on WeChat's side (常规失败); try again later."),
    wx.PUBLISH_AUDIT_REFUSED: gettext_lazy("WeChat's review refused the content (平台审核不通过)."),
    wx.PUBLISH_DELETED_BY_USER: gettext_lazy("Published, then every article was deleted."),
    wx.PUBLISH_BANNED: gettext_lazy("Published, then WeChat banned every article."),
}


def poll_delay(polls: int) -> float:
    """10 s, 20 s, 40 s … at most 10 minutes between two freepublish/get."""
    return float(min(600, 10 * 2 ** min(polls, 6)))


def publish_submit(*, draft: Draft, by: Actor) -> Publication:
    """Publish a draft that is on WeChat without unsent changes. The publication row (the
    intent) and the draft's "publishing" state are written before the call; WeChat's refusal
    fails the publication and gives the draft back, unchanged."""
    require_access(by, draft.account, PUBLISH_PERMISSION)
    require_certified(draft.account)
    if draft.status != DraftStatus.SYNCED or not draft.media_id:
        raise ContentError(
            _("Send the draft to WeChat first (it is %(status)s): WeChat publishes what its draft box holds.")
            % {"status": draft.get_status_display()}
        )
    with transaction.atomic():
        claimed = Draft.objects.filter(pk=draft.pk, status=DraftStatus.SYNCED).update(
            status=DraftStatus.PUBLISHING, updated_at=timezone.now()
        )
        if not claimed:
            raise ContentError(_("This draft changed meanwhile; reload the page."))
        publication = Publication.objects.create(
            account=draft.account, draft=draft, title=draft.title, media_id=draft.media_id, created_by=by
        )
    try:
        publish_id = wx.submit(client_for(draft.account), draft.media_id)
    except WeChatError as exc:
        if exc.may_have_acted:
            Publication.objects.filter(pk=publication.pk).update(
                status=PublicationStatus.UNKNOWN, error=_("WeChat did not answer the submission.")
            )
            raise ContentError(
                _("WeChat did not answer: the draft may be publishing. Its state is checked again shortly.")
            ) from exc
        with transaction.atomic():
            Publication.objects.filter(pk=publication.pk).update(
                status=PublicationStatus.FAILED, error=refusal(exc)[:500], finished_at=timezone.now()
            )
            Draft.objects.filter(pk=draft.pk, status=DraftStatus.PUBLISHING).update(status=DraftStatus.SYNCED)
        raise ContentError(refusal(exc)) from exc
    Publication.objects.filter(pk=publication.pk).update(
        status=PublicationStatus.PUBLISHING, publish_id=publish_id
    )
    _queue_poll(publication.pk, 0)
    publication.refresh_from_db()
    return publication


def _queue_poll(publication_id: int, polls: int) -> None:
    # by name: tasks.py runs these services, so they do not import it back
    enqueue_on_commit(current_app.signature(POLL_TASK), publication_id, countdown=poll_delay(polls))


def apply_result(
    publication: Publication,
    *,
    status: int,
    article_id: str = "",
    urls: Sequence[str] = (),
    fail_idx: Sequence[int] = (),
) -> Publication:
    """Record WeChat's word on a job (freepublish/get or PUBLISHJOBFINISH): idempotent, and
    guarded so a late or repeated answer never moves a finished job back."""
    now = timezone.now()
    if status == wx.PUBLISH_PUBLISHING:
        return publication
    if status == wx.PUBLISH_SUCCESS:
        with transaction.atomic():
            changed = Publication.objects.filter(pk=publication.pk, status__in=OPEN).update(
                status=PublicationStatus.PUBLISHED,
                publish_status=status,
                article_id=article_id[:128],
                article_urls=list(urls),
                fail_idx=[],
                error="",
                finished_at=now,
            )
            if changed and publication.draft_id:
                Draft.objects.filter(pk=publication.draft_id).update(status=DraftStatus.PUBLISHED, error="")
    elif status in (wx.PUBLISH_DELETED_BY_USER, wx.PUBLISH_BANNED):
        Publication.objects.filter(pk=publication.pk).exclude(status=PublicationStatus.WITHDRAWN).update(
            status=PublicationStatus.WITHDRAWN, publish_status=status, error=str(STATUS_WORDS[status])
        )
    else:
        words = str(STATUS_WORDS.get(status, _("WeChat answered publish status %(s)s.") % {"s": status}))
        if fail_idx:
            words += " " + _("Articles refused: %(list)s.") % {"list": ", ".join(str(i) for i in fail_idx)}
        with transaction.atomic():
            changed = Publication.objects.filter(pk=publication.pk, status__in=OPEN).update(
                status=PublicationStatus.FAILED,
                publish_status=status,
                fail_idx=[int(i) for i in fail_idx],
                error=words[:500],
                finished_at=now,
            )
            if changed and publication.draft_id:
                Draft.objects.filter(pk=publication.draft_id, status=DraftStatus.PUBLISHING).update(
                    status=DraftStatus.SYNCED, error=words[:500]
                )
    publication.refresh_from_db()
    return publication


def publication_poll(publication_id: int) -> str:
    """One freepublish/get for an open job; queues the next while WeChat says "publishing"."""
    publication = Publication.objects.select_related("account").filter(pk=publication_id).first()
    if publication is None or publication.status not in OPEN or not publication.publish_id:
        return "closed"
    try:
        answer = wx.publish_status(client_for(publication.account), publication.publish_id)
    except WeChatError as exc:
        logger.info("publication %s: freepublish/get failed (%s)", publication.pk, exc.errcode)
        answer = None
    Publication.objects.filter(pk=publication.pk).update(polls=publication.polls + 1)
    if answer is not None:
        status = int(answer.get("publish_status", wx.PUBLISH_PUBLISHING))
        publication = apply_result(
            publication,
            status=status,
            article_id=str(answer.get("article_id") or ""),
            urls=wx.article_urls(answer),
            fail_idx=[int(i) for i in answer.get("fail_idx") or []],
        )
    if publication.status in OPEN and timezone.now() - publication.created_at < POLL_FOR:
        _queue_poll(publication.pk, publication.polls + 1)
        return "polling"
    return publication.status


def apply_event(*, account: Any, info: dict[str, Any]) -> bool:
    """PUBLISHJOBFINISH (``PublishEventInfo``): find the job by its publish_id and record it.
    Unknown jobs (published on the MP console) are ignored."""
    publish_id = str(info.get("publish_id") or "").strip()
    if not publish_id.isdigit():
        return False
    publication = Publication.objects.filter(account=account, publish_id=publish_id).first()
    if publication is None:
        return False
    fails = info.get("fail_idx") or []
    if not isinstance(fails, list):
        fails = [fails]
    try:
        status = int(info.get("publish_status"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    apply_result(
        publication,
        status=status,
        article_id=str(info.get("article_id") or ""),
        urls=wx.article_urls(info),
        fail_idx=[int(i) for i in fails if str(i).isdigit()],
    )
    return True


def publications_sweep() -> int:
    """Beat: open jobs whose poll was lost (no check for 15 minutes) are asked again; a
    submission of unknown outcome older than 10 minutes whose draft is still in WeChat's box
    and not being published is taken as not sent."""
    now = timezone.now()
    done = 0
    for publication in Publication.objects.filter(
        status=PublicationStatus.PUBLISHING, created_at__lt=now - datetime.timedelta(minutes=15)
    ).exclude(publish_id="")[:200]:
        publication_poll(publication.pk)
        done += 1
    for publication in Publication.objects.filter(
        status=PublicationStatus.UNKNOWN, created_at__lt=now - datetime.timedelta(minutes=10)
    ).select_related("account")[:50]:
        try:
            urls = _find_published(publication)
        except WeChatError:
            continue
        if urls is not None:
            apply_result(publication, status=wx.PUBLISH_SUCCESS, article_id=urls[0], urls=urls[1])
        else:
            apply_result(publication, status=wx.PUBLISH_FAIL)
        done += 1
    return done


def _find_published(publication: Publication) -> tuple[str, list[str]] | None:
    """A published article with the publication's titles, newer than the submission."""
    draft = publication.draft
    titles = [a.get("title") for a in draft.article_list] if draft else [publication.title]
    page = wx.published(client_for(publication.account), 0, 20, no_content=True)
    for item in page.get("item") or []:
        news = (item.get("content") or {}).get("news_item") or []
        if [n.get("title") for n in news] == titles:
            return str(item.get("article_id") or ""), [str(n.get("url") or "") for n in news]
    return None
