"""Custom menus (自定义菜单): one menu per official account, with versions.

A menu has at most one *draft* (mutable, what the editor saves) and an
immutable history of versions sent to WeChat (pending → published | failed).
The button tree of a version is stored in WeChat's own JSON shape
(`{"button": [...]}`), plus one extension: a click button may carry `"reply"`,
the text the account answers when the button is clicked (R-MENU-02). Keeping
WeChat's shape means the editor, the JSON import/export, the validator and the
publish task all read and write the same structure, and a frozen version is an
exact record of what was sent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import OfficialAccount

from .wire import wechat_body


class DriftStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Not checked")
    IN_SYNC = "in_sync", _("Matches WeChat")
    DRIFTED = "drifted", _("Differs from WeChat")
    MISSING = "missing", _("No menu on WeChat")
    ERROR = "error", _("Check failed")


class Menu(models.Model):
    """The custom menu of one official account (R-MENU-01..03)."""

    account = models.OneToOneField(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="menu",
    )
    drift_status = models.CharField(
        _("drift"),
        max_length=10,
        choices=DriftStatus,
        default=DriftStatus.UNKNOWN,
        editable=False,
    )
    drift_checked_at = models.DateTimeField(_("drift checked at"), null=True, blank=True, editable=False)
    drift_detail = models.CharField(_("drift detail"), max_length=300, blank=True, editable=False)
    # The number of the newest version handed to WeChat (menu/create). A version is sent
    # only if it can raise this (conditional UPDATE), so an older one is never sent after
    # a newer one, whatever order retries and workers run in.
    sent_number = models.PositiveIntegerField(_("last version sent"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("menu")
        verbose_name_plural = _("menus")
        ordering = ["account__name"]

    def __str__(self) -> str:
        return str(self.account)

    @property
    def draft(self) -> MenuVersion | None:
        return self.versions.filter(status=VersionStatus.DRAFT).first()

    @property
    def live_version(self) -> MenuVersion | None:
        """The version WeChat shows: the most recently published one."""
        return (
            self.versions.filter(status=VersionStatus.PUBLISHED).order_by("-finished_at", "-number").first()
        )


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending")
    PUBLISHED = "published", _("Published")
    FAILED = "failed", _("Failed")
    # a newer version of the same menu was published first: this one is never sent after it
    SUPERSEDED = "superseded", _("Superseded")


class VersionSource(models.TextChoices):
    EDITOR = "editor", _("Editor")
    IMPORT = "import", _("JSON import")
    PULL = "pull", _("Pulled from WeChat")
    COPY = "copy", _("Copied from another account")
    FANOUT = "fanout", _("Fan-out")


class FrozenVersionError(ValidationError):
    pass


class MenuVersion(models.Model):
    """One state of a menu. Only the draft may change; sent versions are immutable."""

    menu = models.ForeignKey(Menu, verbose_name=_("menu"), on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("number"), editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=VersionStatus, default=VersionStatus.DRAFT, editable=False
    )
    source = models.CharField(
        _("source"),
        max_length=10,
        choices=VersionSource,
        default=VersionSource.EDITOR,
        editable=False,
    )
    data = models.JSONField(_("menu JSON"), default=dict, editable=False)
    fanout = models.ForeignKey(
        "FanOut",
        verbose_name=_("fan-out"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="versions",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0, editable=False)
    # set when the sweeper queued the task again for a version nobody finished; a version
    # stuck a second time is failed instead
    requeued_at = models.DateTimeField(_("queued again at"), null=True, blank=True, editable=False)
    errcode = models.IntegerField(_("errcode"), null=True, blank=True, editable=False)
    errmsg = models.CharField(_("errmsg"), max_length=300, blank=True, editable=False)
    explanation = models.TextField(_("explanation"), blank=True, editable=False)

    class Meta:
        verbose_name = _("menu version")
        verbose_name_plural = _("menu versions")
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["menu", "number"], name="menus_version_number_unique"),
            models.UniqueConstraint(
                fields=["menu"], condition=Q(status="draft"), name="menus_one_draft_per_menu"
            ),
        ]
        indexes = [models.Index(fields=["status", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.menu} #{self.number} ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A version's buttons are frozen once it leaves the draft state."""
        if self.pk and self.is_frozen and "data" in (kwargs.get("update_fields") or ["data"]):
            stored = MenuVersion.objects.filter(pk=self.pk).values_list("data", flat=True).first()
            if stored is not None and stored != self.data:
                raise FrozenVersionError(_("A sent menu version cannot be changed."))
        if self.number is None:
            last = MenuVersion.objects.filter(menu=self.menu).aggregate(models.Max("number"))["number__max"]
            self.number = (last or 0) + 1
        super().save(*args, **kwargs)

    @property
    def is_frozen(self) -> bool:
        return self.status != VersionStatus.DRAFT

    def wechat_body(self) -> dict[str, Any]:
        """The body for menu/create: the stored tree without our `reply` extension."""
        return wechat_body(self.data)


class ClickReply(models.Model):
    """Denormalised (account, key) → reply text of the live menu, written at publish time.

    R-MENU-02: the callback answers a CLICK event with the reply of the button
    carrying that key; one indexed lookup keeps the 5-second callback fast.
    """

    account = models.ForeignKey(OfficialAccount, on_delete=models.CASCADE, related_name="menu_click_replies")
    key = models.CharField(max_length=128)
    reply = models.TextField(blank=True)
    version = models.ForeignKey(MenuVersion, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("click reply")
        verbose_name_plural = _("click replies")
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="menus_click_reply_unique"),
        ]

    def __str__(self) -> str:
        return self.key


class FanOut(models.Model):
    """Publishing one menu to many accounts at once: one version and one task per account."""

    data = models.JSONField(_("menu JSON"), editable=False)
    source_account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("source account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    total = models.PositiveIntegerField(_("accounts"), default=0, editable=False)

    class Meta:
        verbose_name = _("fan-out")
        verbose_name_plural = _("fan-outs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return _("Fan-out #%(id)s") % {"id": self.pk}


class MenuAction(models.TextChoices):
    SAVE_DRAFT = "save_draft", _("Draft saved")
    DISCARD_DRAFT = "discard_draft", _("Draft discarded")
    IMPORT = "import", _("JSON imported")
    PUBLISH = "publish", _("Publish requested")
    PUBLISHED = "published", _("Published on WeChat")
    FAILED = "failed", _("Publishing failed")
    RETRY = "retry", _("Temporary error, will retry")
    SUPERSEDED = "superseded", _("Superseded by a newer version")
    REQUEUED = "requeued", _("Queued again (no worker finished it)")
    PULL = "pull", _("Pulled from WeChat")
    DELETE_REMOTE = "delete_remote", _("Deleted on WeChat")
    COPY = "copy", _("Copied to another account")
    FANOUT = "fanout", _("Fan-out started")
    DRIFT = "drift", _("Drift detected")


class MenuAuditEntry(models.Model):
    """Every change to a menu, local or remote, leaves one row here (who, what, outcome)."""

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="menu_audit",
    )
    version = models.ForeignKey(
        MenuVersion,
        verbose_name=_("version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit",
    )
    action = models.CharField(_("action"), max_length=20, choices=MenuAction)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("menu audit entry")
        verbose_name_plural = _("menu audit entries")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.account} {self.get_action_display()}"
