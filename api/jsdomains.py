"""JS-SDK domains: which page URLs jssdk-config may sign (issue 27)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_HOST = re.compile(r"^(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:[0-9]{1,5})?\Z")


def normalise_domain(value: str) -> str:
    """`m.example.com` (lower-case, no scheme, path or trailing dot), or a ValidationError."""
    domain = value.strip().lower().rstrip(".")
    if not _HOST.match(domain):
        raise ValidationError(
            _("Enter a host name such as m.example.com, without https:// and without a path."),
            code="invalid",
        )
    return domain


def page_host(url: str) -> str | None:
    """The host (with a non-default port) of an http(s) page URL, or None when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    return parts.hostname if port in (None, default) else f"{parts.hostname}:{port}"
