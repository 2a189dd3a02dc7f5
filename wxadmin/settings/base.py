"""Settings shared by every environment.

Values come from the environment through django-environ. Environment-specific
modules (local, production, test) decide which values are required and which
have development defaults; every variable is documented in `.env.example`.
"""
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

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
    # Our apps. `accounts` first: the others build on it.
    "wxadmin",
    "accounts",
    "wechat",
    "menus",
    "certification",
    "messaging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Hands WeChat's pushes to the callback, skipping everything below (issue 13).
    # Middleware that must also see the callback (request ids, metrics) goes above it.
    "messaging.middleware.CallbackFastPath",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "wxadmin.middleware.ExplicitLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
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
# WEB_STATEMENT_TIMEOUT_MS (set on the web tier's connections by wxadmin/timeouts.py,
# not on workers' or migrations').
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=3)
WEB_STATEMENT_TIMEOUT_MS = env.int("WEB_STATEMENT_TIMEOUT_MS", default=15000)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", DATABASE_CONNECT_TIMEOUT)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

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
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Seconds the cache's Redis client waits to connect and for each answer (issue 10).
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "wxadmin",
        "OPTIONS": {"socket_timeout": REDIS_SOCKET_TIMEOUT,
                    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT},
    }
}

# --- Secrets at rest -----------------------------------------------------------
# Fernet keys (urlsafe base64 of 32 bytes). The first encrypts; all decrypt, so a
# key can be rotated by putting the new one first and re-saving (see README).
FIELD_ENCRYPTION_KEYS: list[str] = env.list("FIELD_ENCRYPTION_KEYS", default=[])
DEFAULT_EXCEPTION_REPORTER_FILTER = "accounts.secrecy.SecretScrubbingReporterFilter"

# --- WeChat --------------------------------------------------------------------
WECHAT_API_BASE = env.str("WECHAT_API_BASE", default="https://api.weixin.qq.com")

# --- WeChat access tokens ------------------------------------------------------
# A cached token is used while it has more than the margin left; past it, one
# process (Redis lock, lease below) fetches a new one while the others wait.
WECHAT_TOKEN_MARGIN_SECONDS = env.int("WECHAT_TOKEN_MARGIN_SECONDS", default=300)
WECHAT_TOKEN_LOCK_LEASE_SECONDS = env.int("WECHAT_TOKEN_LOCK_LEASE_SECONDS", default=10)
WECHAT_TOKEN_WAIT_SECONDS = env.int("WECHAT_TOKEN_WAIT_SECONDS", default=15)
WECHAT_HTTP_CONNECT_TIMEOUT = env.float("WECHAT_HTTP_CONNECT_TIMEOUT", default=3.05)
WECHAT_HTTP_READ_TIMEOUT = env.float("WECHAT_HTTP_READ_TIMEOUT", default=10.0)
WECHAT_HTTP_MAX_ATTEMPTS = env.int("WECHAT_HTTP_MAX_ATTEMPTS", default=3)
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
# A version pending longer than this is marked failed by the sweeper.
MENU_PUBLISH_STUCK_AFTER_SECONDS = env.int("MENU_PUBLISH_STUCK_AFTER_SECONDS", default=900)

# --- Certification ---------------------------------------------------------------
# Days before the resubmission and invoice deadlines that their reminder goes out.
CERTIFICATION_REMINDER_LEAD_DAYS = env.int("CERTIFICATION_REMINDER_LEAD_DAYS", default=7)
# Absolute base URL of the admin, for links in reminder emails (relative links when empty).
SITE_URL = env.str("SITE_URL", default="")

# --- Mail ------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="wxadmin <noreply@localhost>")

# --- Celery ----------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Logging -----------------------------------------------------------------------
LOGGING = {
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
# Each web process runs a thread that moves queued log rows from Redis into the
# database (messaging/log_queue.py); off in tests, which flush explicitly.
MESSAGE_LOG_FLUSHER_THREAD = env.bool("MESSAGE_LOG_FLUSHER_THREAD", default=True)
# Where the sandbox's simulated user delivers previews (default: the host staff browse).
WECHAT_SIMULATE_CALLBACK_BASE = env.str("WECHAT_SIMULATE_CALLBACK_BASE", default="")
# Mounts the crypto-only and straightforward baselines of bench/callback_throughput.py
# under /wechat/_bench/ (never in production use).
WXADMIN_BENCH_VIEWS = env.bool("WXADMIN_BENCH_VIEWS", default=False)
