"""Client systems of the HTTP API (issue 27): who may call it, for which accounts, and the
audit of every call.

A client system belongs to one or more official accounts; staff see it only when they may see
every one of them (`selectors.clients_visible_to`). Keys are stored as a SHA-256 of a
high-entropy secret with a public lookup prefix: the key itself is shown once and never stored.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import OfficialAccount


def parse_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """One address or CIDR network a line (blank lines and `#` comments ignored)."""
    networks = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            networks.append(ipaddress.ip_network(line, strict=False))
        except ValueError:
            raise ValidationError(
                _("“%(line)s” is not an IP address or network (e.g. 203.0.113.7 or 203.0.113.0/24)."),
                params={"line": line},
            ) from None
    return networks


def validate_networks(text: str) -> None:
    parse_networks(text)


class ClientSystem(models.Model):
    """Another system of the client (mini-program backend, H5 site…) that calls the API."""

    name = models.CharField(_("name"), max_length=80)
    accounts = models.ManyToManyField(
        OfficialAccount, verbose_name=_("official accounts"), related_name="api_clients"
    )
    allowed_ips = models.TextField(
        _("IP allow-list"),
        blank=True,
        validators=[validate_networks],
        help_text=_("One address or network a line (203.0.113.7, 203.0.113.0/24). Empty: any address."),
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        _("calls per minute"),
        default=600,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    expires_at = models.DateTimeField(
        _("expires at"), null=True, blank=True, help_text=_("Empty: never. Every key stops working then.")
    )
    can_send_templates = models.BooleanField(
        _("may send template messages"),
        default=False,
        help_text=_(
            "The key's scope for POST …/template-messages (only staff who may send template "
            "messages can grant it)."
        ),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("client system")
        verbose_name_plural = _("client systems")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())


class ApiKey(models.Model):
    """One key of a client system: `wxk_<prefix>_<secret>`, stored as prefix + sha256(key).

    Rotation gives the old key a `retires_at` (the grace period), revocation a `revoked_at`.
    """

    client = models.ForeignKey(
        ClientSystem, verbose_name=_("client system"), on_delete=models.CASCADE, related_name="keys"
    )
    prefix = models.CharField(_("key prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    retires_at = models.DateTimeField(_("valid until (rotation)"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"wxk_{self.prefix}_…"


class JsDomain(models.Model):
    """A JS interface safe domain (JS接口安全域名) of an account, as set on WeChat's platform:
    jssdk-config signs only pages on these hosts (issue 27)."""

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="js_domains",
    )
    domain = models.CharField(
        _("domain"),
        max_length=253,
        help_text=_("The host name as registered on WeChat, e.g. m.example.com (no https://, no path)."),
    )

    class Meta:
        verbose_name = _("JS-SDK domain")
        verbose_name_plural = _("JS-SDK domains")
        ordering = ["account", "domain"]
        constraints = [models.UniqueConstraint(fields=["account", "domain"], name="api_jsdomain_unique")]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        from .jsdomains import normalise_domain

        self.domain = normalise_domain(self.domain)


class Outcome(models.TextChoices):
    OK = "ok", _("OK")
    UNAUTHENTICATED = "unauthenticated", _("No valid key")
    FORBIDDEN = "forbidden", _("Refused")
    NOT_FOUND = "not_found", _("Not found")
    RATE_LIMITED = "rate_limited", _("Rate limited")
    BAD_REQUEST = "bad_request", _("Bad request")
    WECHAT_ERROR = "wechat_error", _("WeChat error")
    ERROR = "error", _("Server error")


class ApiCall(models.Model):
    """The audit of one API call, written whatever its outcome (issue 27)."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    client = models.ForeignKey(
        ClientSystem, verbose_name=_("client system"), null=True, blank=True, on_delete=models.SET_NULL
    )
    key = models.ForeignKey(
        ApiKey,
        verbose_name=_("API key"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    key_prefix = models.CharField(_("key prefix"), max_length=16, blank=True)
    account = models.ForeignKey(
        OfficialAccount, verbose_name=_("official account"), null=True, blank=True, on_delete=models.SET_NULL
    )
    appid = models.CharField(_("AppID"), max_length=32, blank=True)
    endpoint = models.CharField(_("endpoint"), max_length=40)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome)
    status = models.PositiveSmallIntegerField(_("HTTP status"))
    error_code = models.CharField(_("error code"), max_length=40, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("API call")
        verbose_name_plural = _("API calls")
        ordering = ["-at"]
        indexes = [models.Index(fields=["key", "-at"], name="api_call_key_at")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.status}"


class ApiSend(models.Model):
    """A template send made through the API, and the client system that made it: a key may
    look up only its own client system's sends (GET …/template-messages/{id})."""

    client = models.ForeignKey(
        ClientSystem, verbose_name=_("client system"), on_delete=models.CASCADE, related_name="sends"
    )
    send = models.OneToOneField(
        "notifications.Send", verbose_name=_("template send"), on_delete=models.CASCADE, related_name="api"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("template send through the API")
        verbose_name_plural = _("template sends through the API")

    def __str__(self) -> str:
        return f"{self.client} → {self.send_id}"


class IdempotencyRecord(models.Model):
    """The answer to a POST made with an `Idempotency-Key` header, per client system (issue 27).

    Written in the same transaction as what the request did (the template send), so a
    request is either done and recorded or neither: a retry with the same key and the same
    body replays `status` and `body`; with another body it is refused. A duplicate that
    arrives while the first is in flight waits on the row's unique index and then replays.
    Kept `API_IDEMPOTENCY_HOURS` (24 by default), pruned by `api.prune_idempotency`.
    """

    client = models.ForeignKey(ClientSystem, verbose_name=_("client system"), on_delete=models.CASCADE)
    key = models.CharField(_("idempotency key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    endpoint = models.CharField(_("endpoint"), max_length=40)
    status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    body = models.JSONField(_("answer"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="api_idempotency_unique"),
        ]

    def __str__(self) -> str:
        return self.key
