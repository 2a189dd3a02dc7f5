"""PUBLISHJOBFINISH (docs/wechat-protocol.md §h): WeChat tells a publish job's outcome in
``PublishEventInfo`` (publish_id, publish_status, article_id, article_detail, fail_idx).

Publish jobs are few (a handful a day per account), so the handler records the outcome at
once: one indexed lookup by (account, publish_id) and one guarded update. Idempotent:
WeChat's retries change nothing once the job is finished."""

from __future__ import annotations

import logging
from typing import Any

from .publishing import apply_event

logger = logging.getLogger(__name__)


def handle_publish_finish(*, account: Any, message: Any, now: Any = None) -> None:
    raw = getattr(message, "raw", {}) or {}
    info = raw.get("PublishEventInfo")
    if not isinstance(info, dict):
        logger.warning("PUBLISHJOBFINISH without PublishEventInfo for account %s", account.pk)
        return
    apply_event(account=account, info=info)
