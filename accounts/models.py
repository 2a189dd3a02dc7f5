"""Entities (主体), the official accounts they own with their credentials, and each account's
access-token status (R-MENU-04)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.secrecy import mask
from wechat.errors import explain, is_temporary

from . import validators
from .fields import EncryptedTextField

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class EntityKind(models.TextChoices):
    """R-CERT-01: only enterprise and media entities can certify a service account."""

    ENTERPRISE = "enterprise", _("Enterprise")
    MEDIA = "media", _("Media")


class EntitySubtype(models.TextChoices):
    """R-CERT-01: the subtypes seen in the chapter, each belonging to one kind."""

    GENERAL_ENTERPRISE = "general_enterprise", _("General enterprise")
    ARTIST_AGENCY = "artist_agency", _("Artist-authorised company")
    INDIVIDUAL_BUSINESS = "individual_business", _("Individual business")
    BROADCAST_TV = "broadcast_tv", _("Broadcast / TV")
    NEWSPAPER = "newspaper", _("Newspaper")
    PERIODICAL = "periodical", _("Periodical")
    ONLINE_MEDIA = "online_media", _("Online media")


SUBTYPES_BY_KIND: dict[str, set[str]] = {
    EntityKind.ENTERPRISE: {
        EntitySubtype.GENERAL_ENTERPRISE,
        EntitySubtype.ARTIST_AGENCY,
        EntitySubtype.INDIVIDUAL_BUSINESS,
    },
    EntityKind.MEDIA: {
        EntitySubtype.BROADCAST_TV,
        EntitySubtype.NEWSPAPER,
        EntitySubtype.PERIODICAL,
        EntitySubtype.ONLINE_MEDIA,
    },
}


#: Issue 22 §5: a value another row holds gets these words whoever owns that row (the
#: staff member's own account or another tenant's), so the answer confirms nothing about
#: other tenants. Used as the `unique` error of every unique field staff type, and by the
#: CSV import for an AppID it may not update (accounts/resources.py).
TAKEN_MESSAGE = _("This %(field_label)s cannot be used; enter another one.")
TAKEN = {"unique": TAKEN_MESSAGE}


def taken_message(model: type[models.Model], field_name: str) -> str:
    """The words Django's unique check uses (it capitalises the label too)."""
    field = model._meta.get_field(field_name)
    return TAKEN_MESSAGE % {"field_label": capfirst(getattr(field, "verbose_name", field_name))}


class Entity(models.Model):
    """The legal body (主体) behind official accounts. R-CERT-14: one entity, many accounts.

    R-CERT-03/04/05: the data certification asks for — registration code, legal
    representative, registered capital, office address and phone, and the
    corporate bank account the reviewer's micro-deposit goes to.
    """

    full_name = models.CharField(_("full name"), max_length=200, unique=True, error_messages=TAKEN)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    kind = models.CharField(_("entity type"), max_length=20, choices=EntityKind)
    subtype = models.CharField(_("subtype"), max_length=30, choices=EntitySubtype)
    credit_code = models.CharField(
        _("unified social credit code / organisation code"),
        max_length=20,
        blank=True,
        validators=[validators.validate_credit_code],
    )
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)
    registered_capital = models.DecimalField(
        _("registered capital (10,000 CNY)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    office_address = models.CharField(_("office address"), max_length=300, blank=True)
    office_phone = models.CharField(_("office phone"), max_length=40, blank=True)
    bank_name = models.CharField(_("corporate bank"), max_length=200, blank=True)
    bank_account_number = models.CharField(_("corporate bank account number"), max_length=40, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("entity")
        verbose_name_plural = _("entities")
        ordering = ["full_name"]
        # issue 22 §2: the one installation permission (accounts/installation.py); no role has it
        permissions = [
            ("operate_installation", _("Can operate the installation (schedules, task results, lockouts)"))
        ]

    def __str__(self) -> str:
        return self.short_name or self.full_name

    def clean(self) -> None:
        """R-CERT-01: the subtype must belong to the entity's type."""
        if self.kind and self.subtype and self.subtype not in SUBTYPES_BY_KIND.get(self.kind, ()):
            raise ValidationError(
                {
                    "subtype": _("“%(subtype)s” is not a subtype of “%(kind)s”.")
                    % {"subtype": self.get_subtype_display(), "kind": self.get_kind_display()}
                }
            )


class AccountType(models.TextChoices):
    SERVICE = "service", _("Service account")
    SUBSCRIPTION = "subscription", _("Subscription account")


class MessageMode(models.TextChoices):
    """How WeChat sends messages to our callback (docs/wechat-protocol.md §e)."""

    PLAINTEXT = "plaintext", _("Plaintext")
    COMPATIBLE = "compatible", _("Compatible")
    SAFE = "safe", _("Safe (encrypted)")


class TokenSource(models.TextChoices):
    """Which WeChat endpoint issues this account's access tokens (their tokens are separate)."""

    CLASSIC = "classic", _("cgi-bin/token")
    STABLE = "stable", _("stable_token")


#: stable_token only hands out a new token in the last 5 minutes of the current one.
STABLE_RENEW_SECONDS = 300


class OfficialAccountQuerySet(models.QuerySet["OfficialAccount"]):
    def visible_to(self, user: User | AnonymousUser) -> OfficialAccountQuerySet:
        """Superusers see every account; other active staff only those assigned to them.

        The one scoping rule: `accounts.selectors.accounts_visible_to` wraps it.
        """
        if user.is_superuser:
            return self
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return self.none()
        return self.filter(assigned_staff=user)


class OfficialAccount(models.Model):
    """A WeChat official account and its credentials.

    The AppSecret, server token and EncodingAESKey are encrypted at rest and are
    never rendered: forms take new values only, and the admin shows them masked.
    """

    entity = models.ForeignKey(
        Entity, verbose_name=_("entity"), on_delete=models.PROTECT, related_name="accounts"
    )
    name = models.CharField(_("account name"), max_length=64)
    wechat_id = models.CharField(
        _("WeChat ID"), max_length=20, blank=True, validators=[validators.validate_wechat_id]
    )
    original_id = models.CharField(
        _("original ID"),
        max_length=15,
        unique=True,
        validators=[validators.validate_original_id],
        error_messages=TAKEN,
    )
    account_type = models.CharField(
        _("account type"), max_length=20, choices=AccountType, default=AccountType.SERVICE
    )
    appid = models.CharField(
        _("AppID"), max_length=18, unique=True, validators=[validators.validate_appid], error_messages=TAKEN
    )
    appsecret = EncryptedTextField(_("AppSecret"), validators=[validators.validate_appsecret])
    server_token = EncryptedTextField(_("server token"), validators=[validators.validate_server_token])
    encoding_aes_key = EncryptedTextField(
        _("EncodingAESKey"), validators=[validators.validate_encoding_aes_key]
    )
    credentials_changed_at = models.DateTimeField(
        _("credentials changed at"), null=True, blank=True, editable=False
    )
    message_mode = models.CharField(
        _("message mode"), max_length=20, choices=MessageMode, default=MessageMode.SAFE
    )
    token_source = models.CharField(
        _("access token source"),
        max_length=10,
        choices=TokenSource,
        default=TokenSource.CLASSIC,
    )
    developer_mode = models.BooleanField(_("developer mode"), default=True)
    kf_enabled = models.BooleanField(_("customer-service plug-in"), default=False)
    certified_until = models.DateField(
        _("certified until"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Set by certification orders; the certification badge shows until this day."),
    )
    assigned_staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned staff"),
        blank=True,
        related_name="assigned_accounts",
    )
    #: when WeChat's URL check (the GET with echostr, signed with the server token) last reached
    #: us: the proof that the MP console's server settings were pasted right (issue 29 §7)
    callback_verified_at = models.DateTimeField(
        _("URL verified by WeChat at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = OfficialAccountQuerySet.as_manager()
    # Credentials are left out of the history: it would be a second, less guarded copy. The
    # URL check's time is not an edit by anyone.
    history = HistoricalRecords(
        excluded_fields=["appsecret", "server_token", "encoding_aes_key", "callback_verified_at"]
    )

    CREDENTIAL_FIELDS = ("appsecret", "server_token", "encoding_aes_key")

    class Meta:
        verbose_name = _("official account")
        verbose_name_plural = _("official accounts")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """R-KF-01: only certified service accounts can enable the customer-service plug-in,
        an advanced interface that certification unlocks (R-POST-05)."""
        if self.kf_enabled and not (self.is_service and self.is_certified()):
            raise ValidationError(
                {"kf_enabled": _("Only certified service accounts can enable the customer-service plug-in.")}
            )

    @property
    def is_service(self) -> bool:
        return self.account_type == AccountType.SERVICE

    def is_certified(self, today: datetime.date | None = None) -> bool:
        """R-CERT-16 / R-POST-02: certified while the last certification is still valid;
        while it is, the advanced interfaces are on (R-POST-05)."""
        if self.certified_until is None:
            return False
        today = today or timezone.localdate()
        return today <= self.certified_until

    def masked(self, field: str) -> str:
        return mask(getattr(self, field))

    def set_credentials(self, **values: str) -> None:
        """Replace some credentials, recording when (never what) they changed."""
        for field, value in values.items():
            if field not in self.CREDENTIAL_FIELDS:
                raise ValueError(field)
            setattr(self, field, value)
        if values:
            self.credentials_changed_at = timezone.now()


# Access-token status per account (R-MENU-04): what the admin shows, never the token.


class TokenState(models.TextChoices):
    UNKNOWN = "unknown", _("not fetched yet")
    VALID = "valid", _("valid")
    EXPIRING = "expiring", _("expiring soon")
    EXPIRED = "expired", _("expired")
    FAILING = "failing", _("last fetch failed")


class AccountTokenStatus(models.Model):
    """Mirror of the Redis token store's status for one account, written after every fetch.

    R-MENU-04: tokens are fetched by one refresher at a time; this row shows when
    the last one was fetched, when it expires, how many fetches WeChat counted
    today (2000 a day) and the last error with what to do about it.
    """

    account = models.OneToOneField(
        "accounts.OfficialAccount",
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="token_status",
    )
    source = models.CharField(
        _("token source"), max_length=10, choices=TokenSource.choices, default=TokenSource.CLASSIC
    )
    fetched_at = models.DateTimeField(_("fetched at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    fetches_today = models.PositiveIntegerField(_("fetches today"), default=0)
    fetches_day = models.DateField(_("day of the count"), null=True, blank=True)
    last_errcode = models.IntegerField(_("last error code"), null=True, blank=True)
    last_errmsg = models.CharField(_("last error message"), max_length=500, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    last_manual_refresh_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last refreshed by hand by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_manual_refresh_at = models.DateTimeField(_("last refreshed by hand at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("access token status")
        verbose_name_plural = _("access token status")
        ordering = ["expires_at"]

    def __str__(self) -> str:
        return str(self.account)

    @property
    def last_error_explanation(self) -> str:
        """Translated: what the last error means and what to do (e.g. 40164 whitelist)."""
        return explain(self.last_errcode) if self.last_errcode is not None else ""

    @property
    def last_error_is_lasting(self) -> bool:
        return self.last_errcode is not None and not is_temporary(self.last_errcode)

    def fetches_on(self, day: datetime.date) -> int:
        """Fetches counted on `day` (Beijing time; WeChat's quota day)."""
        return self.fetches_today if self.fetches_day == day else 0

    def state(self, now: datetime.datetime | None = None) -> str:
        """valid / expiring (within the refresh margin) / expired / failing / unknown."""
        now = now or timezone.now()
        if self.last_errcode is not None:
            return TokenState.FAILING
        if self.expires_at is None:
            return TokenState.UNKNOWN
        if self.expires_at <= now:
            return TokenState.EXPIRED
        margin = datetime.timedelta(seconds=settings.WECHAT_TOKEN_MARGIN_SECONDS)
        if self.expires_at - now <= margin:
            return TokenState.EXPIRING
        return TokenState.VALID
