#!/usr/bin/env bash
# `make serve`: the production stack on one host, in the foreground — gunicorn (config
# deploy/gunicorn.conf.py), a Celery worker and beat, with production settings.
#
#   set -a; . /etc/wxadmin/env; set +a     # the environment (see .env.example, docs/operations.md)
#   make serve                             # or: scripts/serve.sh [--no-migrate]
#
# Before starting anything it checks that the production settings load and names every
# missing required variable; then it collects static files, migrates and installs the
# periodic tasks (--no-migrate skips both: on several hosts one of them does it, see
# docs/operations.md). SIGTERM or Ctrl-C stops everything it started, gracefully; if one process
# dies the others are stopped too and the script exits non-zero (let systemd or your
# supervisor restart it — or use the units in deploy/systemd/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
BIN=$(dirname "$PY")
MIGRATE=1
for arg in "$@"; do
  case "$arg" in
    --no-migrate) MIGRATE=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "serve.sh: unknown option $arg (try --help)" >&2; exit 64 ;;
  esac
done

export DJANGO_SETTINGS_MODULE=wxadmin.settings.production
log() { printf '[serve] %s\n' "$*" >&2; }

# 1. Refuse to start when a required variable is missing (names all of them).
"$PY" -m wxadmin.preflight || exit 2

# 2. Static files, database, periodic tasks.
"$PY" manage.py collectstatic --noinput -v 0
if [ "$MIGRATE" = 1 ]; then
  "$PY" manage.py migrate --noinput -v 0
  "$PY" manage.py install_schedules
fi

# 3. Metrics: prometheus-client multiprocess files, one directory per role, emptied at
#    start (stale files of dead processes would otherwise be counted forever).
export METRICS_DIR=${METRICS_DIR:-$ROOT/var/metrics}
for role in web worker beat; do rm -rf "${METRICS_DIR:?}/$role"; mkdir -p "$METRICS_DIR/$role"; done

# 4. The processes.
pids=()
stopping=0
stop_all() {
  stopping=1
  trap - INT TERM
  log "stopping ${#pids[@]} processes"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # gunicorn finishes its requests, the worker its running tasks (warm shutdown)
  for _ in $(seq "${SERVE_STOP_TIMEOUT:-40}"); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  log "stopped"
}
trap 'stop_all; exit 0' INT TERM

PROMETHEUS_MULTIPROC_DIR=$METRICS_DIR/web "$BIN/gunicorn" -c deploy/gunicorn.conf.py & pids+=($!)
PROMETHEUS_MULTIPROC_DIR=$METRICS_DIR/worker "$BIN/celery" -A wxadmin worker --loglevel INFO \
  --concurrency "${CELERY_WORKER_CONCURRENCY:-2}" --without-gossip --without-mingle & pids+=($!)
PROMETHEUS_MULTIPROC_DIR=$METRICS_DIR/beat "$BIN/celery" -A wxadmin beat --loglevel INFO & pids+=($!)
log "gunicorn on ${GUNICORN_BIND:-127.0.0.1:8000}, a worker and beat are starting (pids ${pids[*]})"

# Any process ending on its own ends the stack.
set +e
wait -n
status=$?
if [ "$stopping" = 0 ]; then
  log "a process exited (status $status): stopping the others"
  stop_all
  exit 1
fi
