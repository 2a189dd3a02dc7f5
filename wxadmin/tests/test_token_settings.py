"""The access-token settings stop start-up when they cannot work together."""

import os
import subprocess
import sys

from django.conf import settings


def start_up_error(**variables: str) -> str:
    """Import the settings in a fresh process with these variables; its stderr if it failed."""
    result = subprocess.run(
        [sys.executable, "-c", "import wxadmin.settings.test"],
        cwd=settings.BASE_DIR,
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stderr if result.returncode != 0 else ""


def test_refresh_window_not_larger_than_margin_stops_start_up():
    error = start_up_error(TOKEN_REFRESH_WINDOW_SECONDS="200", WECHAT_TOKEN_MARGIN_SECONDS="300")
    assert "TOKEN_REFRESH_WINDOW_SECONDS" in error


def test_defaults_refresh_fifteen_minutes_ahead_with_a_five_minute_margin():
    assert settings.TOKEN_REFRESH_WINDOW_SECONDS == 900
    assert settings.WECHAT_TOKEN_MARGIN_SECONDS == 300
