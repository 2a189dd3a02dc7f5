"""Followers, tags, channel QR codes and the sync runs of each account (issue 24).

Rules that belong to one row live here; the writes are in ``services``. Facts about WeChat's
limits are in ``wechat/api/users.py``, ``tags.py`` and ``qrcodes.py`` (protocol §h).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Follower(models.Model):
    """One follower of one account, as WeChat last told us (sync or event).

    Every index here is paid by each of the million rows a full sync writes, so there are no
    redundant ones: ``account`` has no index of its own (the unique (account, openid) and the
    list's (account, subscribe_time, id) both start with it) and ``qr_code`` is indexed only
    where set (most followers came by no code). Dropping those two took the sync's upsert
    from ~12,300 to ~17,200 rows/s on the same loaded machine (bench/audience_sync.py)."""

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="followers",
        verbose_name=_("account"),
        db_index=False,  # the unique (account, openid) index serves it
    )
    openid = models.CharField(_("OpenID"), max_length=64)
    unionid = models.CharField(_("UnionID"), max_length=64, blank=True)
    subscribed = models.BooleanField(_("subscribed"), default=True)
    subscribe_time = models.DateTimeField(_("subscribed at"), null=True, blank=True)
    subscribe_scene = models.CharField(_("subscribe scene"), max_length=40, blank=True)
    qr_scene = models.CharField(_("QR scene"), max_length=64, blank=True)
    qr_code = models.ForeignKey(
        "QrCode",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="followers",
        verbose_name=_("brought by QR code"),
        db_index=False,  # audience_follower_by_code: only the followers a code brought
    )
    remark = models.CharField(_("remark"), max_length=30, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    blacklisted = models.BooleanField(_("blacklisted"), default=False)
    first_interaction_at = models.DateTimeField(_("first interaction"), null=True, blank=True)
    last_interaction_at = models.DateTimeField(_("last interaction"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True)
    #: the CreateTime of the newest event applied: an older event arriving late changes nothing
    last_event_at = models.DateTimeField(_("last event"), null=True, blank=True)
    #: the sync run that last saw the follower in WeChat's list (the reconcile uses it)
    seen_by_run = models.BigIntegerField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("follower")
        verbose_name_plural = _("followers")
        constraints = [models.UniqueConstraint(fields=["account", "openid"], name="audience_follower_unique")]
        # The list's order is (-subscribe_time, -id) within an account: the index matches it
        # exactly, so a page is an index walk (no sort of a million rows). Remark search walks
        # only the followers that have a remark, in the same order (a partial index: staff set
        # remarks by hand, so they are few, and the sync does not pay for the empty ones).
        indexes = [
            models.Index(fields=["account", "-subscribe_time", "-id"], name="audience_follower_list"),
            models.Index(
                fields=["account", "-subscribe_time", "-id"],
                condition=~models.Q(remark=""),
                name="audience_follower_remarked",
            ),
            models.Index(
                fields=["qr_code"],
                condition=models.Q(qr_code__isnull=False),
                name="audience_follower_by_code",
            ),
        ]

    def __str__(self) -> str:
        return self.remark or self.openid

    @property
    def tag_ids(self) -> list[int]:
        """The WeChat tag ids the follower holds (one query unless prefetched as ``tag_links``)."""
        return sorted(link.tag_id for link in self.tag_links.all())


class FollowerTag(models.Model):
    """One WeChat tag id held by one follower (``tagid_list`` of user/info). A plain table,
    not a PostgreSQL array, so the app runs on SQLite too (``make run``); ``account`` is
    repeated so that "followers of account A with tag T" is one index range.

    ``tag_id`` is WeChat's id, not a key to ``Tag``: a sync may see tags before tags/get does."""

    # no index of their own: (follower, tag_id) and (account, tag_id) below start with them
    follower = models.ForeignKey(Follower, on_delete=models.CASCADE, related_name="tag_links", db_index=False)
    account = models.ForeignKey(
        "accounts.OfficialAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    tag_id = models.IntegerField(_("WeChat tag id"))

    class Meta:
        verbose_name = _("follower's tag")
        verbose_name_plural = _("followers' tags")
        constraints = [
            models.UniqueConstraint(fields=["follower", "tag_id"], name="audience_followertag_unique")
        ]
        indexes = [models.Index(fields=["account", "tag_id"], name="audience_followertag_by_tag")]

    def __str__(self) -> str:
        return f"{self.follower_id}:{self.tag_id}"


class Tag(models.Model):
    """A WeChat tag of an account. ``wechat_count`` is WeChat's (tags/get); ``local_count``
    counts our followers holding it; a difference is drift (issue 24)."""

    RESERVED_IDS = frozenset({0, 1, 2})

    account = models.ForeignKey(
        "accounts.OfficialAccount", on_delete=models.CASCADE, related_name="tags", verbose_name=_("account")
    )
    wechat_id = models.IntegerField(_("WeChat tag id"))
    name = models.CharField(_("name"), max_length=30)
    wechat_count = models.IntegerField(_("followers (WeChat)"), default=0)
    local_count = models.IntegerField(_("followers (here)"), default=0)
    synced_at = models.DateTimeField(_("synced at"), default=timezone.now)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["account", "wechat_id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "wechat_id"], name="audience_tag_unique_id"),
            models.UniqueConstraint(fields=["account", "name"], name="audience_tag_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def drifted(self) -> bool:
        return self.wechat_count != self.local_count

    @property
    def reserved(self) -> bool:
        return self.wechat_id in self.RESERVED_IDS


class QrCode(models.Model):
    """A channel QR code (带参数二维码): the scene WeChat sends back in scan events."""

    class Kind(models.TextChoices):
        TEMPORARY = "temporary", _("temporary")
        PERMANENT = "permanent", _("permanent")

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="qr_codes",
        verbose_name=_("account"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind, default=Kind.PERMANENT)
    scene = models.CharField(_("scene"), max_length=64)
    name = models.CharField(_("name"), max_length=100)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    ticket = models.CharField(_("ticket"), max_length=200, blank=True, editable=False)
    url = models.CharField(_("code content (url)"), max_length=200, blank=True, editable=False)
    tag = models.ForeignKey(
        Tag,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("tag to apply"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("channel QR code")
        verbose_name_plural = _("channel QR codes")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "scene"],
                condition=models.Q(kind="permanent"),
                name="audience_qrcode_permanent_scene",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class QrScanDay(models.Model):
    """Scans and follows of one code on one day (Asia/Shanghai)."""

    code = models.ForeignKey(QrCode, on_delete=models.CASCADE, related_name="days", verbose_name=_("QR code"))
    day = models.DateField(_("day"))
    scans = models.IntegerField(_("scans"), default=0)
    subscribes = models.IntegerField(_("follows"), default=0)

    class Meta:
        verbose_name = _("QR code scans per day")
        verbose_name_plural = _("QR code scans per day")
        constraints = [models.UniqueConstraint(fields=["code", "day"], name="audience_scanday_unique")]

    def __str__(self) -> str:
        return f"{self.code} {self.day}"


class SyncRun(models.Model):
    """One full sync of an account's followers: resumable from ``next_openid`` (the last
    OpenID whose page is committed), with counts for the progress and the summary."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        PAUSED = "paused", _("paused (quota or error; resumes from its cursor)")
        DONE = "done", _("done")

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="follower_syncs",
        verbose_name=_("account"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.RUNNING)
    next_openid = models.CharField(_("cursor (next_openid)"), max_length=64, blank=True)
    total = models.IntegerField(_("followers in WeChat"), default=0)
    seen = models.IntegerField(_("seen"), default=0)
    added = models.IntegerField(_("added"), default=0)
    updated = models.IntegerField(_("updated"), default=0)
    unsubscribed = models.IntegerField(_("marked unsubscribed"), default=0)
    errors = models.IntegerField(_("errors"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("follower sync")
        verbose_name_plural = _("follower syncs")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=~models.Q(status="done"), name="audience_one_open_sync"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def progress(self) -> int:
        return min(100, round(100 * self.seen / self.total)) if self.total else 0


class EventCursor(models.Model):
    """How far the event consumer has read the message log (one row)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_id = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("event cursor")
        verbose_name_plural = _("event cursors")

    def __str__(self) -> str:
        return f"{self.name}@{self.last_id}"


class WeChatWrite(models.Model):
    """One call that changes an account's audience in WeChat (tag/untag a batch of followers,
    blacklist/unblacklist a batch, set a remark, create/rename/delete a tag), recorded before
    the call so that what WeChat did is never unknown for long (issue 23, point 3):

    - ``pending``: recorded, the call certainly not made (yet); sent by the request, or by the
      sweeper once WeChat/Redis answer again;
    - ``sent``: the call went out and its answer is not known yet (in flight, lost, or the
      process died): settled by reading WeChat back;
    - ``done`` / ``failed``: what WeChat did, from its answer or read back;
    - ``unknown``: WeChat's answer was lost and it could not be read back for a long time.

    The writer holds a lease (``lease_until``) while it works; the sweeper takes only rows
    whose lease has run out. Kept in ``audience.operations``."""

    class Action(models.TextChoices):
        TAG = "tag", _("Tag followers")
        UNTAG = "untag", _("Untag followers")
        BLACKLIST = "blacklist", _("Blacklist followers")
        UNBLACKLIST = "unblacklist", _("Remove followers from the blacklist")
        REMARK = "remark", _("Set a remark")
        TAG_CREATE = "tag_create", _("Create a tag")
        TAG_RENAME = "tag_rename", _("Rename a tag")
        TAG_DELETE = "tag_delete", _("Delete a tag")

    class State(models.TextChoices):
        PENDING = "pending", _("Not sent yet")
        SENT = "sent", _("Sent, outcome being checked")
        DONE = "done", _("Done")
        FAILED = "failed", _("Not done")
        UNKNOWN = "unknown", _("Outcome unknown")

    account = models.ForeignKey(
        "accounts.OfficialAccount",
        on_delete=models.CASCADE,
        related_name="audience_writes",
        verbose_name=_("account"),
    )
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    tag_wechat_id = models.IntegerField(_("WeChat tag id"), null=True, blank=True)
    #: the tag name (create/rename) or the remark
    text = models.CharField(_("name or remark"), max_length=60, blank=True)
    openids = models.JSONField(_("OpenIDs"), default=list, blank=True)
    applied = models.IntegerField(_("applied"), default=0)
    errcode = models.IntegerField(_("error code"), null=True, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    attempts = models.PositiveIntegerField(_("calls"), default=0)
    read_backs = models.PositiveIntegerField(_("read-backs"), default=0)
    lease_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("WeChat write")
        verbose_name_plural = _("WeChat writes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "lease_until"], name="audience_write_open")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} #{self.pk}"

    @property
    def open(self) -> bool:
        return self.state in (self.State.PENDING, self.State.SENT)


class BulkTagJob(models.Model):
    """Tag or untag "every follower matching the filter" (issue 24), done by a task in chunks.

    The followers are frozen when staff confirm (``BulkTagJobItem``: the count shown on the
    confirmation page is the count done), and the task walks them by id from ``cursor``,
    committing the cursor with each chunk's counts: a killed worker resumes after the last
    committed chunk (the sweeper re-queues a running job whose ``heartbeat_at`` went stale),
    and re-sending a chunk is harmless (tagging is idempotent in WeChat)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        PAUSED = "paused", _("stopped on a refusal (can be resumed)")
        DONE = "done", _("done")

    account = models.ForeignKey(
        "accounts.OfficialAccount", on_delete=models.CASCADE, related_name="+", verbose_name=_("account")
    )
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="+", verbose_name=_("tag"))
    untag = models.BooleanField(_("untag"), default=False)
    filter_text = models.CharField(_("filter"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.RUNNING)
    total = models.IntegerField(_("followers matched"), default=0)
    processed = models.IntegerField(_("processed"), default=0)
    changed = models.IntegerField(_("changed"), default=0)
    skipped = models.IntegerField(_("skipped"), default=0)
    cursor = models.BigIntegerField(_("cursor (last follower id done)"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    heartbeat_at = models.DateTimeField(_("last progress"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bulk tagging job")
        verbose_name_plural = _("bulk tagging jobs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.tag} · {self.total}"

    @property
    def progress(self) -> int:
        return min(100, round(100 * self.processed / self.total)) if self.total else 100


class BulkTagJobItem(models.Model):
    """One follower of a bulk job, frozen at confirmation (walked by ``follower_id``)."""

    job = models.ForeignKey(BulkTagJob, on_delete=models.CASCADE, related_name="items")
    follower_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("follower of a bulk tagging job")
        verbose_name_plural = _("followers of bulk tagging jobs")
        constraints = [
            models.UniqueConstraint(fields=["job", "follower_id"], name="audience_bulkitem_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.follower_id}"
