"""`CertificationError`: the refusal every certification service raises."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.domain_errors import DomainError


class CertificationError(DomainError, ValidationError):
    """A business rule refused the operation; the message says which and why."""
