"""The send page's address for one follower, offered on the follower list and the conversation
page through `accounts.admin_extensions.register_follower_link` (issue 26)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

#: notifications.services.SEND_PERMISSION, spelled here so that this leaf imports no service
SEND_PERMISSION = "notifications.send_template_message"


def may_send(request: Any) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm(SEND_PERMISSION))


def send_page_url(account_id: int, openid: str) -> str:
    """The send page with the follower filled in and the account's templates only."""
    query = urlencode({"account": account_id, "openid": openid})
    return f"{reverse('admin:notifications_send_add')}?{query}"
