"""Inbound messages, reply rules and the customer-service (KF) team of each account."""

from __future__ import annotations

import datetime
import functools
import re
from typing import Any

import re2
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import OfficialAccount

# Django's app registry imports `messaging.models` only: the conversation workspace's model
# (in `conversations/models.py`) is registered through this import.
from .conversations.models import Conversation, OutboundMessage  # noqa: F401

#: R-KF-02 (docs/wechat-protocol.md §c): prefix of 1–10 letters, digits, underscore
KF_PREFIX_RE = re.compile(r"^[A-Za-z0-9_]{1,10}\Z")
KF_ACCOUNT_MAX_LENGTH = 30
KF_NICKNAME_MAX_LENGTH = 16
#: R-KF-02: at most 100 customer-service accounts per official account
KF_ACCOUNTS_LIMIT = 100
#: patterns are matched against at most this many characters of a message
MATCH_TEXT_LIMIT = 2048
PATTERN_MAX_LENGTH = 200


class MatchType(models.TextChoices):
    EXACT = "exact", _("Exact match")
    CONTAINS = "contains", _("Contains")
    REGEX = "regex", _("Regular expression")


class TransferMatchType(models.TextChoices):
    EXACT = "exact", _("Exact match")
    CONTAINS = "contains", _("Contains")
    REGEX = "regex", _("Regular expression")
    ANY = "any", _("Any message")


class ReplyType(models.TextChoices):
    TEXT = "text", _("Text")
    NEWS = "news", _("Single article (news)")


def _rule_regex_options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # a bad pattern is the user's input: answered, not logged
    options.max_mem = 4 << 20  # bytes per compiled pattern; larger ones are refused
    return options


RULE_REGEX_OPTIONS = _rule_regex_options()


@functools.lru_cache(maxsize=2048)
def compile_rule_regex(pattern: str) -> Any:  # re2 ships no types: its compiled pattern is Any
    """Compile a rule's regular expression with RE2 (google-re2), case-insensitively.

    RE2 matches in time linear in the text whatever the pattern, so no rule — such
    as `^(a+)+$` against a long run of `a`s — can stall the callback (issue 9); the
    price is no backreferences or lookaround, which `validate_pattern` explains.
    Raises `re2.error` for a pattern RE2 does not accept.
    """
    return re2.compile(pattern, RULE_REGEX_OPTIONS)


def regex_error(pattern: str) -> str | None:
    """Why RE2 refuses `pattern` (None when it compiles)."""
    try:
        compile_rule_regex(pattern)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else exc
        return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
    return None


def text_matches(match_type: str, pattern: str, text: str) -> bool:
    """Whether `text` matches a rule's pattern; regexes are searched, case-insensitively."""
    text = text[:MATCH_TEXT_LIMIT]
    if match_type == "any":
        return True
    if match_type == MatchType.EXACT:
        return text.strip().casefold() == pattern.strip().casefold()
    if match_type == MatchType.CONTAINS:
        return bool(pattern) and pattern.casefold() in text.casefold()
    if match_type == MatchType.REGEX:
        try:
            return compile_rule_regex(pattern).search(text) is not None
        except re2.error:  # saved before RE2 was the engine, or edited outside the forms
            return False
    return False


#: RE2's errors (English) as staff read them; others are named by position only
REGEX_PROBLEMS = (
    ("missing ]", _("a [ … ] set is not closed")),
    ("missing )", _("a ( is not closed")),
    ("unexpected )", _("a ) has no matching (")),
    ("no argument for repetition operator", _("*, + or ? follows nothing")),
    ("missing argument to repetition operator", _("*, + or ? follows nothing")),
    ("bad repetition operator", _("two repetitions in a row (such as **)")),
    ("invalid escape sequence", _("an unknown escape after \\")),
    ("invalid character class range", _("a range such as z-a runs backwards")),
    ("invalid perl operator", _("backreferences and lookaround are not supported")),
    ("invalid repetition size", _("a repetition count such as {2,1} is not valid")),
)


def describe_regex_error(pattern: str, detail: str) -> str:
    """RE2's "<what>: <fragment>" in the staff's words, with the fragment's position."""
    what, _sep, fragment = detail.partition(": ")
    problem = next(
        (text for start, text in REGEX_PROBLEMS if what.startswith(start)), _("the pattern cannot be read")
    )
    position = pattern.find(fragment) if fragment else -1
    if position < 0:
        return str(problem)
    return str(_("%(problem)s (at character %(position)d)") % {"problem": problem, "position": position + 1})


def validate_pattern(match_type: str, pattern: str) -> dict[str, ValidationError]:
    errors: dict[str, ValidationError] = {}
    if match_type != "any" and not pattern.strip():
        errors["pattern"] = ValidationError(_("Enter the text to match."), code="required")
    elif len(pattern) > PATTERN_MAX_LENGTH:
        errors["pattern"] = ValidationError(
            _("The pattern is longer than %(max)d characters.") % {"max": PATTERN_MAX_LENGTH},
            code="max_length",
        )
    elif match_type == MatchType.REGEX and (problem := regex_error(pattern)) is not None:
        errors["pattern"] = ValidationError(
            _(
                "This is not a valid regular expression: %(error)s. Rules use RE2 syntax: "
                "no backreferences or lookaround."
            )
            % {"error": describe_regex_error(pattern, problem)},
            code="regex",
        )
    return errors


class ReplyContent(models.Model):
    """A text or single-article reply, shared by keyword rules and the welcome reply."""

    reply_type = models.CharField(_("reply type"), max_length=10, choices=ReplyType, default=ReplyType.TEXT)
    reply_text = models.TextField(_("reply text"), blank=True, max_length=2000)
    news_title = models.CharField(_("article title"), max_length=64, blank=True)
    news_description = models.CharField(_("article description"), max_length=120, blank=True)
    news_url = models.URLField(_("article link"), max_length=1024, blank=True)
    news_pic_url = models.URLField(_("article picture URL"), max_length=1024, blank=True)

    class Meta:
        abstract = True

    def clean_reply(self) -> dict[str, ValidationError]:
        errors: dict[str, ValidationError] = {}
        if self.reply_type == ReplyType.TEXT and not self.reply_text.strip():
            errors["reply_text"] = ValidationError(_("Enter the reply text."), code="required")
        if self.reply_type == ReplyType.NEWS:
            if not self.news_title.strip():
                errors["news_title"] = ValidationError(_("A news reply needs a title."), code="required")
            if not self.news_url:
                errors["news_url"] = ValidationError(_("A news reply needs a link."), code="required")
        return errors


class KeywordRule(ReplyContent):
    """An automatic reply to user text messages. Higher priority is tried first."""

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="keyword_rules",
    )
    name = models.CharField(_("name"), max_length=60)
    match_type = models.CharField(_("match type"), max_length=10, choices=MatchType, default=MatchType.EXACT)
    pattern = models.CharField(_("keyword or pattern"), max_length=PATTERN_MAX_LENGTH)
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Rules with a higher priority are tried first.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("keyword rule")
        verbose_name_plural = _("keyword rules")
        ordering = ["account", "-priority", "id"]
        indexes = [models.Index(fields=["account", "is_active", "-priority"])]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {**validate_pattern(self.match_type, self.pattern), **self.clean_reply()}
        if errors:
            raise ValidationError(errors)

    def matches(self, text: str) -> bool:
        return text_matches(self.match_type, self.pattern, text)


class WelcomeReply(ReplyContent):
    """What a new follower receives (the `subscribe` event)."""

    account = models.OneToOneField(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="welcome_reply",
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("welcome reply")
        verbose_name_plural = _("welcome replies")

    def __str__(self) -> str:
        return str(_("Welcome reply of %(account)s") % {"account": self.account})

    def clean(self) -> None:
        errors = self.clean_reply()
        if errors:
            raise ValidationError(errors)


class TransferRule(models.Model):
    """R-KF-03: which user messages are handed to customer service, and to whom.

    A rule applies within an optional daily time window (Asia/Shanghai), e.g.
    "everything outside office hours" is match type "any" from 18:00 to 09:00.
    """

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="transfer_rules",
    )
    name = models.CharField(_("name"), max_length=60)
    match_type = models.CharField(
        _("match type"),
        max_length=10,
        choices=TransferMatchType,
        default=TransferMatchType.CONTAINS,
    )
    pattern = models.CharField(
        _("keyword or pattern"),
        max_length=PATTERN_MAX_LENGTH,
        blank=True,
        help_text=_("Leave empty for “any message”."),
    )
    kf_account = models.ForeignKey(
        "KfAccount",
        verbose_name=_("customer-service account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Optional: hand the user to this agent only (TransInfo/KfAccount)."),
    )
    active_from = models.TimeField(_("active from"), null=True, blank=True)
    active_until = models.TimeField(
        _("active until"),
        null=True,
        blank=True,
        help_text=_("A window that ends before it starts runs over midnight (18:00 → 09:00)."),
    )
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("Rules with a higher priority are tried first.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("transfer rule")
        verbose_name_plural = _("transfer rules")
        ordering = ["account", "-priority", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = validate_pattern(self.match_type, self.pattern)
        if (self.active_from is None) != (self.active_until is None):
            errors["active_until"] = ValidationError(
                _("Give both ends of the time window, or neither."), code="window"
            )
        if (
            self.kf_account_id
            and self.account_id
            and self.kf_account is not None
            and self.kf_account.account_id != self.account_id
        ):
            errors["kf_account"] = ValidationError(
                _("This customer-service account belongs to another official account."), code="other_account"
            )
        if errors:
            raise ValidationError(errors)

    def in_window(self, moment: datetime.datetime) -> bool:
        if self.active_from is None or self.active_until is None:
            return True
        local = timezone.localtime(moment).time()
        if self.active_from <= self.active_until:
            return self.active_from <= local < self.active_until
        return local >= self.active_from or local < self.active_until

    def matches(self, text: str, moment: datetime.datetime) -> bool:
        return self.in_window(moment) and text_matches(self.match_type, self.pattern, text)


class Route(models.TextChoices):
    """Which rule answered a message (the order is the routing precedence)."""

    CLICK = "click", _("Menu click")
    WELCOME = "welcome", _("Welcome reply")
    KEYWORD = "keyword", _("Keyword rule")
    TRANSFER = "transfer", _("Transfer to customer service")
    KF_EVENT = "kf_event", _("Customer-service session event")
    NONE = "none", _("No reply")


#: WeChat's MsgType and Event codes as staff read them (the stored value stays WeChat's)
MSG_TYPE_LABELS = {
    "text": _("text"),
    "image": _("image"),
    "voice": _("voice"),
    "video": _("video"),
    "shortvideo": _("short video"),
    "location": _("location"),
    "link": _("link"),
    "event": _("event"),
}
EVENT_LABELS = {
    "subscribe": _("follow"),
    "unsubscribe": _("unfollow"),
    "CLICK": _("menu click"),
    "VIEW": _("menu link opened"),
    "SCAN": _("scan"),
    "LOCATION": _("location report"),
    "kf_create_session": _("customer-service session opened"),
    "kf_close_session": _("customer-service session closed"),
    "kf_switch_session": _("customer-service session switched"),
}


class InboundMessage(models.Model):
    """One push from WeChat (message or event) and the reply we gave.

    WeChat re-sends a push it got no answer to; (account, dedupe_key, sent_at) is unique
    so that a retry never makes a second row, and `reply_xml` is what every retry gets.

    On PostgreSQL the table is partitioned by month of `sent_at` (issue 30, migration 0011,
    `messaging/partitions.py`); a unique constraint of a partitioned table must contain the
    partition key, and the key was chosen for that constraint:

    - `sent_at` is WeChat's CreateTime, identical in every retry of a push (the same XML),
      so (account, dedupe_key, sent_at) refuses a retry in every case — a retry that comes
      after its Redis claim expired, through the write-through path while Redis is down,
      and across a month's boundary (the retry has the same `sent_at`, hence the same
      partition). `dedupe_key` (MsgId, or an event's FromUserName and CreateTime) already
      identifies the push; adding `sent_at` does not let two different pushes collide.
    - `received_at` differs between retries: (account, dedupe_key, received_at) would let
      every retry the Redis claim misses in as a second row, and the write-through path
      would lose its "this push was stored before" answer.
    - The pages filter and order by `received_at`, so they get no plan-time partition
      pruning: each reads the `received_at` (or account/OpenID/received_at) index of every
      partition, newest rows first through a merge — one short index descent per partition,
      and retention keeps their number at about four months plus three ahead. `sent_at` is
      within seconds of `received_at`, so the partitions a page needs are the newest.
    - Retention drops whole months (`retention.messages_prune`); a row whose CreateTime
      lies outside every monthly partition lands in the DEFAULT partition and is never lost.
    """

    # No separate index on account or openid: the unique (account, dedupe_key, sent_at) and the
    # (account, openid, received_at) indexes serve those lookups, and every index
    # costs time on the callback's INSERT.
    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="inbound_messages",
        db_index=False,
    )
    dedupe_key = models.CharField(_("deduplication key"), max_length=160, editable=False)
    openid = models.CharField(_("user OpenID"), max_length=64)
    msg_type = models.CharField(_("message type"), max_length=32)
    event = models.CharField(_("event"), max_length=40, blank=True)
    content = models.TextField(_("content or event key"), blank=True)
    msg_id = models.BigIntegerField(_("MsgId"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at (CreateTime)"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    route = models.CharField(_("route"), max_length=12, choices=Route, default=Route.NONE)
    keyword_rule = models.ForeignKey(
        KeywordRule,
        verbose_name=_("keyword rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reply_type = models.CharField(_("reply type"), max_length=32, blank=True)
    reply_summary = models.TextField(_("reply"), blank=True)
    reply_xml = models.TextField(_("reply XML"), blank=True)
    processing_ms = models.FloatField(_("processing time (ms)"), default=0)
    raw = models.JSONField(_("fields as received"), default=dict, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("message log")
        ordering = ["-received_at", "-id"]
        constraints = [
            # one row per push (docs/wechat-protocol.md §d), also across a month's boundary
            models.UniqueConstraint(
                fields=["account", "dedupe_key", "sent_at"], name="messaging_inbound_unique_push"
            ),
        ]
        indexes = [models.Index(fields=["account", "openid", "received_at"])]

    def __str__(self) -> str:
        # in Asia/Shanghai, as the page around it shows times
        when = timezone.localtime(self.received_at) if self.received_at else None
        return (
            f"{self.openid} {self.kind_label} {when:%Y-%m-%d %H:%M:%S}"
            if when
            else f"{self.openid} {self.kind_label}"
        )

    @property
    def kind_label(self) -> str:
        """The message type, or for an event the event, in the active language."""
        if self.msg_type == "event" and self.event:
            return str(EVENT_LABELS.get(self.event, self.event))
        return str(MSG_TYPE_LABELS.get(self.msg_type, self.msg_type))


class MessageDailyCount(models.Model):
    """Inbound messages of one account on one local day (Asia/Shanghai): the dashboard's source.

    A periodic task recounts the recent days from the log (`daily_counts.message_counts_refresh`),
    so the dashboard reads a few hundred small rows instead of scanning millions of messages.
    Rows outlive the retention window: the history of daily counts stays after pruning.
    """

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    day = models.DateField(_("day"))
    count = models.PositiveIntegerField(_("messages"), default=0)
    counted_at = models.DateTimeField(_("counted at"), default=timezone.now)

    class Meta:
        verbose_name = _("daily message count")
        verbose_name_plural = _("daily message counts")
        ordering = ["-day", "account"]
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="messaging_daily_count_unique"),
        ]
        indexes = [models.Index(fields=["day"], name="messaging_daily_count_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.count}"


def validate_kf_prefix(prefix: str) -> None:
    """R-KF-02: the work-number part of `prefix@wechatid`."""
    if not KF_PREFIX_RE.match(prefix or ""):
        raise ValidationError(_("The prefix is 1 to 10 letters, digits or underscores."), code="kf_prefix")


# Labels in a context of their own: the bare words ("Succeeded", "Failed") are translated
# for certification orders ("认证成功") in another catalogue, which would win here.
class KfAccountStatus(models.TextChoices):
    PENDING = "pending", _("Being added")
    ACTIVE = "active", pgettext_lazy("customer-service account", "Active")
    DELETING = "deleting", _("Being deleted")
    FAILED = "failed", pgettext_lazy("customer-service account", "Addition failed")


class KfAccount(models.Model):
    """R-KF-02: a customer-service account `prefix@wechatid` of one official account.

    Rows are created and changed through services that call the API in a task;
    a sync from getkflist/getonlinekflist refreshes nickname, binding and online status.
    """

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="kf_accounts",
    )
    kf_account = models.CharField(_("customer-service account"), max_length=KF_ACCOUNT_MAX_LENGTH)
    nickname = models.CharField(_("nickname"), max_length=KF_NICKNAME_MAX_LENGTH)
    status = models.CharField(
        _("status"), max_length=10, choices=KfAccountStatus, default=KfAccountStatus.PENDING
    )
    kf_id = models.CharField(_("KF id"), max_length=20, blank=True)
    headimgurl = models.URLField(_("avatar URL"), max_length=500, blank=True)
    kf_wx = models.CharField(_("bound WeChat user"), max_length=64, blank=True)
    invite_wx = models.CharField(_("invited WeChat user"), max_length=64, blank=True)
    invite_status = models.CharField(_("invitation status"), max_length=20, blank=True)
    online = models.BooleanField(_("online"), default=False)
    accepted_case = models.PositiveIntegerField(_("accepted sessions"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    synced_at = models.DateTimeField(_("synced at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("customer-service account")
        verbose_name_plural = _("customer-service accounts")
        ordering = ["account", "kf_account"]
        constraints = [
            models.UniqueConstraint(fields=["account", "kf_account"], name="messaging_kf_account_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.nickname} ({self.kf_account})"

    @property
    def prefix(self) -> str:
        return self.kf_account.split("@", 1)[0]


class KfOperationAction(models.TextChoices):
    ADD = "add", _("Add")
    UPDATE = "update", _("Change nickname")
    DELETE = "delete", _("Delete")
    AVATAR = "avatar", _("Upload avatar")
    SYNC = "sync", _("Sync from WeChat")


class KfOperationStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("customer-service operation", "Pending")
    SUCCEEDED = "succeeded", pgettext_lazy("customer-service operation", "Succeeded")
    FAILED = "failed", pgettext_lazy("customer-service operation", "Failed")


def kf_avatar_path(instance: KfOperation, filename: str) -> str:
    return f"kf-avatars/{instance.account_id}/{timezone.now():%Y%m%d%H%M%S}-{filename[-40:]}"


class KfOperation(models.Model):
    """One call that changes (or reads) the KF team remotely — the visible record of it."""

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="kf_operations",
    )
    kf = models.ForeignKey(
        KfAccount,
        verbose_name=_("customer-service account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="operations",
    )
    kf_account = models.CharField(_("customer-service account"), max_length=KF_ACCOUNT_MAX_LENGTH, blank=True)
    action = models.CharField(_("action"), max_length=10, choices=KfOperationAction)
    nickname = models.CharField(_("nickname"), max_length=KF_NICKNAME_MAX_LENGTH, blank=True)
    avatar = models.FileField(_("avatar"), upload_to=kf_avatar_path, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=KfOperationStatus, default=KfOperationStatus.PENDING
    )
    errcode = models.IntegerField(_("error code"), null=True, blank=True)
    errmsg = models.CharField(_("error message"), max_length=300, blank=True)
    explanation = models.TextField(_("explanation"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    #: when a try took it (its lease, `kf.operations.kf_lease`); None: free to take
    claimed_at = models.DateTimeField(_("taken at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer-service operation")
        verbose_name_plural = _("customer-service operations")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.kf_account}"


class KfSessionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class KfSession(models.Model):
    """Who serves whom, kept up to date by kf_*_session events (R-KF-03)."""

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="kf_sessions",
    )
    openid = models.CharField(_("user OpenID"), max_length=64)
    kf_account = models.CharField(_("customer-service account"), max_length=KF_ACCOUNT_MAX_LENGTH)
    status = models.CharField(
        _("status"), max_length=10, choices=KfSessionStatus, default=KfSessionStatus.OPEN
    )
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    switched_from = models.CharField(_("switched from"), max_length=KF_ACCOUNT_MAX_LENGTH, blank=True)

    class Meta:
        verbose_name = _("customer-service session")
        verbose_name_plural = _("customer-service sessions")
        ordering = ["-opened_at", "-id"]
        constraints = [
            # one open session per user and account at a time
            models.UniqueConstraint(
                fields=["account", "openid"],
                condition=models.Q(status="open"),
                name="messaging_one_open_kf_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.openid} ↔ {self.kf_account}"


class KfWaitCase(models.Model):
    """A user waiting in the customer-service queue (from getwaitcase, replaced on each sync)."""

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="kf_wait_cases",
    )
    openid = models.CharField(_("user OpenID"), max_length=64)
    latest_time = models.DateTimeField(_("waiting since"))
    synced_at = models.DateTimeField(_("synced at"), default=timezone.now)

    class Meta:
        verbose_name = _("waiting user")
        verbose_name_plural = _("waiting queue")
        ordering = ["account", "latest_time"]
        constraints = [
            models.UniqueConstraint(fields=["account", "openid"], name="messaging_wait_unique"),
        ]

    def __str__(self) -> str:
        return self.openid
