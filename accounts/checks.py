from collections.abc import Sequence

from cryptography.fernet import Fernet
from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register()
def check_field_encryption_keys(
    app_configs: Sequence[AppConfig] | None, **kwargs: object
) -> list[CheckMessage]:
    """Every FIELD_ENCRYPTION_KEYS entry must be a Fernet key (urlsafe base64 of 32 bytes)."""
    errors: list[CheckMessage] = []
    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", [])
    if not keys:
        errors.append(
            Error(
                "FIELD_ENCRYPTION_KEYS is empty.",
                id="accounts.E001",
                hint="Generate one with: python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())'",
            )
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            errors.append(
                Error(f"FIELD_ENCRYPTION_KEYS entry {position} is not a Fernet key.", id="accounts.E002")
            )
    return errors
