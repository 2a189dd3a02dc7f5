"""gunicorn configuration for wxadmin (used by scripts/serve.sh and deploy/systemd).

Everything that differs between hosts comes from the environment:
GUNICORN_BIND, WEB_CONCURRENCY (worker processes), GUNICORN_THREADS, GUNICORN_TIMEOUT,
GUNICORN_MAX_REQUESTS, FORWARDED_ALLOW_IPS. See docs/operations.md for sizing.
"""

import multiprocessing
import os

# The project root, wherever the checkout lives.
chdir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
wsgi_app = "wxadmin.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")

# Threaded workers, as measured by bench/callback_throughput.py (2 workers × 4 threads:
# 518 msg/s on 2 cores): the callback waits on Redis and PostgreSQL between short bursts
# of CPU, and the TLS proxy in front buffers slow clients. GUNICORN_THREADS=1 gives sync
# workers. 2 × cores + 1 workers is gunicorn's own advice. Database connections per web
# node: workers × threads (CONN_MAX_AGE keeps them open).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
# WeChat waits 5 s for a callback answer; admin pages and exports may take longer.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (slow leaks); the jitter keeps them from restarting together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# The TLS proxy on the same host (or the load balancer's addresses) may set
# X-Forwarded-Proto/For; Django trusts X-Forwarded-Proto through SECURE_PROXY_SSL_HEADER.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Several gunicorns may share a host (tests, blue/green): no shared control socket.
control_socket_disable = True

# Logs: gunicorn's own lines as JSON on stderr; no access log (wxadmin.request writes one
# line per request with its request id, without query strings).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logs.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "propagate": False},
    },
}


def child_exit(server, worker):
    """prometheus-client multiprocess mode: forget a dead worker's live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
