"""A view's permission, stated once: checked on each request and readable by the sidebar."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

View = TypeVar("View", bound=Callable[..., Any])

#: the attribute of a view (and of the admin_view wrapping it) naming its permission
ATTRIBUTE = "required_permission"


def requires_permission(permission: str) -> Callable[[View], View]:
    """A view answers 403 to a user without `permission` ("app_label.codename").

    The permission stays on the view (and on `admin_view`'s wrapper, which copies the
    view's attributes), so `wxadmin.navigation` shows a link to the page only to those
    who may open it, without a second list."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not request.user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        setattr(checked, ATTRIBUTE, permission)
        return cast(View, checked)  # functools.wraps: the same call signature as `view`

    return decorate


def required_permission(view: Callable[..., Any]) -> str | None:
    """The permission `requires_permission` put on `view` (or on what wraps it), if any."""
    permission = getattr(view, ATTRIBUTE, None)
    return permission if isinstance(permission, str) else None
