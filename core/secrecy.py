"""Keeping credentials out of HTML, logs and error reports.

Decrypted credentials are `Secret` strings: ordinary `str` for code, but their
`repr()` is masked, so debug pages, `%r` logging and pprint never show them.
"""

from __future__ import annotations

import re
from types import FrameType
from typing import Any

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

MASK = "••••••••"


class Secret(str):
    """A str whose repr never reveals the value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Secret({MASK})"


def mask(value: str | None, *, visible: int = 4) -> str:
    """Show only the last `visible` characters, enough to tell two secrets apart."""
    if not value:
        return ""
    tail = value[-visible:] if len(value) > 4 * visible else ""
    return f"{MASK}{tail}"


class SecretScrubbingReporterFilter(SafeExceptionReporterFilter):
    """Error reports never show credentials, even in views nobody decorated.

    Django only cleanses POST data and frame variables of views marked with
    `sensitive_post_parameters`/`sensitive_variables`; here every field or variable
    whose name looks like a credential is cleansed, and `Secret` values always are.
    """

    hidden_settings = re.compile(
        r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AES|DATABASE_URL|REDIS_URL|EMAIL_URL",
        flags=re.IGNORECASE,
    )

    def is_active(self, request: HttpRequest | None) -> bool:
        return True

    def get_post_parameters(self, request: HttpRequest | None) -> dict[str, Any]:
        if request is None:
            return {}
        cleansed = request.POST.copy()
        for name in cleansed:
            if self.hidden_settings.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def cleanse_special_types(self, request: HttpRequest | None, value: Any) -> Any:
        if isinstance(value, Secret):
            return self.cleansed_substitute
        return super().cleanse_special_types(request, value)

    # The stubs say ItemsView; Django only iterates the (name, value) pairs.
    def get_traceback_frame_variables(  # type: ignore[override]
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> list[tuple[str, Any]]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (name, self.cleansed_substitute if self.hidden_settings.search(name) else value)
            for name, value in variables
        ]
