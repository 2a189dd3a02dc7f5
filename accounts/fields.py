"""An encrypted text field for credentials (Fernet, key rotation via FIELD_ENCRYPTION_KEYS).

Written here rather than taken from a package: the maintained Fernet field packages
derive their keys from SECRET_KEY (so rotating SECRET_KEY breaks stored data) and
silently return the ciphertext when no key fits; we want independent keys and a
loud failure.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from core.secrecy import Secret


class UndecryptableValue(ImproperlyConfigured):
    """No key in FIELD_ENCRYPTION_KEYS decrypts a stored value (a key was dropped too early)."""


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("Set the FIELD_ENCRYPTION_KEYS environment variable.")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> Secret:
    try:
        return Secret(fernet().decrypt(token.encode("ascii")).decode("utf-8"))
    except InvalidToken:
        raise UndecryptableValue(
            "A stored credential cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."
        ) from None


#: How serialisers (dumpdata, fixtures) write these fields: the ciphertext, marked.
SERIALISED_PREFIX = "fernet:"


class EncryptedTextField(models.TextField):
    """Stores Fernet ciphertext; Python code sees a `Secret` plaintext.

    Each save produces a different ciphertext, so the column cannot be searched
    or used in a unique constraint; equality lookups are meaningless.

    Serialisers (`dumpdata`, fixtures) get the ciphertext as "fernet:<token>", never
    the plaintext (issue 9); `loaddata` decrypts it again with FIELD_ENCRYPTION_KEYS,
    so a dump moves between installations that share a key.
    """

    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        if value in (None, ""):
            return value
        return SERIALISED_PREFIX + encrypt(str(value))

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(SERIALISED_PREFIX):
            return decrypt(value[len(SERIALISED_PREFIX) :])
        return super().to_python(value)

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(str(value))
