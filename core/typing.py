"""Type aliases shared by the apps. A leaf module: it imports none of our apps.

``Actor`` is the type of the ``by`` argument of services: the staff member who
acts (the admin's ``request.user``), or None when the system acts (Celery tasks,
beat, WeChat's pushes) — then no permission check is made and nobody is recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Actor: TypeAlias = "User | None"


class AuthenticatedHttpRequest(HttpRequest):
    """For annotations only: a request behind the admin's login, whose user is never anonymous."""

    user: User
