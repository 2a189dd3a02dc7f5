"""Access-token status per account (R-MENU-04) — what the admin shows; never the token."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from wechat.errors import explain, is_temporary

from .models import TokenSource


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
