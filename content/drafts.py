"""Articles and drafts (issue 25; protocol in docs/wechat-protocol.md §h and
`wechat/api/drafts.py`): the editor's articles checked and their bodies reduced to WeChat's
HTML (R-CONTENT-02), saved as numbered versions, pushed with draft/add or draft/update (the
intent written first; an unknown outcome settled by reading WeChat back, R-CONTENT-03), and
copied to other accounts with their covers.

Rules: R-CONTENT-02 (bodies sanitised, removals said), R-CONTENT-03 (intent first, never an
untrue state), R-CONTENT-05 (every article has a cover from the account's library)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from accounts.wechat_api import client_for
from core.typing import Actor
from wechat.api import drafts as wx
from wechat.api import materials as wx_materials
from wechat.client import WeChatClient
from wechat.errors import WeChatError

from .errors import ContentError, refusal, require_access, require_certified
from .library import cover_choices, material_content, material_upload
from .models import Draft, DraftStatus, DraftVersion, Material, MaterialKind
from .sanitise import data_images, sanitise

logger = logging.getLogger(__name__)
MAX_BODY_CHARACTERS = 20_000
MAX_BODY_BYTES = 1024 * 1024
FIELDS = (
    "title",
    "author",
    "digest",
    "content",
    "content_source_url",
    "thumb_media_id",
    "need_open_comment",
    "only_fans_can_comment",
)
#: a push left "pushing" this long was interrupted: the sweep settles it like an unknown one
STALE_PUSH = datetime.timedelta(minutes=5)
BUSY = (DraftStatus.PUSHING, DraftStatus.PUBLISHING, DraftStatus.PUBLISHED)


@dataclass
class Saved:
    draft: Draft
    version: int
    notes: list[str] = field(default_factory=list)


def _text(article: dict[str, Any], key: str) -> str:
    return str(article.get(key) or "").strip()


def _flag(article: dict[str, Any], key: str) -> int:
    return 1 if article.get(key) in (1, "1", True, "on", "true") else 0


def check_articles(account: OfficialAccount, articles: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The articles' fields against WeChat's limits, before anything is uploaded or saved;
    the cover must be an image or thumbnail of this account's library (R-CONTENT-05)."""
    if not articles:
        raise ContentError(_("A draft needs at least one article."))
    if len(articles) > wx.MAX_ARTICLES:
        raise ContentError(_("A draft holds at most %(n)s articles.") % {"n": wx.MAX_ARTICLES})
    covers = {m.media_id for m in cover_choices(account)}
    cleaned = []
    for number, article in enumerate(articles, 1):
        where = _("Article %(n)s: ") % {"n": number}
        title = _text(article, "title")
        if not title:
            raise ContentError(where + _("give it a title."))
        if len(title) > 64:
            raise ContentError(where + _("the title is at most 64 characters."))
        if len(_text(article, "author")) > 16:
            raise ContentError(where + _("the author is at most 16 characters."))
        if len(_text(article, "digest")) > 120:
            raise ContentError(where + _("the digest is at most 120 characters."))
        url = _text(article, "content_source_url")
        if url and (not url.startswith(("http://", "https://")) or len(url.encode()) > 1024):
            raise ContentError(where + _("the original URL must start with http:// or https://."))
        thumb = _text(article, "thumb_media_id")
        if not thumb:
            raise ContentError(
                where + _("choose a cover image from the materials library (WeChat requires one).")
            )
        if thumb not in covers:
            raise ContentError(
                where + _("the cover must be an image or thumbnail of this account's materials library.")
            )
        if not _text(article, "content"):
            raise ContentError(where + _("the body is empty."))
        cleaned.append(
            {
                "title": title,
                "author": _text(article, "author"),
                "digest": _text(article, "digest"),
                "content": str(article.get("content") or ""),
                "content_source_url": url,
                "thumb_media_id": thumb,
                "need_open_comment": _flag(article, "need_open_comment"),
                "only_fans_can_comment": _flag(article, "only_fans_can_comment"),
            }
        )
    return cleaned


def prepare_body(body: str, *, upload: Any = None) -> tuple[str, list[str]]:
    """A body as WeChat will render it, and what staff should be told: pasted images
    uploaded with media/uploadimg (``upload(data, extension) -> url``) and their ``src``
    replaced, then the HTML reduced (R-CONTENT-02)."""
    notes: list[str] = []
    pasted = data_images(body)
    if pasted and upload is not None:
        for data_url, extension, data in pasted:
            body = body.replace(data_url, upload(data, extension))
        notes.append(_("%(n)s pasted images were uploaded to WeChat.") % {"n": len(pasted)})
    result = sanitise(body)
    if result.removed:
        listed = ", ".join(f"<{name}> ×{count}" for name, count in sorted(result.removed.items()))
        notes.append(_("Removed what WeChat does not show: %(tags)s.") % {"tags": listed})
    if result.handlers:
        notes.append(_("Removed scripts in attributes (event handlers, javascript: links)."))
    if result.external_images:
        notes.append(
            _(
                "Removed %(n)s images from other sites: WeChat filters them out. Insert images "
                "with the editor's upload button."
            )
            % {"n": result.external_images}
        )
    return result.html, notes


def upload_body_image(*, account: OfficialAccount, filename: str, data: bytes, by: Actor) -> str:
    """An image for an article body (media/uploadimg: JPG or PNG under 1 MB); its URL."""
    require_access(by, account, "content.change_draft")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in wx_materials.BODY_IMAGE_EXTENSIONS:
        raise ContentError(_("An image in the body must be a JPG or PNG file."))
    if not data or len(data) > wx_materials.BODY_IMAGE_LIMIT:
        raise ContentError(_("An image in the body must be under 1 MB."))
    if not data.startswith((b"\xff\xd8", b"\x89PNG")):
        raise ContentError(_("This file is not a JPG or PNG image."))
    return str(_uploader(client_for(account))(data, extension))


def _uploader(client: WeChatClient) -> Any:
    def upload(data: bytes, extension: str) -> str:
        try:
            return wx_materials.upload_body_image(
                client, data, f"body.{extension}", "image/png" if extension == "png" else "image/jpeg"
            )
        except WeChatError as exc:
            raise ContentError(refusal(exc)) from exc

    return upload


def draft_save(
    *, account: OfficialAccount, articles: Sequence[dict[str, Any]], by: Actor, draft: Draft | None = None
) -> Saved:
    """Save the editor's articles as a new version of the draft (a new draft when None)."""
    require_access(by, account, "content.change_draft" if draft else "content.add_draft")
    if draft is not None and draft.account_id != account.pk:
        raise ContentError(_("This draft belongs to another account."))
    cleaned = check_articles(account, articles)
    notes: list[str] = []
    upload = None
    if any(data_images(a["content"]) for a in cleaned):
        upload = _uploader(client_for(account))
    for number, article in enumerate(cleaned, 1):
        html, said = prepare_body(article["content"], upload=upload)
        if not html.strip():
            raise ContentError(
                _("Article %(n)s: nothing of the body is left that WeChat shows.") % {"n": number}
            )
        if len(html) >= MAX_BODY_CHARACTERS or len(html.encode()) >= MAX_BODY_BYTES:
            raise ContentError(
                _("Article %(n)s: the body is too long for WeChat (under 20,000 characters and 1 MB).")
                % {"n": number}
            )
        article["content"] = html
        notes += [_("Article %(n)s: ") % {"n": number} + note for note in said]
    with transaction.atomic():
        if draft is None:
            draft = Draft.objects.create(
                account=account,
                title=cleaned[0]["title"],
                articles=cleaned,
                article_count=len(cleaned),
                created_by=by,
            )
        else:
            draft = Draft.objects.select_for_update().get(pk=draft.pk)
            if draft.status in BUSY:
                raise ContentError(
                    _("This draft is %(status)s: it cannot be changed now.")
                    % {"status": draft.get_status_display()}
                )
            draft.title = cleaned[0]["title"]
            draft.articles = cleaned
            draft.article_count = len(cleaned)
            if draft.status == DraftStatus.SYNCED:
                draft.status = DraftStatus.CHANGED
            draft.save(update_fields=["title", "articles", "article_count", "status", "updated_at"])
        number = (draft.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        DraftVersion.objects.create(draft=draft, number=number, articles=cleaned, created_by=by)
    return Saved(draft=draft, version=number, notes=notes)


def _wire(article: dict[str, Any]) -> dict[str, Any]:
    return {key: article.get(key, "") for key in FIELDS}


def _same(local: Sequence[dict[str, Any]], remote: Sequence[dict[str, Any]]) -> bool:
    return [a.get("title") for a in local] == [a.get("title") for a in remote]


def draft_push(*, draft: Draft, by: Actor) -> Draft:
    """Send the draft's current articles to WeChat's draft box: draft/add the first time (and
    when WeChat no longer has it or the number of articles changed), draft/update after.
    The intent (status pushing) is written first, guarded so two pushes never run at once."""
    require_access(by, draft.account, "content.change_draft")
    require_certified(draft.account)
    if not draft.article_list:
        raise ContentError(_("Save the draft's articles first."))
    now = timezone.now()
    version = draft.versions.aggregate(n=Max("number"))["n"]
    claimed = (
        Draft.objects.filter(pk=draft.pk)
        .exclude(status__in=BUSY)
        .update(status=DraftStatus.PUSHING, push_started_at=now, error="", updated_at=now)
    )
    if not claimed:
        draft.refresh_from_db()
        raise ContentError(
            _("This draft is %(status)s: it cannot be sent now.") % {"status": draft.get_status_display()}
        )
    draft.refresh_from_db()
    client = client_for(draft.account)
    articles = [_wire(a) for a in draft.article_list]
    try:
        remote: list[dict[str, Any]] | None = None
        if draft.media_id:
            try:
                remote = wx.get(client, draft.media_id)
            except WeChatError as exc:
                if exc.errcode != 40007:
                    raise
        if remote is not None and len(remote) == len(articles):
            for index, article in enumerate(articles):
                wx.update(client, draft.media_id, index, article)
            media_id = draft.media_id
        else:
            media_id = wx.add(client, articles)
            if remote is not None:  # the old one, with another number of articles
                try:
                    wx.delete(client, draft.media_id)
                except WeChatError:
                    logger.warning("draft %s: the replaced WeChat draft was not deleted", draft.pk)
    except WeChatError as exc:
        if exc.may_have_acted:
            Draft.objects.filter(pk=draft.pk).update(
                status=DraftStatus.UNKNOWN, error=_("WeChat did not answer; checking WeChat settles it.")
            )
            raise ContentError(
                _(
                    "WeChat did not answer: the draft may or may not have been saved there. "
                    "It is checked again shortly."
                )
            ) from exc
        Draft.objects.filter(pk=draft.pk).update(status=DraftStatus.FAILED, error=refusal(exc)[:500])
        raise ContentError(refusal(exc)) from exc
    Draft.objects.filter(pk=draft.pk).update(
        status=DraftStatus.SYNCED,
        media_id=media_id,
        pushed_version=version,
        error="",
        updated_at=timezone.now(),
    )
    draft.refresh_from_db()
    return draft


def draft_settle(*, draft: Draft) -> Draft:
    """Settle a push of unknown outcome by reading WeChat back (R-CONTENT-03): an update is
    checked with draft/get; an add is looked for in draft/batchget (the newest drafts, same
    titles, not claimed by another of our drafts). Found: on WeChat; not found: not sent."""
    if draft.status not in (DraftStatus.UNKNOWN, DraftStatus.PUSHING):
        return draft
    client = client_for(draft.account)
    local = draft.article_list
    found = ""
    try:
        if draft.media_id:
            try:
                remote = wx.get(client, draft.media_id)
                found = draft.media_id if _same(local, remote) else ""
            except WeChatError as exc:
                if exc.errcode != 40007:
                    raise
        if not found:
            claimed = set(
                Draft.objects.filter(account=draft.account)
                .exclude(media_id="")
                .values_list("media_id", flat=True)
            )
            page = wx.batchget(client, 0, 20, no_content=True)
            for item in page.get("item") or []:
                remote = (item.get("content") or {}).get("news_item") or []
                if item.get("media_id") not in claimed and _same(local, remote):
                    found = str(item["media_id"])
                    break
    except WeChatError as exc:
        logger.info("draft %s: not settled yet (%s)", draft.pk, exc.errcode)
        return draft
    if found:
        version = draft.versions.aggregate(n=Max("number"))["n"]
        Draft.objects.filter(pk=draft.pk).update(
            status=DraftStatus.SYNCED, media_id=found, pushed_version=version, error=""
        )
    else:
        Draft.objects.filter(pk=draft.pk).update(
            status=DraftStatus.CHANGED if draft.media_id else DraftStatus.LOCAL,
            error=_("The last send did not reach WeChat; send it again."),
        )
    draft.refresh_from_db()
    return draft


def drafts_settle_unknown() -> int:
    """Beat: pushes of unknown outcome, and pushes interrupted for longer than STALE_PUSH."""
    stale = timezone.now() - STALE_PUSH
    done = 0
    for draft in Draft.objects.filter(status=DraftStatus.UNKNOWN) | Draft.objects.filter(
        status=DraftStatus.PUSHING, push_started_at__lt=stale
    ):
        if draft_settle(draft=draft).status not in (DraftStatus.UNKNOWN, DraftStatus.PUSHING):
            done += 1
    return done


def draft_delete(*, draft: Draft, by: Actor) -> None:
    """Delete the draft on WeChat (draft/delete; one WeChat no longer has is fine), then here."""
    require_access(by, draft.account, "content.delete_draft")
    if draft.status in (DraftStatus.PUSHING, DraftStatus.PUBLISHING):
        raise ContentError(
            _("This draft is %(status)s: wait until it is done.") % {"status": draft.get_status_display()}
        )
    if draft.media_id and draft.status != DraftStatus.PUBLISHED:
        try:
            wx.delete(client_for(draft.account), draft.media_id)
        except WeChatError as exc:
            if exc.errcode != 40007:
                raise ContentError(refusal(exc)) from exc
    draft.delete()


@dataclass
class CopyResult:
    copied: list[Draft] = field(default_factory=list)
    failed: list[tuple[OfficialAccount, str]] = field(default_factory=list)


def draft_copy(*, draft: Draft, targets: Sequence[OfficialAccount], by: Actor) -> CopyResult:
    """Copy a draft to other accounts (fan-out, like menus' copy): each target gets a new local
    draft whose covers are copied into its own library (a cover's media_id belongs to one
    account: get_material from this one, add_material to the target). Body images stay on
    WeChat's image host, which every account may show. One target failing stops no other;
    each says why. The copies are saved, not sent: staff check and send each."""
    require_access(by, draft.account)
    result = CopyResult()
    covers: dict[str, tuple[bytes, str]] = {}
    for target in targets:
        if target.pk == draft.account_id:
            continue
        try:
            require_access(by, target, "content.add_draft")
            mapping: dict[str, str] = {}
            for article in draft.article_list:
                thumb = str(article.get("thumb_media_id") or "")
                if thumb in mapping:
                    continue
                if thumb not in covers:
                    source = Material.objects.filter(account=draft.account, media_id=thumb).first()
                    if source is None:
                        raise ContentError(_("A cover is no longer in the materials library."))
                    content = material_content(source)
                    if not isinstance(content, tuple):
                        raise ContentError(_("A cover is not an image."))
                    name = source.name if "." in source.name else f"{source.name or 'cover'}.jpg"
                    covers[thumb] = (content[0], name)
                data, name = covers[thumb]
                kind = (
                    MaterialKind.THUMB
                    if len(data) <= 64 * 1024 and name.lower().endswith((".jpg", ".jpeg"))
                    else MaterialKind.IMAGE
                )
                copied = material_upload(account=target, kind=kind, filename=name, data=data, by=by)
                mapping[thumb] = copied.media_id
            articles = [
                {**a, "thumb_media_id": mapping.get(str(a.get("thumb_media_id")), "")}
                for a in draft.article_list
            ]
            with transaction.atomic():
                copy = Draft.objects.create(
                    account=target,
                    title=draft.title,
                    articles=articles,
                    article_count=len(articles),
                    created_by=by,
                    copied_from=draft,
                )
                DraftVersion.objects.create(draft=copy, number=1, articles=articles, created_by=by)
            result.copied.append(copy)
        except ContentError as exc:
            result.failed.append((target, exc.user_message))
    return result


def ready_covers(account: OfficialAccount) -> list[tuple[str, str]]:
    """(media_id, label) of the covers the editor offers."""
    return [(m.media_id, str(m)) for m in cover_choices(account)]
