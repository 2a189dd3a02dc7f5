"""The sandbox fixture every app's tests use (the root conftest.py imports it), and the
wechat tests' account for the sandbox's own tests."""

import pytest

from wechat.tests.conftest import sb  # noqa: F401  (the sandbox with the wechat tests' account)
from wechat_sandbox import Sandbox


@pytest.fixture
def sandbox():
    """A started, empty Sandbox; register accounts with ``sandbox.register_app(...)``.

    Its options are plain attributes (``token_ttl``, ``overlap_seconds``, ``fail_rate``,
    ``latency_ms``, ``quotas``...) that a test may change at any time.
    """
    started = Sandbox().start(host="127.0.0.1", port=0)
    yield started
    started.stop()
