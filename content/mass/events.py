"""MASSSENDJOBFINISH (docs/wechat-protocol.md §h): WeChat pushes a mass send's outcome — ``MsgID``,
``Status`` ("send success", "send fail", "err(n)"), ``TotalCount``, ``FilterCount``,
``SentCount``, ``ErrorCount`` — to the callback.

An account makes a few mass sends a month, so the handler writes the outcome at once (one
indexed lookup by account and msg_id, one row updated) inside the callback's 5-second budget.
Idempotent: WeChat's retries of the push change nothing more (`services.record_finish`).
"""

from __future__ import annotations

import logging
from typing import Any

from . import services

logger = logging.getLogger(__name__)


def handle_finish(*, account: Any, message: Any, now: Any = None) -> None:
    raw = getattr(message, "raw", {}) or {}
    if not services.record_finish(account_id=account.pk, raw=dict(raw)):
        logger.warning("MASSSENDJOBFINISH not matched to a mass send of account %s", account.pk)
