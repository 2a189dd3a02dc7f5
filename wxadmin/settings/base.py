"""Settings shared by every environment.

Values come from the environment through django-environ. Environment-specific
modules (local, production, test) decide which values are required and which
have development defaults; every variable is documented in `.env.example`.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# --- The .env file: read before anything else ---------------------------------------
# (issue 9) Read here, first, so that every value below — REDIS_URL for the cache and
# the broker, EMAIL_URL, MENU_* … — can come from it; variables already set in the
# environment win. Production reads the real environment only (no file on the server
# can quietly change it), so it is skipped there.
if not os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith(".production"):
    env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))

# --- Core -------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)

INSTALLED_APPS = [
    # The admin theme must come before django.contrib.admin to override its templates.
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.import_export",
    "unfold.contrib.simple_history",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_celery_results",
    "import_export",
    "simple_history",
    "axes",  # login throttling (issue 9); its admin is ours: accounts/admin_lockout.py
    "csp",  # Content-Security-Policy (issue 9)
    # Our apps. `accounts` first: the others build on it.
    "wxadmin",
    "accounts",
    "wechat",
    "menus",
    "certification",
    "messaging",
    "notifications",
    "ninja",  # issue 27: the API's docs page (Swagger UI) and its static files
    "api",
    "audience",
    "content",
    "insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # (issue 13) Callback: hands WeChat's pushes to the view, skipping everything below.
    # Middleware that must also see the callback (request ids, metrics) goes above it.
    "messaging.middleware.CallbackFastPath",
    # (issue 27) The client-system API's JSON endpoints likewise (api/middleware.py).
    "api.middleware.ApiFastPath",
    # (issue 9) Security headers: Content-Security-Policy and Permissions-Policy.
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "wxadmin.middleware.ExplicitLanguageMiddleware",
    "wxadmin.middleware.RefuseBadInputMiddleware",  # (issues 9, 22) NUL, year 99999: 400 not 500
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # (issue 9) Last, as django-axes asks: turns a locked-out login into our 429 page.
    "axes.middleware.AxesMiddleware",
]

# --- Observability middleware (issue 14): keep these two first ---------------------
# Health/readiness/metrics answer before host checks, redirects and sessions; the
# request context (request id, AppID, access line, callback metrics) wraps the rest.
MIDDLEWARE = [
    "wxadmin.health.HealthEndpointsMiddleware",
    "core.logs.RequestContextMiddleware",
    *MIDDLEWARE,
]

ROOT_URLCONF = "wxadmin.urls"
WSGI_APPLICATION = "wxadmin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
# Every outbound call has a timeout (issue 10): connecting to PostgreSQL gives up after
# DATABASE_CONNECT_TIMEOUT seconds; web requests' statements are cancelled after
# WEB_STATEMENT_TIMEOUT_MS (set on the web tier's connections by core/timeouts.py,
# not on workers' or migrations').
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=3)
WEB_STATEMENT_TIMEOUT_MS = env.int("WEB_STATEMENT_TIMEOUT_MS", default=15000)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
# (issue 29) The embedded default: `make run` writes to one SQLite file from the web
# process, a Celery worker and beat at once. Concurrent writers must wait, not fail with
# "database is locked": WAL lets readers and one writer work side by side, every
# transaction takes the write lock when it begins (IMMEDIATE: a transaction that read
# first can otherwise not upgrade and fails at once, whatever the timeout), and a writer
# waits up to SQLITE_BUSY_TIMEOUT seconds for the lock. Django 5.2's SQLite OPTIONS.
SQLITE_BUSY_TIMEOUT = env.int("SQLITE_BUSY_TIMEOUT", default=20)
SQLITE_OPTIONS = {
    "timeout": SQLITE_BUSY_TIMEOUT,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    for _option, _value in SQLITE_OPTIONS.items():
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault(_option, _value)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Login throttling (django-axes, issue 9) ------------------------------------------
# Axes first: it refuses a locked-out username or address before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Locked after this many failures by username (one account guessed from many
# addresses) OR by client address (many usernames from one address), for the cool-off.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Off: axes would also delete this address's attempts at OTHER usernames on any success
# (issue 22 §1); accounts.lockout.clear_attempts_of_username clears only the username's.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"  # the login page, in Chinese, 429
# Proxies (nginx, a load balancer) in front that append to X-Forwarded-For: the lockout by
# address then counts the client's address, not the proxy's (accounts/client_ip.py).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.client_ip.client_ip"
AXES_ENABLE_ADMIN = False  # accounts/admin_lockout.py registers an unfold admin with "unlock"

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

# --- Security headers (issue 9) ------------------------------------------------------------
# Content-Security-Policy (django-csp). Our templates have no inline script (data goes
# through json_script, code through static files). Two allowances are for the admin
# theme (django-unfold) and cannot be dropped without replacing it:
# - script-src 'unsafe-eval': unfold ships the standard Alpine.js build, which compiles
#   every x-data / @click / x-show attribute with `new AsyncFunction(...)`; Alpine's CSP
#   build does not evaluate inline expressions at all, and unfold's templates are full of
#   them. No inline <script> runs: 'unsafe-inline' stays off for scripts.
# - style-src 'unsafe-inline': unfold writes its theme colours in a <style> element and
#   uses style="" attributes (so do a few of our templates); styles cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'unsafe-eval'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],  # as X-Frame-Options: DENY
    },
}
SECURE_REFERRER_POLICY = "same-origin"  # other sites never see admin URLs (object ids)
# Permissions-Policy (django-permissions-policy): the admin uses none of these.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "xr-spatial-tracking",
    )
}

# --- Language and time --------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
# locale_vendor: zh-hans for django-unfold's own strings (the theme ships no translations).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_vendor"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -----------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded certification documents are private: MEDIA_ROOT is never served
# directly, only through permission-checked views.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Redis: cache, Celery broker and locks ------------------------------------
# Seconds the cache's Redis client waits to connect and for each answer (issue 10/13).
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)


def redis_settings(url: str) -> dict[str, Any]:
    """(issue 9) Everything kept in Redis, derived from one URL: the token store and locks
    (REDIS_URL), the cache and the Celery broker. Environments that use another Redis
    (test, production) call this again instead of patching the values one by one."""
    return {
        "REDIS_URL": url,
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "wxadmin",
                "OPTIONS": {
                    "socket_timeout": REDIS_SOCKET_TIMEOUT,
                    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
                },
            }
        },
        "CELERY_BROKER_URL": url,
    }


REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
vars().update(redis_settings(REDIS_URL))
CELERY_BROKER_URL: str  # (set just above; declared for the type checker)

# --- Secrets at rest -----------------------------------------------------------
# Fernet keys (urlsafe base64 of 32 bytes). The first encrypts; all decrypt, so a
# key can be rotated by putting the new one first and re-saving (see docs/operations.md, "Key rotation").
FIELD_ENCRYPTION_KEYS: list[str] = env.list("FIELD_ENCRYPTION_KEYS", default=[])
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.secrecy.SecretScrubbingReporterFilter"

# --- WeChat --------------------------------------------------------------------
WECHAT_API_BASE = env.str("WECHAT_API_BASE", default="https://api.weixin.qq.com")
# This installation's public outgoing addresses (every web node and worker that calls WeChat),
# shown on each account's hub to paste into the MP console's IP whitelist (issue 29 §7).
WECHAT_OUTGOING_IPS: list[str] = env.list("WECHAT_OUTGOING_IPS", default=[])

# --- WeChat access tokens ------------------------------------------------------
# A cached token is used while it has more than the margin left; past it, one
# process (Redis lock, lease below) fetches a new one while the others keep using the
# current token (refresh ahead) until it has less than the stale floor left; below that
# (or with no token) they wait. The floor defaults to min(30 s, margin / 2).
WECHAT_TOKEN_MARGIN_SECONDS = env.int("WECHAT_TOKEN_MARGIN_SECONDS", default=300)
WECHAT_TOKEN_STALE_FLOOR_SECONDS = env.float("WECHAT_TOKEN_STALE_FLOOR_SECONDS", default=None)
WECHAT_TOKEN_LOCK_LEASE_SECONDS = env.int("WECHAT_TOKEN_LOCK_LEASE_SECONDS", default=10)
WECHAT_TOKEN_WAIT_SECONDS = env.int("WECHAT_TOKEN_WAIT_SECONDS", default=15)
WECHAT_HTTP_CONNECT_TIMEOUT = env.float("WECHAT_HTTP_CONNECT_TIMEOUT", default=3.05)
WECHAT_HTTP_READ_TIMEOUT = env.float("WECHAT_HTTP_READ_TIMEOUT", default=10.0)
WECHAT_HTTP_MAX_ATTEMPTS = env.int("WECHAT_HTTP_MAX_ATTEMPTS", default=3)
# Before the 2nd, 3rd… attempt after a temporary error: this many seconds, doubling each time
# (with up to 25 % jitter).
WECHAT_HTTP_BACKOFF_SECONDS = env.float("WECHAT_HTTP_BACKOFF_SECONDS", default=0.5)
# The beat task refreshes, ahead of time, tokens expiring within this window,
# spreading the refreshes over the spread; accounts whose last fetch failed for a
# lasting reason (wrong secret, IP whitelist) wait the back-off unless their
# credentials change.
TOKEN_REFRESH_WINDOW_SECONDS = env.int("TOKEN_REFRESH_WINDOW_SECONDS", default=900)
TOKEN_REFRESH_SPREAD_SECONDS = env.int("TOKEN_REFRESH_SPREAD_SECONDS", default=120)
TOKEN_ERROR_BACKOFF_SECONDS = env.int("TOKEN_ERROR_BACKOFF_SECONDS", default=1800)
if TOKEN_REFRESH_WINDOW_SECONDS <= WECHAT_TOKEN_MARGIN_SECONDS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "TOKEN_REFRESH_WINDOW_SECONDS must be larger than WECHAT_TOKEN_MARGIN_SECONDS, "
        "or the scheduled refresh never runs ahead of the callers."
    )

# --- Menus ----------------------------------------------------------------------
# Cluster-wide cap on menu/create calls (all workers together; 0 = no cap).
MENU_PUBLISH_RATE_PER_SECOND = env.float("MENU_PUBLISH_RATE_PER_SECOND", default=20.0)
# WeChat's daily menu/create quota per account (1000 normal, 100 for a test account).
MENU_CREATE_DAILY_QUOTA = env.int("MENU_CREATE_DAILY_QUOTA", default=1000)
# Temporary errors: retries and the first backoff (doubling, capped at 5 minutes).
MENU_PUBLISH_MAX_RETRIES = env.int("MENU_PUBLISH_MAX_RETRIES", default=5)
MENU_PUBLISH_RETRY_BASE_SECONDS = env.float("MENU_PUBLISH_RETRY_BASE_SECONDS", default=5.0)
# A version nobody has worked on for this long is queued again once by the sweeper, and
# failed if it is still stuck as long again.
MENU_PUBLISH_STUCK_AFTER_SECONDS = env.int("MENU_PUBLISH_STUCK_AFTER_SECONDS", default=900)
# Per-account publish lock (one menu/create per account at a time): its lease, longer than
# one call with all its HTTP attempts, and how long a task waits for it before retrying.
MENU_PUBLISH_LOCK_SECONDS = env.int("MENU_PUBLISH_LOCK_SECONDS", default=90)
MENU_PUBLISH_LOCK_WAIT_SECONDS = env.float("MENU_PUBLISH_LOCK_WAIT_SECONDS", default=10.0)

# --- Template messages (notifications, issue 26) --------------------------------------
# message/template/send calls a day per account (WeChat's default 100,000; a larger
# quota WeChat granted goes here). Sending stops at it and resumes after Beijing midnight.
NOTIFICATIONS_DAILY_QUOTA = env.int("NOTIFICATIONS_DAILY_QUOTA", default=100_000)
# Calls in flight at once per send, and deliveries claimed per batch.
NOTIFICATIONS_CONCURRENCY = env.int("NOTIFICATIONS_CONCURRENCY", default=8)
NOTIFICATIONS_BATCH_SIZE = env.int("NOTIFICATIONS_BATCH_SIZE", default=200)
# Days the delivery log keeps each message (0 = keep everything); an hourly task prunes
# older ones in batches. Sends keep their totals.
NOTIFICATIONS_DELIVERY_RETENTION_DAYS = env.int("NOTIFICATIONS_DELIVERY_RETENTION_DAYS", default=180)

# --- The client-system API (api, issue 27) -----------------------------------------------
# Hours an Idempotency-Key's answer is kept per client system (a retry within them replays it).
API_IDEMPOTENCY_HOURS = env.float("API_IDEMPOTENCY_HOURS", default=24)

# --- Insights: our own figures (issue 28) ---------------------------------------------
# The hourly rollup's first run goes this many Beijing days back (the message log keeps
# MESSAGE_RETENTION_DAYS: older days have nothing left to roll up), and each run rolls up at
# most INSIGHTS_OWN_DAYS_PER_RUN days, so a long catch-up is spread over several runs.
INSIGHTS_OWN_BACKFILL_DAYS = env.int("INSIGHTS_OWN_BACKFILL_DAYS", default=90)
INSIGHTS_OWN_DAYS_PER_RUN = env.int("INSIGHTS_OWN_DAYS_PER_RUN", default=31)

# --- WeChat statistics (insights, issue 28) ---------------------------------------------
# Datacube calls the sync makes a Beijing day per account (our budget, below WeChat's quota:
# a backfill stops at it and goes on the next day; 45009 from WeChat stops it too).
INSIGHTS_DATACUBE_DAILY_CALLS = env.int("INSIGHTS_DATACUBE_DAILY_CALLS", default=500)
# A day WeChat answered with an error is retried at most this often and this many times.
INSIGHTS_MISSING_RETRY_HOURS = env.int("INSIGHTS_MISSING_RETRY_HOURS", default=6)
INSIGHTS_MISSING_MAX_ATTEMPTS = env.int("INSIGHTS_MISSING_MAX_ATTEMPTS", default=5)
# One sync task runs at most this long, then queues itself again (its lease: + 300 s).
INSIGHTS_SYNC_MAX_SECONDS = env.int("INSIGHTS_SYNC_MAX_SECONDS", default=240)
# A sync's lease on its account, renewed before each call: a killed sync's expires this long
# after its last call (then another run takes the account).
INSIGHTS_SYNC_LOCK_SECONDS = env.int("INSIGHTS_SYNC_LOCK_SECONDS", default=120)

# --- Certification ---------------------------------------------------------------
# Days before the resubmission and invoice deadlines that their reminder goes out.
CERTIFICATION_REMINDER_LEAD_DAYS = env.int("CERTIFICATION_REMINDER_LEAD_DAYS", default=7)
# Absolute base URL of the admin, for links in reminder emails (relative links when empty).
SITE_URL = env.str("SITE_URL", default="")

# --- Mail ------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="wxadmin <noreply@localhost>")

# --- Celery ----------------------------------------------------------------------
# CELERY_BROKER_URL: from REDIS_URL, see redis_settings() above.
# django-celery-results' database backend, surviving a broken connection (wxadmin/results.py)
CELERY_RESULT_BACKEND = "wxadmin.results:DatabaseBackend"
CELERY_RESULT_BACKEND_MAX_RETRIES = env.int("CELERY_RESULT_BACKEND_MAX_RETRIES", default=10)
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_ACKS_LATE = True
# A task whose worker process dies (SIGKILL, out of memory) goes back to the queue
# instead of being acknowledged as failed.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis hands a message nobody acknowledged to another worker after this many seconds
# (its worker was killed mid-task). Sized to the task time limit, not Redis' 1-hour
# default: no run may take longer, so the message of a dead worker comes back within
# about two minutes. Retry countdowns stay below (visibility - time limit), or a task
# waiting for its countdown would be handed out twice: with Redis, such a message sits
# unacknowledged on the worker that fetched it.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int(
    "CELERY_BROKER_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 20
)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "CELERY_BROKER_VISIBILITY_TIMEOUT must be larger than CELERY_TASK_TIME_LIMIT, "
        "or Redis hands a running task to a second worker."
    )
# The longest countdown a retried task may wait (derived, 20 s with the defaults).
TASK_RETRY_MAX_COUNTDOWN = CELERY_BROKER_VISIBILITY_TIMEOUT - CELERY_TASK_TIME_LIMIT
# Web requests enqueue tasks (publish a menu): a Redis that is down or hung must fail
# the enqueue within seconds, which the service records, instead of holding the request
# until gunicorn kills it. Workers use the same short timeouts for their commands
# (their blocking BRPOP has its own 1-second server-side timeout).
CELERY_BROKER_SOCKET_TIMEOUT = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=3.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    # look for messages of dead workers every 10 s (kombu's default: every 100 s)
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    "socket_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
    "socket_connect_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
}
# One quick retry of a failed publish, then the error reaches the caller.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.2,
    "interval_step": 0.5,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Logging -----------------------------------------------------------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"urllib3": {"level": "WARNING"}},
}

# --- Admin theme -------------------------------------------------------------------
UNFOLD = {
    "SITE_TITLE": "wxadmin",
    "SITE_HEADER": "wxadmin",
    "SITE_SYMBOL": "forum",
    "SHOW_LANGUAGES": True,
    "SHOW_HISTORY": True,
    "DASHBOARD_CALLBACK": "wxadmin.dashboard.dashboard_callback",
    # Grouped by what staff do (wxadmin/navigation.py); models no group names land in "More".
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": "wxadmin.navigation.sidebar",
    },
    "STYLES": [],
    "SCRIPTS": [],
}

# --- Messaging -------------------------------------------------------------------------
# The WeChat callback (/wechat/<appid>/): pushes whose timestamp is further than this
# from our clock are refused (replays), and bodies above this size answer 413.
WECHAT_CALLBACK_MAX_SKEW_SECONDS = env.int("WECHAT_CALLBACK_MAX_SKEW_SECONDS", default=300)
WECHAT_CALLBACK_MAX_BODY_BYTES = env.int("WECHAT_CALLBACK_MAX_BODY_BYTES", default=64 * 1024)
# How long an account's callback credentials stay cached in each process (seconds).
WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS = env.int("WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS", default=30)
# The message log keeps this many days; a beat task prunes older rows in batches.
MESSAGE_RETENTION_DAYS = env.int("MESSAGE_RETENTION_DAYS", default=90)
# The callback's Redis client gives up after this many seconds (connect and each command)
# and then writes through the database for a few seconds (issue 10, issue 13).
WECHAT_CALLBACK_REDIS_TIMEOUT = env.float("WECHAT_CALLBACK_REDIS_TIMEOUT", default=0.25)
# All database work of one push gives up after this many seconds, enforced by the client
# (a hung server never enforces statement_timeout); longer than the callback's own 2 s
# statement timeout, so that a server that does answer cancels first (messaging/db_guard.py).
WECHAT_CALLBACK_DATABASE_TIMEOUT = env.float("WECHAT_CALLBACK_DATABASE_TIMEOUT", default=2.5)
# Each web process runs a thread that moves queued log rows from Redis into the
# database (messaging/log_queue.py); off in tests, which flush explicitly.
MESSAGE_LOG_FLUSHER_THREAD = env.bool("MESSAGE_LOG_FLUSHER_THREAD", default=True)
# Where the sandbox's simulated user delivers previews (default: the host staff browse).
WECHAT_SIMULATE_CALLBACK_BASE = env.str("WECHAT_SIMULATE_CALLBACK_BASE", default="")
# Mounts the crypto-only and straightforward baselines of bench/callback_throughput.py
# under /wechat/_bench/ (never in production use).
WXADMIN_BENCH_VIEWS = env.bool("WXADMIN_BENCH_VIEWS", default=False)

# --- Health and metrics (issue 14) ---------------------------------------------------------
# /readyz runs its checks at most once per this many seconds per process.
HEALTH_CACHE_SECONDS = env.float("HEALTH_CACHE_SECONDS", default=2.0)
# /readyz's redis_durability check (docs/operations.md): Redis must run with appendonly yes
# and maxmemory-policy noeviction; required in production unless the risk is accepted here.
REDIS_ACCEPT_DATA_LOSS = env.bool("REDIS_ACCEPT_DATA_LOSS", default=False)
REDIS_DURABILITY_REQUIRED = False
# /readyz fails when the heartbeat beat sends every 30 s was last run longer ago than this.
HEALTH_HEARTBEAT_MAX_AGE_SECONDS = env.int("HEALTH_HEARTBEAT_MAX_AGE_SECONDS", default=120)
# /metrics answers direct requests from these networks, or requests with this bearer token.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# prometheus-client multiprocess mode: the root whose <role>/ subdirectories the processes
# write to (PROMETHEUS_MULTIPROC_DIR=$METRICS_DIR/web, /worker, /beat). Empty: one process.
METRICS_DIR = env.str("METRICS_DIR", default="")
