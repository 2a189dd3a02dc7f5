"""The API's audit rows, written behind: pushed to a Redis list on the request path (one
command), moved into PostgreSQL in batches by `flush` (issue 27).

A synchronous INSERT per call cost the access-token read most of its time (bench/api_token.py).
`flush` runs every 10 s from beat (`api.flush_calls`) and before the call log or a client
system's page is shown, so staff always see every call up to that moment.

What could be lost: the rows of the last seconds if Redis itself loses data (run it with
`appendonly yes`, docs/operations.md), and a batch whose INSERT fails after it was taken
from the list (logged with its size; the database being down for that instant).
"""

from __future__ import annotations

import datetime
import json
import logging

from django.db import transaction

from core import redis_clients

from .models import ApiCall

logger = logging.getLogger(__name__)

QUEUE = "wxadmin:api:calls"
BATCH = 1000
FIELDS = (
    "client_id",
    "key_id",
    "key_prefix",
    "account_id",
    "appid",
    "endpoint",
    "outcome",
    "status",
    "error_code",
    "ip",
)


def row(**fields) -> str:
    """The queued form of one call (`at` now, in UTC)."""
    return json.dumps(
        {"at": datetime.datetime.now(datetime.UTC).isoformat(), **fields}, separators=(",", ":")
    )


def flush(*, max_batches: int = 100) -> int:
    """Move queued rows into ApiCall; returns how many were written."""
    client = redis_clients.client(redis_clients.Purpose.TASKS)
    written = 0
    for _ in range(max_batches):
        pipe = client.pipeline(transaction=True)
        pipe.lrange(QUEUE, 0, BATCH - 1)
        pipe.ltrim(QUEUE, BATCH, -1)
        raw, _ = pipe.execute()
        if not raw:
            break
        rows = []
        for item in raw:
            data = json.loads(item)
            rows.append(
                ApiCall(at=datetime.datetime.fromisoformat(data["at"]), **{k: data.get(k) for k in FIELDS})
            )
        try:
            with transaction.atomic():
                ApiCall.objects.bulk_create(rows)
        except Exception:
            logger.exception("lost %s API audit rows: the database refused the batch", len(rows))
            raise
        written += len(rows)
        if len(raw) < BATCH:
            break
    return written


def queued() -> int:
    return int(redis_clients.client(redis_clients.Purpose.TASKS).llen(QUEUE))
