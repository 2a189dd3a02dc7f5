"""The materials library (issue 25; protocol in docs/wechat-protocol.md §h and
`wechat/api/materials.py`): uploads checked against WeChat's limits before the call, the
intent written first; the list synced from ``batchget_material``; deletes warned about when a
draft or a menu button uses the material.

Rules: R-CONTENT-01 (limits before upload), R-CONTENT-03 (a WeChat write records its intent
first and never ends in an untrue state)."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import OfficialAccount
from accounts.wechat_api import client_for
from core.typing import Actor
from menus.selectors import buttons_using_media
from wechat.api import materials as wx
from wechat.errors import WeChatError

from .errors import ContentError, refusal, require_access, require_certified
from .models import Draft, Material, MaterialKind, MaterialStatus

logger = logging.getLogger(__name__)
#: An upload left "uploading" this long was interrupted (a worker or request died).
STALE_UPLOAD = datetime.timedelta(minutes=10)
KIND_WORDS = {
    "image": gettext_lazy("an image: BMP, PNG, JPEG, JPG or GIF, at most 10 MB"),
    "voice": gettext_lazy("a voice file: MP3, WMA, WAV or AMR, at most 2 MB (60 seconds)"),
    "video": gettext_lazy("a video: MP4, at most 10 MB, with a title and a description"),
    "thumb": gettext_lazy("a thumbnail: JPG, at most 64 KB"),
}
_MAGIC = {
    "jpg": (b"\xff\xd8",),
    "jpeg": (b"\xff\xd8",),
    "png": (b"\x89PNG",),
    "gif": (b"GIF8",),
    "bmp": (b"BM",),
    "mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"),
    "wav": (b"RIFF",),
    "amr": (b"#!AMR",),
    "wma": (b"0&\xb2u",),
}


def _size_words(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, round(size / 1024))} KB"


def check_file(kind: str, filename: str, data: bytes, *, title: str = "") -> str:
    """R-CONTENT-01: WeChat's type and size limits for a permanent material, checked before
    the upload (the same table as the MP console's; `wechat.api.materials.LIMITS`). The file's
    extension and its first bytes must agree. Returns the extension; raises ContentError in
    the user's words."""
    if kind not in wx.LIMITS:
        raise ContentError(_("Choose the kind of material: image, voice, video or thumbnail."))
    limit, extensions = wx.LIMITS[kind]
    expected = str(KIND_WORDS[kind])
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if not data:
        raise ContentError(_("The file is empty."))
    if extension not in extensions:
        raise ContentError(_("“%(name)s” is not %(expected)s.") % {"name": filename, "expected": expected})
    ok = data[4:8] == b"ftyp" if extension == "mp4" else data.startswith(_MAGIC.get(extension, (b"",)))
    if not ok:
        raise ContentError(
            _(
                "“%(name)s” is not really a %(ext)s file (its content does not match its name); "
                "it must be %(expected)s."
            )
            % {"name": filename, "ext": extension.upper(), "expected": expected}
        )
    if len(data) > limit:
        raise ContentError(
            _("“%(name)s” is %(size)s; WeChat takes %(expected)s.")
            % {"name": filename, "size": _size_words(len(data)), "expected": expected}
        )
    if kind == "video" and not title.strip():
        raise ContentError(_("A video needs a title (WeChat shows it with the video)."))
    return extension


CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "amr": "audio/amr",
    "wma": "audio/x-ms-wma",
    "mp4": "video/mp4",
}


def material_upload(
    *,
    account: OfficialAccount,
    kind: str,
    filename: str,
    data: bytes,
    by: Actor,
    title: str = "",
    introduction: str = "",
) -> Material:
    """Upload a permanent material: checked first (R-CONTENT-01), the intent written
    (status uploading), then add_material. WeChat's refusal removes the intent and raises with
    the reason; no answer leaves "unknown", settled by the next sync (R-CONTENT-03)."""
    require_access(by, account, "content.add_material")
    require_certified(account)
    extension = check_file(kind, filename, data, title=title)
    if len(title) > 64 or len(introduction) > 255:
        raise ContentError(_("The title is at most 64 characters and the description 255."))
    material = Material.objects.create(
        account=account,
        kind=kind,
        status=MaterialStatus.UPLOADING,
        name=filename[:255],
        title=title.strip(),
        introduction=introduction.strip(),
        size=len(data),
        created_by=by,
    )
    try:
        answer = wx.add_material(
            client_for(account),
            kind,
            data,
            filename,
            CONTENT_TYPES.get(extension, "application/octet-stream"),
            title=title.strip(),
            introduction=introduction.strip(),
        )
    except WeChatError as exc:
        if exc.may_have_acted:
            Material.objects.filter(pk=material.pk).update(
                status=MaterialStatus.UNKNOWN, error=str(exc.explanation)[:255]
            )
            raise ContentError(
                _(
                    "WeChat did not answer: the material may or may not have been added. The next "
                    "sync of the library settles it."
                )
            ) from exc
        # WeChat refused and so did nothing: the intent goes, nothing is left of the attempt
        Material.objects.filter(pk=material.pk).delete()
        raise ContentError(refusal(exc)) from exc
    material.media_id = str(answer["media_id"])
    material.url = str(answer.get("url") or "")[:500]
    material.status = MaterialStatus.READY
    material.synced_at = timezone.now()
    material.save(update_fields=["media_id", "url", "status", "synced_at"])
    return material


@dataclass
class SyncResult:
    added: int = 0
    removed: int = 0
    settled: int = 0
    counts: dict[str, int] | None = None


def materials_sync(*, account: OfficialAccount, by: Actor) -> SyncResult:
    """Read the account's library back from WeChat (batchget_material, 20 a page, per kind)
    and its counts (get_materialcount): rows WeChat has that we lack are added, rows WeChat
    no longer has are removed, and uploads of unknown outcome are settled — found on WeChat by
    their file name, or marked refused (R-CONTENT-03)."""
    require_access(by, account)
    client = client_for(account)
    try:
        counts = wx.get_count(client)
        remote: dict[str, dict[str, object]] = {}
        for kind in ("image", "voice", "video"):
            offset = 0
            while True:
                page = wx.batchget(client, kind, offset, wx.BATCH_MAX)
                rows = wx.items(page)
                for item in rows:
                    remote[str(item["media_id"])] = {**item, "kind": kind}
                offset += len(rows)
                if not rows or offset >= int(page.get("total_count") or 0):
                    break
    except WeChatError as exc:
        raise ContentError(refusal(exc)) from exc
    result = SyncResult(counts=counts)
    now = timezone.now()
    with transaction.atomic():
        # thumbnails are left out of "gone": WeChat's batchget has no thumb type, and whether it
        # lists them with the images is not documented [?], so a sync never removes one
        known = dict(
            Material.objects.filter(account=account)
            .exclude(media_id="")
            .exclude(kind=MaterialKind.THUMB)
            .values_list("media_id", "id")
        )
        thumbs = set(
            Material.objects.filter(account=account, kind=MaterialKind.THUMB).values_list(
                "media_id", flat=True
            )
        )
        # uploads of unknown outcome (and interrupted ones): adopt a WeChat item of the same name
        unsettled = list(
            Material.objects.filter(account=account, media_id="").filter(
                Q(status=MaterialStatus.UNKNOWN)
                | Q(status=MaterialStatus.UPLOADING, created_at__lt=now - STALE_UPLOAD)
            )
        )
        unclaimed = {mid: item for mid, item in remote.items() if mid not in known and mid not in thumbs}
        for material in unsettled:
            match = next((mid for mid, item in unclaimed.items() if item.get("name") == material.name), None)
            if match:
                item = unclaimed.pop(match)
                material.media_id, material.status = match, MaterialStatus.READY
                material.url = str(item.get("url") or "")[:500]
                material.error = ""
            else:
                material.status = MaterialStatus.FAILED
                material.error = _("WeChat has no such material: the upload did not go through.")
            material.synced_at = now
            material.save(update_fields=["media_id", "status", "url", "error", "synced_at"])
            result.settled += 1
        new = []
        for media_id, item in unclaimed.items():
            kind = str(item["kind"])
            stamp = item.get("update_time")
            new.append(
                Material(
                    account=account,
                    kind=kind,
                    media_id=media_id,
                    name=str(item.get("name") or "")[:255],
                    url=str(item.get("url") or "")[:500],
                    status=MaterialStatus.READY,
                    wechat_updated_at=datetime.datetime.fromtimestamp(int(stamp), tz=datetime.UTC)
                    if isinstance(stamp, int | str) and str(stamp).isdigit()
                    else None,
                    synced_at=now,
                )
            )
        Material.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
        result.added = len(new)
        gone = [mid for mid in known if mid not in remote]
        if gone:
            result.removed, _detail = Material.objects.filter(account=account, media_id__in=gone).delete()
        Material.objects.filter(account=account, media_id__in=list(remote)).update(synced_at=now)
    return result


def material_usage(material: Material) -> list[str]:
    """Where the material is used: drafts whose cover it is, menu buttons that send it."""
    if not material.media_id:
        return []
    drafts = Draft.objects.filter(account_id=material.account_id)
    if connection.vendor == "postgresql":  # JSON containment, by the index-free scan of one account
        titles = list(
            drafts.filter(articles__contains=[{"thumb_media_id": material.media_id}]).values_list(
                "title", flat=True
            )[:20]
        )
    else:
        titles = [
            title
            for title, articles in drafts.values_list("title", "articles").iterator()
            if any(
                isinstance(a, dict) and a.get("thumb_media_id") == material.media_id for a in articles or []
            )
        ][:20]
    uses = [_("draft “%(title)s” (cover)") % {"title": title} for title in titles]
    uses += [
        _("menu button “%(name)s”") % {"name": name}
        for name in buttons_using_media(material.account, material.media_id)
    ]
    return uses


def material_delete(*, material: Material, by: Actor) -> None:
    """Delete on WeChat (del_material), then here. A material WeChat no longer knows (40007) is
    removed here too; any other refusal keeps it and says why."""
    require_access(by, material.account, "content.delete_material")
    if material.media_id:
        try:
            wx.delete_material(client_for(material.account), material.media_id)
        except WeChatError as exc:
            if exc.errcode != 40007:
                raise ContentError(refusal(exc)) from exc
    material.delete()


def material_content(material: Material) -> tuple[bytes, str] | dict[str, object]:
    """What the preview shows: the file's bytes and type, or a video's title, description and
    download link (get_material)."""
    if not material.media_id:
        raise ContentError(_("This material is not on WeChat."))
    try:
        answer = wx.get_material(client_for(material.account), material.media_id)
    except WeChatError as exc:
        raise ContentError(refusal(exc)) from exc
    if isinstance(answer, bytes):
        extension = material.name.rsplit(".", 1)[-1].lower() if "." in material.name else "jpg"
        return answer, CONTENT_TYPES.get(extension, "application/octet-stream")
    return answer


def cover_choices(account: OfficialAccount) -> list[Material]:
    """The materials that can be an article's cover (images and thumbnails on WeChat)."""
    return list(
        Material.objects.filter(
            account=account, kind__in=[MaterialKind.IMAGE, MaterialKind.THUMB], status=MaterialStatus.READY
        )
        .exclude(media_id="")
        .order_by("-created_at")[:500]
    )
