"""Error pages in the admin's layout, in the user's language, with a way back.

Staff who are signed in get the sidebar and header of the admin around the message;
anyone else (and every 500, where the database may be what failed) gets a plain page
that loads nothing but static files. No traceback or internal detail is shown.
"""

from __future__ import annotations

import logging

from django.contrib import admin
from django.http import HttpResponse
from django.template import loader
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

TEXTS = {
    403: (
        lambda: _("You may not open this page"),
        lambda: _(
            "Your role or the accounts assigned to you do not include it. Ask an "
            "administrator if you need access."
        ),
    ),
    404: (lambda: _("Page not found"), lambda: _("The address is wrong, or what it pointed to was deleted.")),
    500: (
        lambda: _("Something went wrong on our side"),
        lambda: _(
            "The error was recorded. Try again in a moment; if it keeps happening, "
            "tell an administrator what you were doing."
        ),
    ),
}


def _render(request, status: int) -> HttpResponse:
    title, text = (part() for part in TEXTS[status])
    context = {
        "status": status,
        "title": title,
        "text": text,
        "back": request.headers.get("referer", "") if request else "",
    }
    user = getattr(request, "user", None)
    if status != 500 and user is not None and user.is_active and user.is_staff:
        try:
            context.update(admin.site.each_context(request))
            context["title"] = title
            body = loader.render_to_string("admin/error.html", context, request)
            return HttpResponse(body, status=status)
        except Exception:  # fall back to the plain page, never a second error
            logger.exception("error page in the admin layout failed; plain page instead")
    body = loader.render_to_string("error_plain.html", context)
    return HttpResponse(body, status=status)


def permission_denied(request, exception=None):
    return _render(request, 403)


def page_not_found(request, exception=None):
    return _render(request, 404)


def server_error(request=None):
    return _render(request, 500)
