"""The materials library (永久素材) of an account: images, voice, video and thumbnails kept
on WeChat (``material/*``), listed here from ``batchget_material``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MaterialKind(models.TextChoices):
    IMAGE = "image", _("image")
    VOICE = "voice", _("voice")
    VIDEO = "video", _("video")
    THUMB = "thumb", _("thumbnail")


class MaterialStatus(models.TextChoices):
    #: the intent, written before add_material is called
    UPLOADING = "uploading", _("uploading")
    READY = "ready", _("on WeChat")
    #: the call may have reached WeChat without an answer: the next sync settles it
    UNKNOWN = "unknown", _("outcome unknown (settled by the next sync)")
    FAILED = "failed", _("refused")


class Material(models.Model):
    """One permanent material of one account; ``media_id`` is WeChat's (empty until uploaded).

    R-CONTENT-01: WeChat's type and size limits are checked before the upload
    (``content.library.check_file``); a refused or unknown upload never shows as ready."""

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="materials",
        verbose_name=_("account"),
    )
    kind = models.CharField(_("type"), max_length=8, choices=MaterialKind.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=MaterialStatus.choices, default=MaterialStatus.READY
    )
    media_id = models.CharField(_("WeChat media ID"), max_length=128, blank=True)
    name = models.CharField(_("file name"), max_length=255, blank=True)
    title = models.CharField(_("title"), max_length=64, blank=True)
    introduction = models.CharField(_("introduction"), max_length=255, blank=True)
    url = models.URLField(_("WeChat URL"), max_length=500, blank=True)
    size = models.PositiveIntegerField(_("size (bytes)"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    wechat_updated_at = models.DateTimeField(_("updated on WeChat"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("material")
        verbose_name_plural = _("materials")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["account", "-created_at", "-id"], name="content_material_by_time"),
            models.Index(fields=["account", "kind", "-created_at"], name="content_material_kind"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "media_id"],
                condition=~models.Q(media_id=""),
                name="content_material_unique_media",
            )
        ]

    def __str__(self) -> str:
        return self.title or self.name or self.media_id or f"#{self.pk}"

    @property
    def is_cover(self) -> bool:
        """An image or a thumbnail on WeChat can be an article's cover (thumb_media_id)."""
        return self.kind in (MaterialKind.IMAGE, MaterialKind.THUMB) and self.status == MaterialStatus.READY
