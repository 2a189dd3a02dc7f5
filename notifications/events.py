"""TEMPLATESENDJOBFINISH (docs/wechat-protocol.md §h): WeChat tells each template message's
outcome — ``MsgID`` and ``Status`` ("success", "failed:user block", "failed: system failed").

The callback must answer within WeChat's 5 seconds (§d), so the handler only pushes
"account|msgid|status" onto a Redis list; `services.drain_finish_events` (a task queued here
and the periodic `notifications.apply_finish_events`) writes them to the delivery log in bulk.
Idempotent: WeChat's retries push the same outcome again, which changes nothing. With Redis
down the outcome is written at once (one indexed update) rather than lost.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from redis.exceptions import RedisError

from core.redis_clients import Purpose
from core.redis_clients import client as redis_client

from . import services

logger = logging.getLogger(__name__)
_DIGITS = re.compile(r"^\d{1,20}\Z")


def handle_finish(*, account: Any, message: Any, now: Any = None) -> None:
    raw = getattr(message, "raw", {}) or {}
    msgid = str(raw.get("MsgID") or raw.get("MsgId") or "").strip()
    status = str(raw.get("Status") or "").strip()
    if not _DIGITS.match(msgid):
        logger.warning("TEMPLATESENDJOBFINISH without a usable MsgID for account %s", account.pk)
        return
    try:
        redis_client(Purpose.CALLBACK).lpush(services.FINISH_QUEUE, f"{account.pk}|{msgid}|{status}")
    except RedisError:
        services.deliveries_finish([(account.pk, int(msgid), status)])
