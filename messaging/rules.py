"""Reply rules: tell every process that an account's rules changed (the callback caches them)."""

from __future__ import annotations

import logging
import uuid

import redis
from django.db import transaction

from . import selectors
from .receiving import redis_client

logger = logging.getLogger(__name__)


def rules_changed(*, account_id: int) -> None:
    """Tell every process that this account's reply rules changed (after commit)."""

    def publish() -> None:
        selectors.forget_rules(account_id)
        try:
            redis_client().set(selectors.rules_version_key(account_id), uuid.uuid4().hex)
        except redis.RedisError:
            # Other processes re-read rules on every push while Redis is away.
            logger.warning("rules of account %s changed but Redis is unavailable", account_id)

    transaction.on_commit(publish)
