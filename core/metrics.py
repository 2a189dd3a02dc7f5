"""Prometheus metrics: one place that defines them, one-line calls from the apps.

Multi-process: gunicorn runs several workers and Celery several children, each with
its own memory. We use prometheus-client's multiprocess mode: every process whose
environment has ``PROMETHEUS_MULTIPROC_DIR`` (set by `scripts/serve.sh` and the
systemd units to ``$METRICS_DIR/<web|worker|beat>``) writes its counters to
memory-mapped files there, and ``/metrics`` on any web process merges the files of
every role under ``METRICS_DIR``. So a menu published by a Celery child shows up
on the web node's ``/metrics`` of the same host, with no Redis round trip on the
callback's hot path (a Redis-backed registry would add one per callback). Across
hosts, Prometheus scrapes every host and sums (see docs/operations.md). Without
``PROMETHEUS_MULTIPROC_DIR`` (``make run``, tests) the process's own registry is used.

Gauges that describe the cluster (queue length, heartbeat age) are read at scrape
time instead of being kept by each process.
"""

from __future__ import annotations

import glob
import logging
import os
import time

from celery.signals import task_postrun
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest

logger = logging.getLogger(__name__)

# WeChat gives up after 5 s and retries; the buckets resolve the range that matters.
CALLBACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)

CALLBACK_DURATION = Histogram(
    "wxadmin_callback_duration_seconds",
    "Time to answer a WeChat callback (/wechat/<appid>/), whole middleware stack included.",
    buckets=CALLBACK_BUCKETS,
)
CALLBACK_RESPONSES = Counter(
    "wxadmin_callback_responses", "WeChat callback answers by HTTP status.", ["status"]
)
MENU_PUBLICATIONS = Counter(
    "wxadmin_menu_publications",
    "menus.publish_version task runs by outcome (published, failed, skipped, retry, error).",
    ["outcome"],
)
TOKEN_FETCHES = Counter(
    "wxadmin_token_fetches", "Access-token fetches from WeChat per account (AppID).", ["appid"]
)
TOKEN_FETCH_FAILURES = Counter(
    "wxadmin_token_fetch_failures",
    "Access-token fetches that failed, per account (AppID) and WeChat errcode.",
    ["appid", "errcode"],
)
API_CALLS = Counter(
    "wxadmin_api_calls",
    "Calls to the client-system API (/api/v1/) by endpoint and outcome (issue 27).",
    ["endpoint", "outcome"],
)
REMINDERS_SENT = Counter(
    "wxadmin_reminders_sent", "Certification reminders sent, by milestone.", ["milestone"]
)


# --- One-line calls from the apps ---------------------------------------------------------


def callback_observed(*, status: int, seconds: float) -> None:
    """A callback was answered (called by the request middleware)."""
    CALLBACK_DURATION.observe(seconds)
    CALLBACK_RESPONSES.labels(status=str(status)).inc()


def token_fetch_observed(*, appid: str, ok: bool, errcode: int | None = None) -> None:
    """The token store fetched (or failed to fetch) a token from WeChat."""
    TOKEN_FETCHES.labels(appid=appid).inc()
    if not ok:
        TOKEN_FETCH_FAILURES.labels(appid=appid, errcode=str(errcode)).inc()


def api_call_observed(*, endpoint: str, outcome: str) -> None:
    """A call to the client-system API was answered (api/gate.py)."""
    API_CALLS.labels(endpoint=endpoint, outcome=outcome).inc()


# --- Outcomes of tasks, read from Celery's task_postrun signal ------------------------------
# Keyed on the task name, so the tasks themselves stay free of instrumentation.


def _menu_publication(retval, state: str) -> None:
    if state == "SUCCESS":
        outcome = str(retval) if retval else "unknown"
    elif state == "RETRY":
        outcome = "retry"
    else:
        outcome = "error"
    MENU_PUBLICATIONS.labels(outcome=outcome).inc()


def _reminders(retval, state: str) -> None:
    if state != "SUCCESS" or not isinstance(retval, dict):
        return
    for milestone, count in retval.items():
        if count:
            REMINDERS_SENT.labels(milestone=str(milestone)).inc(int(count))


TASK_OUTCOMES = {
    "menus.publish_version": _menu_publication,
    "certification.send_reminders": _reminders,
}


@task_postrun.connect(weak=False, dispatch_uid="core.metrics.task_outcomes")
def _task_outcome(sender=None, retval=None, state=None, **_kwargs) -> None:
    handler = TASK_OUTCOMES.get(getattr(sender, "name", ""))
    if handler is not None:
        handler(retval, state or "")


# --- Scrape-time gauges -------------------------------------------------------------------


class ClusterCollector:
    """Queue length per Celery queue and beat heartbeat age, read when scraped.

    Cached for a couple of seconds so that several scrapers cost one look-up.
    """

    cache_seconds = 2.0

    def __init__(self) -> None:
        self._cached: tuple[float, list] | None = None

    def collect(self):
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.cache_seconds:
            self._cached = (now, self._families())
        return self._cached[1]

    def _families(self) -> list:
        from .probes import heartbeat_age_seconds, queue_lengths

        queues = GaugeMetricFamily(
            "wxadmin_task_queue_length", "Messages waiting in the Celery broker queue.", labels=["queue"]
        )
        try:
            for name, length in queue_lengths().items():
                queues.add_metric([name], length)
        except Exception as exc:  # noqa: BLE001 - an unreachable broker shows as a missing sample, not a 500
            logger.warning("task queue length unavailable: %s", type(exc).__name__)
        heartbeat = GaugeMetricFamily(
            "wxadmin_beat_heartbeat_age_seconds",
            "Seconds since a worker last ran the heartbeat task that beat sends.",
        )
        try:
            age = heartbeat_age_seconds()
            if age is not None:
                heartbeat.add_metric([], age)
        except Exception as exc:  # noqa: BLE001 - likewise a missing sample, not a 500
            logger.warning("heartbeat age unavailable: %s", type(exc).__name__)
        return [queues, heartbeat]


_cluster = ClusterCollector()


class _FilesCollector:
    """Merges the multiprocess files of every role (web, worker, beat) under one root."""

    def __init__(self, root: str) -> None:
        self.root = root

    def collect(self):
        from prometheus_client.multiprocess import MultiProcessCollector

        files = glob.glob(os.path.join(self.root, "*", "*.db")) + glob.glob(os.path.join(self.root, "*.db"))
        return MultiProcessCollector.merge(files, accumulate=True)


def exposition(metrics_dir: str = "") -> tuple[bytes, str]:
    """The Prometheus text for /metrics: process or multiprocess counters, then live gauges."""
    if metrics_dir:
        registry = CollectorRegistry()
        registry.register(_FilesCollector(metrics_dir))
    else:
        registry = REGISTRY
    live = CollectorRegistry()
    live.register(_cluster)
    return generate_latest(registry) + generate_latest(live), CONTENT_TYPE_LATEST
