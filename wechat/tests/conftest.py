"""Fixtures of the wechat package: the sandbox on a free loopback port."""

import pytest

from wechat.sandbox import Sandbox

# The account most wechat tests talk to.
APPID = "wx0123456789abcdef"
SECRET = "0123456789abcdef0123456789abcdef"
WXID = "demo_account"


@pytest.fixture
def sandbox():
    """A started, empty Sandbox; register accounts with ``sandbox.register_app(...)``.

    Its options are plain attributes (``token_ttl``, ``overlap_seconds``, ``fail_rate``,
    ``latency_ms``, ``quotas``...) that a test may change at any time.
    """
    sb = Sandbox().start(host="127.0.0.1", port=0)
    yield sb
    sb.stop()


@pytest.fixture
def sb(sandbox):
    """The sandbox with the test account (APPID/SECRET, WeChat ID WXID) registered."""
    sandbox.register_app(APPID, SECRET, wechat_id=WXID)
    return sandbox
