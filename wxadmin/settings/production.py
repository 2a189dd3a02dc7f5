"""Production settings: every security-relevant value is required, none has a default.

A missing variable stops start-up with django-environ's ImproperlyConfigured,
which names it. Only the real environment is read (no `.env` file).
"""

import copy

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASE_CONNECT_TIMEOUT, MIDDLEWARE, env, redis_settings

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set the SECRET_KEY environment variable (it is empty).")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("Set the ALLOWED_HOSTS environment variable (it is empty).")
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("Set the FIELD_ENCRYPTION_KEYS environment variable (it is empty).")

# (issue 9) No development fallbacks: no SQLite file, no local Redis, no console email.
# Each call raises ImproperlyConfigured naming the variable when it is missing.
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
vars().update(redis_settings(env.str("REDIS_URL")))
vars().update(env.email_url("EMAIL_URL"))
# /readyz fails when Redis would lose data (no AOF, an evicting policy): issue 23
REDIS_DURABILITY_REQUIRED = True

# Keep database connections between requests (the WeChat callback is latency-bound),
# checking them before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # (issue 10) never hang
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)

# WhiteNoise serves the collected static files (gunicorn, no separate web server needed),
# right after SecurityMiddleware.
_security = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE = [*MIDDLEWARE[:_security], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[_security:]]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # WhiteNoise's compressed manifest storage, compressing a file only when it changed
    "staticfiles": {"BACKEND": "wxadmin.storage.StaticFilesStorage"},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- A separate Celery broker, optional (issue 14) --------------------------------------------
# Default: the Redis at REDIS_URL. Set e.g. amqp://user:pass@rabbit:5672/wxadmin for RabbitMQ
# (Redis is still needed for the cache, tokens and locks). See docs/operations.md, "Several hosts".
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or CELERY_BROKER_URL  # noqa: F405

# --- Static files outside the checkout if wanted (issue 14) -----------------------------------
STATIC_ROOT = env.str("STATIC_ROOT", default=str(STATIC_ROOT))  # noqa: F405

# --- Logs: JSON lines (issue 14) -------------------------------------------------------------
# One JSON object per line on stderr (journald, docker), with request id / task id and AppID,
# credentials scrubbed (core.logs.JsonFormatter). Celery keeps this configuration.
LOGGING = copy.deepcopy(LOGGING)  # noqa: F405
LOGGING["formatters"]["json"] = {"()": "core.logs.JsonFormatter"}
LOGGING["handlers"]["console"]["formatter"] = "json"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Sentry, optional (issue 14) -------------------------------------------------------------
# Errors go to Sentry when SENTRY_DSN is set, scrubbed like the error reports, without PII.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.scrubbing import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# --- Health probes and metrics over plain HTTP (issue 14) -----------------------------------
# Load balancers and Prometheus reach the nodes directly: no redirect to HTTPS for them
# (HealthEndpointsMiddleware answers first anyway; this covers a reordered stack).
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
