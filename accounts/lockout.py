"""What a locked-out login sees (django-axes calls `lockout_response`; issue 9).

After AXES_FAILURE_LIMIT failed logins for one username or from one address, the
login page answers 429 with a message saying how long to wait and who can unlock.
"""

import math

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def cooloff_minutes() -> int:
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


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
