"""The .env file is read before anything else: REDIS_URL reaches the cache and the broker,
EMAIL_URL and MENU_* are honoured (issue 9: they used to stop at the token store)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.REDIS_URL, s.CACHES['default']['LOCATION'], s.CELERY_BROKER_URL, "
    "s.EMAIL_BACKEND, s.EMAIL_HOST, s.MENU_CREATE_DAILY_QUOTA]))"
)


def read_settings(tmp_path, module: str, lines: list[str]) -> list:
    env_file = tmp_path / "dot.env"
    env_file.write_text("\n".join(lines) + "\n")
    env = {
        k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "EMAIL_URL", "MENU_CREATE_DAILY_QUOTA"}
    }
    env.update(DJANGO_SETTINGS_MODULE=module, ENV_FILE=str(env_file))
    result = subprocess.run(
        [sys.executable, "-c", PRINT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_local_settings_take_redis_email_and_menu_values_from_the_env_file(tmp_path):
    values = read_settings(
        tmp_path,
        "wxadmin.settings.local",
        [
            "REDIS_URL=redis://127.0.0.1:6399/7",
            "EMAIL_URL=smtp+tls://mailer:pw@smtp.example.com:587",
            "MENU_CREATE_DAILY_QUOTA=100",
        ],
    )
    assert values == [
        "redis://127.0.0.1:6399/7",
        "redis://127.0.0.1:6399/7",
        "redis://127.0.0.1:6399/7",
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        100,
    ]


def test_test_settings_derive_cache_and_broker_from_one_redis_url(tmp_path):
    redis_url, cache, broker, *_rest = read_settings(tmp_path, "wxadmin.settings.test", [])
    assert redis_url == cache == broker == os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
