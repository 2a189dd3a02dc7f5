"""Settings for `make run` and development: safe defaults, DEBUG on.

`make run` writes a `.env` with freshly generated secrets on first use; `base.py`
reads it before anything else (production reads the real environment alone).
"""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-secret-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# A fixed development key so that a checkout without `.env` still works; never
# use it for real credentials (`make run` writes a random one into `.env`).
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["ZGV2LW9ubHkta2V5LW5vdC1mb3ItcmVhbC1zZWNyZXQ="]
)
WECHAT_API_BASE = env.str("WECHAT_API_BASE", default="https://api.weixin.qq.com")
