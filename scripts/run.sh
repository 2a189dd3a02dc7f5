#!/usr/bin/env bash
# `make run`: first-use setup, then the web server, a Celery worker, beat and the
# WeChat sandbox, all stopped together by Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}
SANDBOX_PORT=${SANDBOX_PORT:-8001}

# 1. A private .env with fresh secrets, written once. A database created before
#    .env existed was encrypted with the development key, so keep that key then.
if [ ! -f .env ]; then
  KEEP_DEV_KEY=$([ -f db.sqlite3 ] && echo 1 || echo 0) $PY - <<'PYEOF'
import os
import secrets
from cryptography.fernet import Fernet
dev_key = "ZGV2LW9ubHkta2V5LW5vdC1mb3ItcmVhbC1zZWNyZXQ="  # wxadmin/settings/local.py
key = dev_key if os.environ["KEEP_DEV_KEY"] == "1" else Fernet.generate_key().decode()
with open(".env", "w") as f:
    f.write("# Written by `make run` on first use; see .env.example for every variable.\n")
    f.write(f"SECRET_KEY={secrets.token_urlsafe(50)}\n")
    f.write(f"FIELD_ENCRYPTION_KEYS={key}\n")
PYEOF
  echo "wrote .env with a new SECRET_KEY and FIELD_ENCRYPTION_KEYS"
fi
set -a; . ./.env; set +a
# The demo talks to the bundled sandbox unless .env says otherwise.
export WECHAT_API_BASE=${WECHAT_API_BASE:-http://127.0.0.1:${SANDBOX_PORT}}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export DJANGO_SETTINGS_MODULE=wxadmin.settings.local

pids=()
cleanup() { trap - INT TERM EXIT; for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT

# 2. Redis: use the one at REDIS_URL, or start a private one if we can.
if ! $PY -c "import redis,os; redis.Redis.from_url(os.environ['REDIS_URL'], socket_timeout=2).ping()" 2>/dev/null; then
  if command -v redis-server >/dev/null; then
    mkdir -p var/redis
    redis-server --port 6390 --bind 127.0.0.1 --save "" --appendonly no --dir var/redis \
      --logfile "$PWD/var/redis/redis.log" & pids+=($!)
    export REDIS_URL=redis://127.0.0.1:6390/0
    for _ in $(seq 50); do $PY -c "import redis; redis.Redis(port=6390).ping()" 2>/dev/null && break; sleep 0.1; done
    echo "started a private Redis for this session on 127.0.0.1:6390"
  else
    echo "Redis is not reachable at $REDIS_URL and no redis-server is installed." >&2
    echo "Install it (Debian: apt-get install redis-server) or set REDIS_URL in .env." >&2
    exit 1
  fi
fi

# 3. Database, schedules, demo data, the admin user.
$PY manage.py migrate --noinput -v 0
$PY manage.py install_schedules
$PY manage.py load_demo
$PY manage.py ensure_admin

# 4. Everything, in the foreground of this terminal.
if $PY manage.py help wechat_sandbox >/dev/null 2>&1; then
  $PY manage.py wechat_sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" --from-db & pids+=($!)
fi
.venv/bin/celery -A wxadmin worker --loglevel INFO --concurrency 2 & pids+=($!)
.venv/bin/celery -A wxadmin beat --loglevel INFO & pids+=($!)
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload & pids+=($!)
echo "wxadmin: http://127.0.0.1:${PORT}/admin/   (Ctrl-C stops everything)"
wait -n
