"""Fixtures of the wechat package: its test account in the sandbox (the `sandbox` fixture
itself comes from `wechat_sandbox.tests.conftest`, through the root conftest.py)."""

import pytest

# The account most wechat tests talk to.
APPID = "wx0123456789abcdef"
SECRET = "0123456789abcdef0123456789abcdef"
WXID = "demo_account"


@pytest.fixture
def sb(sandbox):
    """The sandbox with the test account (APPID/SECRET, WeChat ID WXID) registered."""
    sandbox.register_app(APPID, SECRET, wechat_id=WXID)
    return sandbox
