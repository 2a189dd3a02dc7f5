"""Keeping credentials and tokens out of logs and Sentry events.

The same rule as the error reports (`core.secrecy.SecretScrubbingReporterFilter`):
any field, variable or parameter whose name looks like a credential is replaced,
and `Secret` values always are. Text is scrubbed too, because secrets travel in
URLs (``?access_token=…``, ``&secret=…``) that exceptions and log messages quote.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, cast

if TYPE_CHECKING:
    from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

FILTERED = "[FILTERED]"

#: `LogRecord.args`: a tuple for positional %-formatting, a mapping for %(name)s.
LogArgs: TypeAlias = tuple[object, ...] | Mapping[str, object]

# name=value / "name": "value" / name: value where name looks like a credential.
_TEXT_PAIR = re.compile(
    r"""(?P<name>[A-Za-z0-9_\-]*(?:token|secret|key|pass|signature|aes)[A-Za-z0-9_\-]*)"""
    r"""(?P<sep>\\?["']?\s*[=:]\s*\\?["']?)(?P<value>[^\s"'\\&,;}<>]+)""",
    re.IGNORECASE,
)
# Credentials inside URLs: scheme://user:password@host
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s/]+(?P<at>@)", re.IGNORECASE)


# Cheap pre-checks: most log text has no credential-looking word and no URL with a password.
_MAYBE_PAIR = re.compile(r"token|secret|key|pass|signature|aes", re.IGNORECASE)


@functools.cache
def _secret_type() -> type:
    from core.secrecy import Secret

    return Secret


@functools.lru_cache(maxsize=4096)
def hidden_name(name: str) -> bool:
    """Does this field or variable name look like a credential (the error reports' rule)?"""
    from core.secrecy import SecretScrubbingReporterFilter

    return bool(SecretScrubbingReporterFilter.hidden_settings.search(name))


def scrub_text(text: str) -> str:
    """Mask credential-looking pairs and URL passwords in free text."""
    if not text:
        return text
    if _MAYBE_PAIR.search(text):
        text = _TEXT_PAIR.sub(lambda m: f"{m['name']}{m['sep']}{FILTERED}", text)
    if "://" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{FILTERED}{m['at']}", text)
    return text


def scrub(value: Any, *, depth: int = 0) -> Any:
    """Scrub a structure (dicts, lists, strings) recursively; credential-named keys masked."""
    if isinstance(value, str):
        return FILTERED if isinstance(value, _secret_type()) else scrub_text(value)
    if depth > 12:
        return value
    if isinstance(value, dict):
        return {
            key: (
                FILTERED
                if isinstance(key, str) and hidden_name(key) and not isinstance(item, (dict, list, tuple))
                else scrub(item, depth=depth + 1)
            )
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(item, depth=depth + 1) for item in value)
    return value


def has_secret(args: LogArgs) -> bool:
    """Do log-record arguments hold a `Secret` (which ``%s`` would print)?"""
    values = args.values() if isinstance(args, dict) else args if isinstance(args, tuple) else ()
    secret = _secret_type()
    return any(isinstance(item, secret) for item in values)


def mask_args(args: LogArgs) -> LogArgs:
    """Log-record arguments with `Secret` values masked."""
    secret = _secret_type()
    if isinstance(args, dict):
        return {key: FILTERED if isinstance(item, secret) else item for key, item in args.items()}
    if isinstance(args, tuple):
        return tuple(FILTERED if isinstance(item, secret) else item for item in args)
    return args


# --- Sentry ------------------------------------------------------------------------------------

# Keys of a Sentry event that hold the SDK's own bookkeeping, not user data.
_SENTRY_KEEP = {"sdk", "modules", "debug_meta"}


def sentry_before_send(event: Event, hint: Hint | None = None) -> Event:
    """Sentry's `before_send`: the event scrubbed like an error report, cookies dropped."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            for name in list(headers):
                if name.lower() in ("cookie", "authorization", "x-csrftoken"):
                    headers[name] = FILTERED
    return cast(
        "Event", {key: (value if key in _SENTRY_KEEP else scrub(value)) for key, value in event.items()}
    )


def sentry_before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint | None = None) -> Breadcrumb:
    return cast("Breadcrumb", scrub(crumb))


def sentry_init(
    *, dsn: str, environment: str = "", release: str = "", traces_sample_rate: float = 0.0
) -> None:
    """Start Sentry (Django, Celery, logging) with the scrubbing above (PII stays off: the default)."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        traces_sample_rate=traces_sample_rate,
        before_send=sentry_before_send,
        before_send_transaction=sentry_before_send,
        before_breadcrumb=sentry_before_breadcrumb,
    )
