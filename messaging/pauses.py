"""A pause after a failure: the callback leaves a failing dependency alone for a while.

The callback must answer WeChat within 5 s. When Redis or PostgreSQL fails (or hangs past
its short deadline), waiting on it again for the next push would spend that budget push
after push; so after one failure the callback works without it for a few seconds (Redis:
write through the database; PostgreSQL: cached rules, rows wait in Redis), then one push
tries again. Per process, in memory, keyed (one Redis URL is not another).
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("messaging.callback")


class Pause:
    """`failed()` starts a pause of `seconds`; `active()` tells whether it still runs."""

    def __init__(self, what: str, seconds: float, consequence: str) -> None:
        self.what = what
        self.seconds = seconds
        self.consequence = consequence
        self._until: dict[str, float] = {}

    def active(self, key: str = "") -> bool:
        until = self._until.get(key)
        return until is not None and time.monotonic() < until

    def failed(self, cause: str, key: str = "") -> None:
        self._until[key] = time.monotonic() + self.seconds
        logger.warning(
            "callback: %s failed (%s); %s for %ss", self.what, cause, self.consequence, self.seconds
        )

    def recovered(self, key: str = "") -> None:
        self._until.pop(key, None)

    def forget(self) -> None:
        self._until.clear()
