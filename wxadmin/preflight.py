"""`python -m wxadmin.preflight`: can the production settings load? Names every missing variable.

`scripts/serve.sh` runs it before anything else. The production settings are the
only list of required variables: they stop at the first one missing, so this loads
them again with a placeholder for each variable named so far, until they load or
fail for another reason. Exit status 0 when they load, 2 otherwise, with one line
per problem and no traceback.
"""

from __future__ import annotations

import importlib
import os
import re
import sys

from django.core.exceptions import ImproperlyConfigured

MODULE = "wxadmin.settings.production"
# django-environ's message, and ours in wxadmin/settings/production.py
_NAMED = re.compile(r"Set the (?P<name>[A-Z][A-Z0-9_]*) environment variable")
PLACEHOLDERS = {
    "FIELD_ENCRYPTION_KEYS": "cGxhY2Vob2xkZXItb25seS0zMi1ieXRlcy1sb25nLS0=",
    "ALLOWED_HOSTS": "placeholder.invalid",
    "DATABASE_URL": "sqlite:///:memory:",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "EMAIL_URL": "consolemail://",
}


def _load() -> None:
    for name in [name for name in sys.modules if name.startswith("wxadmin.settings")]:
        del sys.modules[name]
    importlib.import_module(MODULE)


def problems(environ: dict[str, str] | None = None) -> list[str]:
    """Missing required variables first (all of them), then any other settings error."""
    saved = dict(os.environ)
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    missing: list[str] = []
    try:
        for _attempt in range(30):
            try:
                _load()
                break
            except ImproperlyConfigured as error:
                found = _NAMED.search(str(error))
                if found is None or found["name"] in missing:
                    return [f"missing required variable: {name}" for name in missing] + [str(error)]
                missing.append(found["name"])
                os.environ[found["name"]] = PLACEHOLDERS.get(found["name"], "placeholder")
            except Exception as error:  # noqa: BLE001 - a bad value: say what, without a traceback
                from core.scrubbing import scrub_text

                return [f"missing required variable: {name}" for name in missing] + [
                    f"invalid setting ({type(error).__name__}): {scrub_text(str(error))}"
                ]
        return [f"missing required variable: {name}" for name in missing]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def redis_report(environ: dict[str, str] | None = None) -> tuple[bool, str]:
    """(may start, one line) on the Redis at REDIS_URL: appendonly and maxmemory-policy
    (issue 23, point 5). Data loss stops the start unless REDIS_ACCEPT_DATA_LOSS accepts
    it; a Redis not reachable yet is only reported (/readyz checks it once it is up)."""
    import redis

    from core.probes import redis_durability

    env: dict[str, str] = dict(os.environ) if environ is None else environ
    accepted = env.get("REDIS_ACCEPT_DATA_LOSS", "").strip().lower() in ("1", "true", "yes", "on")
    client = redis.Redis.from_url(env.get("REDIS_URL", ""), socket_timeout=3, socket_connect_timeout=3)
    try:
        safe, detail = redis_durability(client)
    except (redis.RedisError, ValueError) as error:
        return True, f"Redis not checked ({type(error).__name__}); /readyz checks it once it is up"
    finally:
        client.close()
    if safe:
        return True, f"Redis: {detail}"
    if accepted:
        return True, f"Redis: {detail} (risk accepted: REDIS_ACCEPT_DATA_LOSS)"
    return False, f"Redis would lose data: {detail}. Fix Redis, or set REDIS_ACCEPT_DATA_LOSS=true"


def main() -> int:
    found = problems()
    if not found:
        sys.stderr.write("preflight: the production settings load\n")
        may_start, line = redis_report()
        sys.stderr.write(f"preflight: {line}\n")
        return 0 if may_start else 2
    sys.stderr.write("wxadmin will not start with production settings:\n")
    for problem in found:
        sys.stderr.write(f"  - {problem}\n")
    sys.stderr.write("Set them in the environment (see .env.example and docs/operations.md).\n")
    return 2


if __name__ == "__main__":
    sys.exit(main())
