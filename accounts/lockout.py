"""What a locked-out login sees (django-axes calls `lockout_response`; issue 9).

After AXES_FAILURE_LIMIT failed logins for one username or from one address, the
login page answers 429 with a message saying how long to wait and who can unlock.

The policy (issue 22 §1): a successful login clears the failed attempts of *that
username only*. django-axes' own AXES_RESET_ON_SUCCESS deletes every attempt matching
any lockout parameter -- with ["username", "ip_address"] that includes the attempts from
the same address against other usernames, so an attacker's own valid login wiped their
guesses at a victim and the guessing never locked. AXES_RESET_ON_SUCCESS stays off and
`clear_attempts_of_username` (connected to `user_logged_in` in accounts.apps) does the
narrow reset; the address's sum over other usernames keeps counting.
"""

import math

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def cooloff_minutes() -> int:
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def clear_attempts_of_username(
    sender: object, request: HttpRequest, user: AbstractBaseUser, **kwargs: object
) -> None:
    """After a successful login, forget the failures recorded for this username, and only those."""
    from axes.models import AccessAttempt

    AccessAttempt.objects.filter(username=user.get_username()).delete()


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: object = None
) -> HttpResponse:
    message = _(
        "Too many failed logins for this account or from this address. Try again in "
        "%(minutes)d minutes, or ask an administrator to unlock it."
    ) % {"minutes": cooloff_minutes()}
    context = {
        **admin.site.each_context(request),
        "title": _("Log in"),
        "app_path": request.get_full_path(),
        "form": AdminAuthenticationForm(request),
        "lockout_message": message,
    }
    return render(
        request,
        "admin/accounts/locked_out.html",
        context,
        status=getattr(settings, "AXES_HTTP_RESPONSE_CODE", 429),
    )  # axes fills in its default
