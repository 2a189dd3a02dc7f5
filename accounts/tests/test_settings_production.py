"""Production settings refuse to start without the variables they require."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "SECRET_KEY": "k3J9-x0Qv_7mZp2LrT8sWy4BnHc6DfGa1EeUi5OoNjKlMqRsVtXz",
    "ALLOWED_HOSTS": "wxadmin.example.com",
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktb25lLTMyLWJ5dGVzLWxvbmctLS0tLS0=",
    # issue 9: no SQLite, local Redis or console email as a silent fallback in production
    "DATABASE_URL": "postgres://wxadmin:pw@127.0.0.1:5432/wxadmin",
    "REDIS_URL": "redis://127.0.0.1:6379/3",
    "EMAIL_URL": "smtp+tls://mailer:pw@smtp.example.com:587",
}


def start_production(env_overrides: dict, *command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GOOD}
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.production"
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("missing", sorted(GOOD))
def test_production_refuses_to_start_without_required_variable(missing):
    env = {k: v for k, v in GOOD.items() if k != missing}
    result = start_production(env, "check")
    assert result.returncode != 0
    assert missing in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_production_check_deploy_is_clean_with_required_variables():
    result = start_production(GOOD, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
