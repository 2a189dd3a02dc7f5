"""The one base of our apps' business errors (`wechat/` has its own and imports none of ours).

Each app's error base derives from `DomainError`, keeping `ValidationError` or `ValueError`
as its second base where callers (forms, services) catch those; a view or admin that shows
"any of our errors" to the user catches `DomainError` and shows `user_message`.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError


class DomainError(Exception):
    """A business rule refused the operation; the message says which and why, already
    translated, and is shown to the user as is.

    No `__init__` and no `message`/`messages` here: a subclass that is also a
    `ValidationError` keeps that class's constructor and its per-field messages."""

    @property
    def user_message(self) -> str:
        """The text for the user: every message of a ValidationError, or the error itself."""
        if isinstance(self, ValidationError):
            return " ".join(str(message) for message in self.messages)
        return str(self)
