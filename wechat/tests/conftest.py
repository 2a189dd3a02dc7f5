"""Fixtures of the wechat package: the sandbox on a free loopback port."""
import pytest

from wechat.sandbox import Sandbox


@pytest.fixture
def sandbox():
    """A started, empty Sandbox; register accounts with ``sandbox.register_app(...)``.

    Its options are plain attributes (``token_ttl``, ``overlap_seconds``, ``fail_rate``,
    ``latency_ms``, ``quotas``...) that a test may change at any time.
    """
    sb = Sandbox().start(host="127.0.0.1", port=0)
    yield sb
    sb.stop()
