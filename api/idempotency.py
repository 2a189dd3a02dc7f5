"""`Idempotency-Key` on the API's POSTs that make WeChat act (issue 27): a client system that
retries after a timeout must not send its template messages twice.

- The record (`IdempotencyRecord`, unique per client system and key) is inserted first, in the
  same transaction as the work, and completed with the answer before that transaction
  commits: a request is either done and recorded, or neither (a crash in between rolls both
  back, and the retry does the work once).
- Same key, same request (method, path and body, as a SHA-256 fingerprint): the stored answer
  is replayed — same status, same body, header `Idempotent-Replayed: true` — and nothing is
  done again.
- Same key, another request: 422 `idempotency_key_reused`, nothing done.
- Two requests with the same key at once: the second one's INSERT waits on the unique index
  until the first commits (then it replays the first's answer) or rolls back (then it does
  the work itself). Never two sends.
- A refusal (4xx/5xx) is not kept: nothing was done, and the key may be used again.
- Records are kept `API_IDEMPOTENCY_HOURS` (24 by default); older ones count as absent and are
  deleted in batches by the periodic `api.prune_idempotency`.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import errors
from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
#: visible ASCII, 1 to 255 characters (a UUID is the usual choice)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}\Z")
PRUNE_BATCH = 5000


def retention() -> datetime.timedelta:
    return datetime.timedelta(hours=float(getattr(settings, "API_IDEMPOTENCY_HOURS", 24)))


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def check_key(raw: str | None) -> str | None:
    """The header's value, None when absent; a 400 when malformed."""
    if raw is None:
        return None
    if not _KEY.match(raw):
        raise errors.ApiError(
            400,
            "invalid_idempotency_key",
            _("The Idempotency-Key header must be 1 to 255 visible ASCII characters (a UUID, for example)."),
        )
    return raw


@dataclass(frozen=True)
class Replay:
    status: int
    body: Any


def begin(*, client_id: int, key: str, fingerprint: str, endpoint: str) -> IdempotencyRecord | Replay:
    """Claim `key` for this request; inside the request's transaction (asserted).

    Returns the new record (do the work, then `complete` it) or the answer to replay. Raises
    422 when the key was used for another request, 409 when its first request has no answer
    yet (only possible on a database without row-level waits)."""
    assert transaction.get_connection().in_atomic_block, "begin() belongs inside the request's transaction"
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    client_id=client_id, key=key, fingerprint=fingerprint, endpoint=endpoint
                )
        except IntegrityError:
            pass  # taken: the other request has committed by now (its INSERT held ours)
        found = IdempotencyRecord.objects.filter(client_id=client_id, key=key).first()
        if found is None:  # pragma: no cover - pruned between the two statements
            continue
        if found.created_at < timezone.now() - retention():
            found.delete()  # past its keeping time: as if never used
            continue
        if found.fingerprint != fingerprint:
            raise errors.ApiError(
                422,
                "idempotency_key_reused",
                _(
                    "This Idempotency-Key was already used for a different request (another body, "
                    "account or endpoint). Use a new key for a new request."
                ),
            )
        if found.status is None:  # pragma: no cover - PostgreSQL makes the INSERT wait instead
            raise errors.ApiError(
                409,
                "idempotency_key_in_flight",
                _("A request with this Idempotency-Key is still being processed; try again shortly."),
            )
        return Replay(found.status, found.body)
    raise errors.ApiError(  # pragma: no cover - two prunings in a row
        409, "idempotency_key_in_flight", _("Try again shortly.")
    )


def complete(record: IdempotencyRecord, *, status: int, body: Any) -> None:
    record.status = status
    record.body = body
    record.save(update_fields=["status", "body"])


def prune(*, batch: int = PRUNE_BATCH, max_batches: int = 200) -> int:
    """Delete records past their keeping time, `batch` rows a statement; the number deleted."""
    cutoff = timezone.now() - retention()
    deleted = 0
    for _i in range(max_batches):
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
    return deleted
