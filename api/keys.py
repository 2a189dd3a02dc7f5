"""API keys: `wxk_<prefix>_<secret>`, 12 hex characters of public lookup prefix and 256 bits of
secret. Only the prefix and the SHA-256 of the whole key are stored: the secret is random
enough that a fast hash is safe (no dictionary to try), and the check costs microseconds on
every call, where a password hash would cost tens of milliseconds (issue 27)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_PATTERN = re.compile(r"^wxk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})\Z")


def new_key() -> tuple[str, str, str]:
    """(key, prefix, hash) of a new random key."""
    prefix = secrets.token_hex(6)
    key = f"wxk_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def prefix_of(key: str) -> str | None:
    """The lookup prefix of a well-formed key, or None."""
    match = KEY_PATTERN.match(key)
    return match.group(1) if match else None


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
