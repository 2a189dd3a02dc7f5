"""Dashboard panels of the accounts app (see wxadmin/dashboard.py)."""

from .admin_tokens import token_panels


def panels(request) -> list[dict]:
    return token_panels(request)
