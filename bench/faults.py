"""Benchmark: background work and the WeChat callback under injected faults (issue 10).

    .venv/bin/python bench/faults.py                  # 200 accounts, the project's timeouts
    .venv/bin/python bench/faults.py --quick          # 60 accounts, short task timeouts
    .venv/bin/python bench/faults.py --only callback  # one group: kill, broker, database, callback
    .venv/bin/python bench/faults.py --port-base 21010  # fixed ports (else free ones)

Everything is real and on this machine: PostgreSQL (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/wx_bench_faults, created if missing), Redis
(`BENCH_REDIS_URL`, default redis://127.0.0.1:6379/12, flushed), the WeChat sandbox,
`celery worker` processes and gunicorn. Faults come from `core/testing/faults.py`:
SIGKILL, a black-hole TCP listener, and a TCP proxy in front of PostgreSQL or Redis
switched to refuse (down) or hang (accepts, never answers) while clients are connected.

Scenarios:
1. worker SIGKILL mid-publish: a fan-out to N accounts through 2 workers; both are
   killed once a third is done, then 2 workers come back. In time = finished within
   2 minutes of the workers being back.
2. broker unreachable / hung at publish: the editor's publish endpoint (real view,
   Django test client) with Redis refusing connections (N/4 accounts) or a black hole
   (5 accounts). In time = answered (503, Chinese error) within 10 s.
3. database error in tasks: the workers reach PostgreSQL through a proxy that
   refuses connections for 15 s during a fan-out. In time = finished within 2 minutes
   of the database being back.
4. callback, Redis hung / PostgreSQL hung: gunicorn (2 workers × 4 threads) serving
   the callback, Redis (then PostgreSQL) behind a proxy switched to hang after a warm
   up; a burst of 20 signed, encrypted safe-mode pushes at once, then the same 20 again
   (WeChat's retries). In time = the right reply within 5 s. Pushes stored = distinct
   rows in PostgreSQL once the fault ended and the queue drained (waits up to 30 s).

Columns: answered in time (k/n), lost (no outcome at all: a version pending with no
task left in Redis, a push without the right reply), duplicated (a version whose
outcome was recorded twice, a push stored twice), stuck (a version still pending at
the end, a push answered right but after 5 s). Target: 0 lost, 0 duplicated, 0 stuck.
A menu/create sent again because the first worker never learnt its outcome (killed
after sending, database gone before recording) is counted in the notes, not as a
duplicate: WeChat ends with the same menu and the version is recorded once.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import benchdb
from _servers import start_gunicorn, stop_gunicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_faults")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
MENU = {"button": [{"type": "click", "name": "今日推荐", "key": "TODAY", "reply": "拿铁"}]}
ROWS: list[tuple[str, str, int, int, int, str]] = []


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument(
        "--quick", action="store_true", help="60 accounts; task time limit 15 s, visibility timeout 25 s"
    )
    parser.add_argument(
        "--only", choices=["kill", "broker", "database", "callback", "replies", "restarts", "audience"]
    )
    parser.add_argument(
        "--port-base", type=int, default=0, help="use ports from here on (default: free ports)"
    )
    args = parser.parse_args()
    if args.quick:
        args.accounts = min(args.accounts, 60)
    return args


class Ports:
    def __init__(self, base: int):
        self.base, self.used = base, 0

    def next(self) -> int:
        from core.testing.faults import free_port

        if not self.base:
            return free_port()
        self.used += 1
        return self.base + self.used - 1


def row(
    scenario: str, in_time: int, total: int, lost: int, duplicated: int, stuck: int, note: str = ""
) -> None:
    ROWS.append((scenario, f"{in_time}/{total}", lost, duplicated, stuck, note))
    print(
        f"  → {scenario}: in time {in_time}/{total}, lost {lost}, duplicated {duplicated}, "
        f"stuck {stuck} {note}",
        flush=True,
    )


# --- publication scenarios ---------------------------------------------------------------------


class Bench:
    def __init__(self, args, ports: Ports, tmp: Path):
        self.args, self.ports, self.tmp = args, ports, tmp
        from wechat_sandbox import Sandbox

        self.sandbox = Sandbox().start(host="127.0.0.1", port=ports.next())
        self.timeouts = (
            {
                "CELERY_TASK_SOFT_TIME_LIMIT": "12",
                "CELERY_TASK_TIME_LIMIT": "15",
                "CELERY_BROKER_VISIBILITY_TIMEOUT": "25",
                "MENU_PUBLISH_LOCK_SECONDS": "15",
            }
            if args.quick
            else {}
        )
        self.workers = []

    def worker_env(self, database_url: str = DB_URL) -> dict:
        return {
            "DATABASE_URL": database_url,
            "TEST_REDIS_URL": REDIS_URL,
            "WECHAT_API_BASE": self.sandbox.base_url,
            "MENU_PUBLISH_RATE_PER_SECOND": "0",
            "MENU_PUBLISH_RETRY_BASE_SECONDS": "0.5",
            "CONN_MAX_AGE": "60",
            "LOG_LEVEL": "INFO",
            **self.timeouts,
        }

    def start_workers(self, count: int, env: dict, label: str, *, pool: str = "threads") -> list:
        from core.testing.faults import CeleryWorker

        started = [
            CeleryWorker(
                env,
                name=f"bench-faults-{label}-{os.getpid()}-{i}",
                log_path=self.tmp / f"{label}-{i}.log",
                concurrency=4,
                extra_args=["--pool", pool],
            )
            for i in range(count)
        ]
        self.workers += started
        for worker in started:
            worker.wait_ready()
        return started

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def accounts(self, count: int, label: str) -> list:
        from accounts.models import OfficialAccount
        from accounts.tests.factories import EntityFactory, random_alnum, random_hex

        entity = EntityFactory(full_name=f"故障测试公司 {label} {time.time_ns()}")
        created = []
        for i in range(count):
            account = OfficialAccount(
                entity=entity,
                name=f"faults-{label}-{i:04d}",
                original_id="gh_" + random_hex(12),
                appid="wx" + random_hex(16),
                appsecret=random_hex(32),
                server_token=random_alnum(32),
                encoding_aes_key=random_alnum(43),
                certified_until="2099-01-01",
            )
            created.append(account)
        OfficialAccount.objects.bulk_create(created, batch_size=200)
        created = list(OfficialAccount.objects.filter(entity=entity))
        for account in created:
            self.sandbox.register_app(account.appid, str(account.appsecret), certified=True)
        return created

    # the three columns of a publication scenario, from the database, Redis and the sandbox
    def tally(self, fanout, *, back_at: float, limit: float) -> tuple[int, int, int, int, str]:
        import datetime

        from django.db.models import Count, Q

        from menus.models import MenuAuditEntry, VersionStatus

        versions = list(fanout.versions.select_related("menu__account"))
        deadline = datetime.datetime.fromtimestamp(back_at + limit, tz=datetime.UTC)
        in_time = sum(
            1
            for v in versions
            if v.status != VersionStatus.PENDING and v.finished_at and v.finished_at <= deadline
        )
        pending = [v.pk for v in versions if v.status == VersionStatus.PENDING]
        queued = queued_version_ids()
        lost = sum(1 for pk in pending if pk not in queued)
        twice = (
            MenuAuditEntry.objects.filter(version__fanout=fanout)
            .values("version")
            .annotate(n=Count("pk", filter=Q(action__in=["published", "failed"])))
            .filter(n__gt=1)
            .count()
        )
        resent = 0
        for version in versions:
            history = self.sandbox.state(version.menu.account.appid)["menu_history"]
            resent += max(0, len(history) - 1)
        published = sum(1 for v in versions if v.status == VersionStatus.PUBLISHED)
        failed = sum(1 for v in versions if v.status == VersionStatus.FAILED)
        note = (
            f"published {published}, failed {failed}; menu/create re-sent after the "
            f"fault (outcome unknown to the first try) {resent}"
        )
        return in_time, lost, twice, len(pending), note

    def wait_finished(self, fanout, timeout: float) -> None:
        from menus.selectors import fanout_counts

        deadline = time.monotonic() + timeout
        while fanout_counts(fanout)["pending"] and time.monotonic() < deadline:
            time.sleep(0.5)

    def wait_done_fraction(self, fanout, fraction: float, timeout: float = 120) -> None:
        from menus.selectors import fanout_counts

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counts = fanout_counts(fanout)
            if counts["published"] + counts["failed"] >= fraction * fanout.total:
                return
            time.sleep(0.05)

    def kill(self) -> None:
        from menus import services

        n = self.args.accounts
        print(f"\n[1] worker SIGKILL mid-publish: fan-out to {n} accounts, 2 workers", flush=True)
        accounts = self.accounts(n, "kill")
        workers = self.start_workers(2, self.worker_env(), "kill-a")
        self.sandbox.latency_ms = 100  # calls in flight when the kill comes
        fanout = services.fanout_start(data=MENU, accounts=accounts, by=None)
        self.wait_done_fraction(fanout, 1 / 3)
        for worker in workers:
            worker.kill()
        killed_at = time.monotonic()
        self.sandbox.latency_ms = 0
        self.start_workers(2, self.worker_env(), "kill-b")
        back_at = time.time()
        print(f"  killed both workers; back after {time.monotonic() - killed_at:.1f} s", flush=True)
        self.wait_finished(fanout, timeout=150)
        seconds = time.time() - back_at
        in_time, lost, twice, stuck, note = self.tally(fanout, back_at=back_at, limit=120)
        row(
            "worker SIGKILL mid-publish",
            in_time,
            n,
            lost,
            twice,
            stuck,
            f"(all finished {seconds:.0f} s after the workers were back; {note})",
        )
        self.stop_workers()

    def database(self) -> None:
        from django.db import connection

        from core.testing.faults import FORWARD, REFUSE, TcpProxy
        from menus import services

        n = self.args.accounts
        print(f"\n[3] database refused for 15 s during a fan-out to {n} accounts", flush=True)
        accounts = self.accounts(n, "db")
        db = connection.settings_dict
        proxy = TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432), port=self.ports.next())
        url = DB_URL.replace(f":{db.get('PORT') or 5432}/", f":{proxy.port}/")
        try:
            self.start_workers(2, self.worker_env(url), "db")
            self.sandbox.latency_ms = 50
            fanout = services.fanout_start(data=MENU, accounts=accounts, by=None)
            self.wait_done_fraction(fanout, 1 / 4)
            proxy.set_mode(REFUSE)
            time.sleep(15)
            proxy.set_mode(FORWARD)
            self.sandbox.latency_ms = 0
            back_at = time.time()
            self.wait_finished(fanout, timeout=150)
            seconds = time.time() - back_at
            in_time, lost, twice, stuck, note = self.tally(fanout, back_at=back_at, limit=120)
            retried = sum(w.log().count("database error, retrying") for w in self.workers)
            row(
                "database error in tasks",
                in_time,
                n,
                lost,
                twice,
                stuck,
                f"(all finished {seconds:.0f} s after the database was back; {retried} task "
                f"runs met the database error and were retried; {note})",
            )
        finally:
            self.stop_workers()
            proxy.close()

    def broker(self) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse
        from kombu import pools

        from core.testing.faults import BlackHole, free_port
        from menus.models import MenuVersion, VersionStatus
        from wxadmin.celery import app

        def switch(url: str) -> None:
            app.conf.broker_url = url
            pools.reset()
            app._pool = None
            app.amqp._producer_pool = None

        import logging

        for name in ("menus.services", "django.request"):  # one ERROR line per publication
            logging.getLogger(name).setLevel(logging.CRITICAL)
        user = get_user_model().objects.create_superuser(f"faults{time.time_ns()}", "", "x")
        client = Client()
        client.force_login(user)
        original = app.conf.broker_url

        def publish_all(accounts, limit: float):
            answered = []
            for account in accounts:
                started = time.monotonic()
                response = client.post(
                    reverse("menus:publish", args=[account.pk]),
                    json.dumps({"menu": MENU}),
                    content_type="application/json",
                )
                elapsed = time.monotonic() - started
                chinese = "无法连接任务队列" in response.json().get("error", "")
                answered.append((elapsed, response.status_code == 503 and chinese))
            versions = MenuVersion.objects.filter(menu__account__in=accounts)
            stuck = versions.filter(status=VersionStatus.PENDING).count()
            lost = versions.filter(status=VersionStatus.FAILED, explanation="").count()
            in_time = sum(1 for elapsed, ok in answered if ok and elapsed < limit)
            slowest = max(elapsed for elapsed, _ok in answered)
            return in_time, lost, stuck, slowest

        try:
            n = max(self.args.accounts // 4, 10)
            print(f"\n[2] broker down at publish: {n} publications, Redis refusing", flush=True)
            switch(f"redis://127.0.0.1:{free_port()}/0")
            in_time, lost, stuck, slowest = publish_all(self.accounts(n, "down"), 10)
            row(
                "broker unreachable at publish",
                in_time,
                n,
                lost,
                0,
                stuck,
                f"(503 with the Chinese error, version failed with its reason; slowest "
                f"answer {slowest:.2f} s)",
            )
            with BlackHole(self.ports.next()) as hole:
                print("    broker hung at publish: 5 publications, Redis a black hole", flush=True)
                switch(f"redis://127.0.0.1:{hole.port}/0")
                in_time, lost, stuck, slowest = publish_all(self.accounts(5, "hung"), 10)
            row(
                "broker hung at publish",
                in_time,
                5,
                lost,
                0,
                stuck,
                f"(slowest answer {slowest:.2f} s; before: 121 s, gunicorn's kill)",
            )
        finally:
            switch(original)


# --- replies and ambiguous answers (issue 23) -------------------------------------------------

SEND = "/cgi-bin/message/custom/send"


class Replies:
    """Staff replies (message/custom/send) and menu/create under the faults of issue 23.

    Each row also gives "true": replies whose record matches what the sandbox (WeChat)
    got — sent ⇔ received; "not sent" ⇒ not received; "may have reached" either way —
    and the time to settle (last outcome recorded after the fault ended). The beat is
    played by this script: `outbound_sweep()` every 30 s, as the schedule does."""

    def __init__(self, bench: Bench):
        self.bench = bench
        self.sandbox = bench.sandbox
        self.not_queued = 0

    def env(self) -> dict:
        return {**self.bench.worker_env(), "WECHAT_HTTP_READ_TIMEOUT": "2", "WECHAT_HTTP_MAX_ATTEMPTS": "2"}

    def write(self, count: int, label: str) -> tuple[object, list]:
        from django.utils import timezone

        from core.queueing import QueueUnavailable
        from messaging.conversations import services
        from messaging.conversations.models import OutboundMessage
        from messaging.models import InboundMessage

        account = self.bench.accounts(1, f"reply-{label}")[0]
        replies = []
        for i in range(count):
            openid = f"oFaults{label[:6]}{i:06d}{time.time_ns() % 10**6:06d}"
            now = timezone.now()
            InboundMessage.objects.create(
                account=account,
                dedupe_key=f"{openid}-in",
                openid=openid,
                msg_type="text",
                content="你好",
                sent_at=now,
                received_at=now,
            )
            self.sandbox.record_interaction(account.appid, openid)
            try:
                reply = services.outbound_send(
                    account=account, openid=openid, msg_type="text", text=f"回复 {i}", by=None
                )
            except QueueUnavailable:  # stored; staff were told in words (503 in the view)
                self.not_queued += 1
                reply = OutboundMessage.objects.get(account=account, openid=openid)
            replies.append(reply)
        return account, replies

    def settle(self, replies: list, *, timeout: float) -> float:
        """Wait until none is pending or sending, sweeping every 30 s; returns the wait."""
        from messaging.conversations import delivery
        from messaging.conversations.models import OutboundMessage

        ids = [r.pk for r in replies]
        started = time.monotonic()
        last_sweep = started
        while time.monotonic() - started < timeout:
            if not OutboundMessage.objects.filter(pk__in=ids, status__in=["pending", "sending"]).exists():
                break
            if time.monotonic() - last_sweep >= 30:
                delivery.outbound_sweep()
                last_sweep = time.monotonic()
            time.sleep(0.2)
        return time.monotonic() - started

    def tally(self, account, replies: list, *, waited: float, limit: float, scenario: str) -> None:
        from collections import Counter

        from messaging.conversations.delivery import ERRMSG_UNKNOWN
        from messaging.conversations.models import OutboundMessage

        got = Counter(m["touser"] for m in self.sandbox.state(account.appid)["sent_messages"])
        rows = list(OutboundMessage.objects.filter(pk__in=[r.pk for r in replies]))
        stuck = sum(1 for r in rows if r.status in ("pending", "sending"))
        duplicated = sum(1 for r in rows if got[r.openid] > 1)
        lost = sum(1 for r in rows if r.status == "sent" and not got[r.openid])
        true = sum(
            1
            for r in rows
            if (r.status == "sent" and got[r.openid] == 1)
            or (r.status == "failed" and r.errmsg == ERRMSG_UNKNOWN)
            or (r.status == "failed" and not got[r.openid])
        )
        sent = sum(1 for r in rows if got[r.openid])
        in_time = len(rows) - stuck if waited <= limit else 0
        row(
            scenario,
            in_time,
            len(rows),
            lost,
            duplicated,
            stuck,
            f"(received by WeChat {sent}; records true {true}/{len(rows)}; settled {waited:.0f} s "
            f"after the fault, limit {limit:.0f} s)",
        )

    def limit(self) -> float:
        from django.conf import settings

        visibility = int(self.bench.timeouts.get("CELERY_BROKER_VISIBILITY_TIMEOUT", 0)) or (
            settings.CELERY_BROKER_VISIBILITY_TIMEOUT
        )
        return visibility + 60

    def kill_around_the_call(self) -> None:
        n = max(20, self.bench.args.accounts // 5)
        print(f"\n[5] worker SIGKILL around the reply's call: {n} replies, 2 workers", flush=True)
        self.sandbox.latency_ms = 1500  # calls in flight when the kill comes
        workers = self.bench.start_workers(2, self.env(), "reply-kill-a")
        account, replies = self.write(n, "kill")
        time.sleep(2.5)  # some sent, some in flight, some not taken yet
        for worker in workers:
            worker.kill()
        self.sandbox.latency_ms = 0
        self.bench.start_workers(2, self.env(), "reply-kill-b")
        waited = self.settle(replies, timeout=self.limit() + 60)
        self.tally(
            account, replies, waited=waited, limit=self.limit(), scenario="worker SIGKILL around a reply"
        )
        self.bench.stop_workers()

    def late_reply(self) -> None:
        n = 10
        print(f"\n[6] WeChat answers message/custom/send after the client's timeout: {n} replies", flush=True)
        self.bench.start_workers(1, self.env(), "reply-late")
        account, replies = self.write(n, "late")
        self.sandbox.force_error(SEND, 0, delay_ms=3000, times=n, appid=account.appid)
        waited = self.settle(replies, timeout=self.limit() + 60)
        self.tally(account, replies, waited=waited, limit=self.limit(), scenario="reply answered too late")
        self.bench.stop_workers()

    def late_menu(self) -> None:
        from menus import services

        n = 10
        print(f"\n[7] WeChat answers menu/create after the client's timeout: {n} accounts", flush=True)
        accounts = self.bench.accounts(n, "menu-late")
        for account in accounts:
            self.sandbox.force_error("/cgi-bin/menu/create", 0, delay_ms=3000, times=1, appid=account.appid)
        self.bench.start_workers(1, self.env(), "menu-late")
        started = time.time()
        fanout = services.fanout_start(data=MENU, accounts=accounts, by=None)
        self.bench.wait_finished(fanout, timeout=180)
        in_time, lost, twice, stuck, note = self.bench.tally(fanout, back_at=started, limit=self.limit())
        published = fanout.versions.filter(status="published").count()
        applied = sum(1 for a in accounts if self.sandbox.state(a.appid)["menu"])
        row(
            "menu/create answered too late",
            in_time,
            n,
            lost,
            twice,
            stuck,
            f"(applied by WeChat {applied}, recorded published {published}; "
            f"settled {time.time() - started:.0f} s; {note})",
        )
        self.bench.stop_workers()

    def redis_down(self) -> None:
        from core.testing.faults import free_port, point_broker_at

        n = 10
        print(f"\n[8] Redis down under staff sending replies: {n} replies", flush=True)
        original = point_broker_at(f"redis://127.0.0.1:{free_port()}/0")
        try:
            account, replies = self.write(n, "redis")
        finally:
            point_broker_at(original)
        print(
            f"  {self.not_queued} of {n} answered 'queue unreachable' (503 in the view), rows kept",
            flush=True,
        )
        self.bench.start_workers(1, self.env(), "reply-redis")
        waited = self.settle(replies, timeout=self.limit() + 60)
        self.tally(account, replies, waited=waited, limit=self.limit(), scenario="Redis down while replying")
        self.bench.stop_workers()

    def redis_restarted_empty(self) -> None:
        """Redis killed and back with nothing (no persistence): the workers reach Redis through
        a proxy switched to refuse (connections reset) while its database is flushed — every
        queued task, unacknowledged message, token and lock gone — then back to forward. The
        bench's own Redis database is flushed, never the server (others share it)."""
        import redis

        from core.testing.faults import FORWARD, REFUSE, TcpProxy

        n = max(20, self.bench.args.accounts // 5)
        print(f"\n[9] Redis restarted empty while replying: {n} replies, 2 workers", flush=True)
        host, _, rest = REDIS_URL.removeprefix("redis://").partition(":")
        port, _, db = rest.partition("/")
        proxy = TcpProxy(host, int(port), port=self.bench.ports.next())
        env = {**self.env(), "TEST_REDIS_URL": f"redis://{host}:{proxy.port}/{db}"}
        try:
            self.sandbox.latency_ms = 1500  # calls in flight when Redis goes
            self.bench.start_workers(2, env, "reply-redis-empty")
            account, replies = self.write(n, "empty")
            time.sleep(2.5)
            proxy.set_mode(REFUSE)
            client = redis.Redis.from_url(REDIS_URL)
            lost_keys = client.dbsize()
            client.flushdb()
            client.close()
            time.sleep(3)
            proxy.set_mode(FORWARD)
            self.sandbox.latency_ms = 0
            print(f"  Redis back empty ({lost_keys} keys gone)", flush=True)
            waited = self.settle(replies, timeout=self.limit() + 60)
            self.tally(
                account,
                replies,
                waited=waited,
                limit=self.limit(),
                scenario="Redis restarted empty while replying",
            )
        finally:
            self.bench.stop_workers()
            proxy.close()

    def database_crash(self, pool: str = "prefork") -> None:
        """PostgreSQL crashes around the reply's final update: the workers reach it through a
        proxy that resets every connection and refuses new ones for 15 s while calls to WeChat
        are in flight (sent, their "sent" update not yet written). `pool`: the workers' pool
        (production runs Celery's default, prefork; the other scenarios use threads)."""
        from django.db import connection

        from core.testing.faults import FORWARD, REFUSE, TcpProxy

        n = max(20, self.bench.args.accounts // 5)
        print(
            f"\n[10] PostgreSQL connections dropped for 15 s around the replies' calls: {n} replies, "
            f"2 workers ({pool} pool)",
            flush=True,
        )
        db = connection.settings_dict
        proxy = TcpProxy(
            db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432), port=self.bench.ports.next()
        )
        url = DB_URL.replace(f":{db.get('PORT') or 5432}/", f":{proxy.port}/")
        try:
            self.sandbox.latency_ms = 1500
            env = {**self.env(), "DATABASE_URL": url}
            workers = self.bench.start_workers(2, env, f"reply-db-{pool}", pool=pool)
            account, replies = self.write(n, f"db{pool}")
            time.sleep(2.5)  # some recorded sent, some in flight, some not taken
            proxy.set_mode(REFUSE)
            time.sleep(15)
            proxy.set_mode(FORWARD)
            self.sandbox.latency_ms = 0
            waited = self.settle(replies, timeout=self.limit() + 60)
            retried = sum(w.log().count("OperationalError") for w in workers)
            self.tally(
                account,
                replies,
                waited=waited,
                limit=self.limit(),
                scenario=f"PostgreSQL dropped around replies ({pool} pool)",
            )
            outside = sum(w.log().count("Exception raised outside body") for w in workers)
            print(
                f"  database errors in the workers' logs: {retried}; raised outside the task body: {outside}",
                flush=True,
            )
            if outside:
                print(first_outside_body(workers), flush=True)
        finally:
            self.bench.stop_workers()
            proxy.close()


def first_outside_body(workers) -> str:
    """Where the first "Exception raised outside body" of the workers' logs came from."""
    for worker in workers:
        log = worker.log()
        at = log.find("Exception raised outside body")
        if at >= 0:
            frames = [
                line.strip() for line in log[at : at + 8000].splitlines() if line.strip().startswith("File")
            ]
            return "  where (innermost last): " + " | ".join(frames[:8])
    return ""


def audience_writes(bench: Bench) -> None:
    """Audience writes (tagging, blacklist) whose answer WeChat never sent: in-process, as
    staff's request runs them. Per batch of 50 (20 for the blacklist) one of: answered;
    applied and the answer lost ("lost": the sandbox applies, then closes the connection);
    dropped before WeChat did anything; applied, answer lost and the read-back failing
    too. Then the writer is gone and the sweeper (the beat task) settles what is left.
    "True" = a write recorded done ⇔ WeChat has the change for all its followers."""
    import datetime

    from django.utils import timezone

    from audience import services
    from audience.models import FollowerTag, WeChatWrite
    from wechat_sandbox.areas._audience import audience as audience_state

    batches = max(8, bench.args.accounts // 5)
    n = batches * 50
    print(
        f"\n[11] audience writes whose answer was lost: tagging {n} followers in {batches} batches",
        flush=True,
    )
    from django.conf import settings

    settings.WECHAT_API_BASE = bench.sandbox.base_url  # this process calls WeChat, as a request would
    (account,) = bench.accounts(1, "audience")
    import requests

    requests.post(
        f"{bench.sandbox.base_url}/sandbox/users/{account.appid}/generate", json={"count": n}, timeout=10
    )
    services.run_sync(services.start_sync(account=account).pk)
    tag = services.create_tag(account=account, name="故障测试", by=None)
    state = audience_state(bench.sandbox.app(account.appid))
    openids = [state.openid_at(i) for i in range(n)]
    api = "/cgi-bin/tags/members/batchtagging"
    # per batch, in order: answered, lost ×3 (the client tries 3 times), dropped ×3, lost + read-back dropped
    plan = ["ok", "lost", "drop", "lost-unread"] * (batches // 4 + 1)
    started = time.monotonic()
    for index in range(batches):
        kind = plan[index]
        if kind == "lost":
            bench.sandbox.force_error(api, "lost", times=3, appid=account.appid)
        elif kind == "drop":
            bench.sandbox.force_error(api, "drop", times=3, appid=account.appid)
        elif kind == "lost-unread":
            bench.sandbox.force_error(api, "lost", times=3, appid=account.appid)
            bench.sandbox.force_error("/cgi-bin/user/info/batchget", "drop", times=3, appid=account.appid)
        try:
            services.tag_followers(tag=tag, openids=openids[index * 50 : (index + 1) * 50], by=None)
        except services.AudienceError:
            pass  # said to staff in words
    in_request = time.monotonic() - started
    open_after_request = WeChatWrite.objects.filter(state__in=["pending", "sent"]).count()
    # the writer is gone; the beat's sweeper runs once the leases and CONFIRM_AFTER have passed
    past = timezone.now() - datetime.timedelta(minutes=5)
    WeChatWrite.objects.filter(state__in=["pending", "sent"]).update(lease_until=past, sent_at=past)
    swept = services.settle_writes()
    writes = list(WeChatWrite.objects.filter(account=account, action="tag"))
    tagged = {o for o, info in state.info.items() if tag.wechat_id in (info.get("tagid_list") or [])}
    # true: settled, and the followers it records as changed are exactly those WeChat changed
    true = sum(
        1
        for w in writes
        if w.state in ("done", "failed") and w.applied == sum(o in tagged for o in w.openids)
    )
    here = set(
        FollowerTag.objects.filter(account=account, tag_id=tag.wechat_id).values_list(
            "follower__openid", flat=True
        )
    )
    stuck = sum(1 for w in writes if w.state in ("pending", "sent", "unknown"))
    lost = sum(1 for w in writes if w.state == "done" and not all(o in tagged for o in w.openids))
    calls = bench.sandbox.app(account.appid).calls[api]
    row(
        "audience tagging, answers lost",
        len(writes) - stuck,
        len(writes),
        lost,
        0,
        stuck,
        f"(records true {true}/{len(writes)}; done {sum(w.state == 'done' for w in writes)}, "
        f"not done {sum(w.state == 'failed' for w in writes)}; tags here = WeChat's: {here == tagged}; "
        f"{open_after_request} left open by the requests, settled by one sweep {swept}; "
        f"batchtagging calls {calls}; requests took {in_request:.1f} s)",
    )


def queued_version_ids() -> set[int]:
    """Version ids of the publish tasks still in Redis (queued or held unacknowledged)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    raw = client.lrange("celery", 0, -1) + list(client.hgetall("unacked").values())
    ids = set()
    for item in raw:
        try:
            message = json.loads(item)
            if isinstance(message, list):  # unacked: [message, exchange, routing key]
                message = message[0]
            if message["headers"].get("task") != "menus.publish_version":
                continue
            args = json.loads(base64.b64decode(message["body"]))[0]
            ids.add(int(args[0]))
        except (ValueError, KeyError, IndexError, TypeError):
            continue
    client.close()
    return ids


# --- callback scenarios --------------------------------------------------------------------------


def callback(args, ports: Ports) -> None:
    import redis
    from callback_throughput import build_requests, check_replies, create_account
    from django.db import connection

    from core.testing.faults import FORWARD, HANG, TcpProxy
    from messaging.models import InboundMessage

    creds = create_account()
    db = connection.settings_dict
    pg = TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432), port=ports.next())
    redis_host, redis_port = REDIS_URL.split("//")[1].split("/")[0].split(":")
    rd = TcpProxy(redis_host, int(redis_port), port=ports.next())
    port = ports.next()
    env = {
        "DATABASE_URL": DB_URL.replace(f":{db.get('PORT') or 5432}/", f":{pg.port}/"),
        "TEST_REDIS_URL": REDIS_URL.replace(f":{redis_port}/", f":{rd.port}/"),
        "WECHAT_CALLBACK_ACCOUNT_CACHE_SECONDS": "600",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "ERROR",
        "DJANGO_SETTINGS_MODULE": "wxadmin.settings.test",
        # as in production: each web process moves queued log rows into PostgreSQL
        # (the test settings turn the thread off; without it no queued row is stored)
        "MESSAGE_LOG_FLUSHER_THREAD": "true",
    }
    server = start_gunicorn(port, {**os.environ, **env}, extra_args=("--timeout", "120"), settle_seconds=0.5)
    msg_base = int(time.time()) * 1000
    try:
        warm = build_requests(creds, 16, msg_base)
        burst(port, warm, timeout=30)  # every worker thread has the account cached now
        for scenario, proxy, offset in (
            ("callback, Redis hung", rd, 1000),
            ("callback, PostgreSQL hung", pg, 2000),
        ):
            print(f"\n[4] {scenario}: a burst of 20 pushes, then the same 20 again", flush=True)
            items = build_requests(creds, 20, msg_base + offset)
            proxy.set_mode(HANG)
            results = burst(port, items, timeout=30) + burst(port, items, timeout=30)
            proxy.set_mode(FORWARD)
            back = time.monotonic()
            msg_ids = [msg_id for _path, _body, msg_id in items]
            while time.monotonic() - back < 30 and InboundMessage.objects.filter(msg_id__in=msg_ids).values(
                "msg_id"
            ).distinct().count() < len(items):
                time.sleep(0.2)  # rows queued in Redis reach PostgreSQL once it is back
            drained = time.monotonic() - back
            in_time = lost = stuck = 0
            slowest = 0.0
            for msg_id, elapsed, status, body in results:
                right = status == 200 and check_replies(creds, [(msg_id, body)]) == 0
                slowest = max(slowest, elapsed)
                lost += not right
                stuck += right and elapsed >= 5
                in_time += right and elapsed < 5
            stored = list(InboundMessage.objects.filter(msg_id__in=msg_ids).values_list("msg_id", flat=True))
            row(
                scenario,
                in_time,
                len(results),
                lost,
                len(stored) - len(set(stored)),
                stuck,
                f"(slowest {slowest:.2f} s; pushes stored {len(set(stored))}/20, "
                f"{drained:.1f} s after the fault ended)",
            )
    finally:
        stop_gunicorn(server)
        pg.close()
        rd.close()
        redis.Redis.from_url(REDIS_URL).close()


def burst(port: int, items, *, timeout: float) -> list[tuple[int, float, int, bytes]]:
    """All items at once, one thread and one connection each, like WeChat's pushes."""
    import http.client

    results = []
    lock = threading.Lock()

    def send(path, body, msg_id):
        started = time.monotonic()
        status, data = 0, b""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.request("POST", path, body=body, headers={"Content-Type": "text/xml"})
            response = conn.getresponse()
            status, data = response.status, response.read()
            conn.close()
        except OSError:
            pass
        with lock:
            results.append((msg_id, time.monotonic() - started, status, data))

    threads = [threading.Thread(target=send, args=item) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    args = parse_args()
    benchdb.ensure_database(DB_URL)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "wxadmin.settings.test",
            "DATABASE_URL": DB_URL,
            "TEST_REDIS_URL": REDIS_URL,
            "LOG_LEVEL": "WARNING",
        }
    )
    benchdb.setup_django()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    ports = Ports(args.port_base)
    print(
        f"fault benchmark: {args.accounts} accounts, "
        f"{'short task timeouts (--quick)' if args.quick else 'the project timeouts'}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="wx-faults-") as tmp:
        bench = Bench(args, ports, Path(tmp))
        try:
            if args.only in (None, "kill"):
                bench.kill()
            if args.only in (None, "broker"):
                bench.broker()
            if args.only in (None, "database"):
                bench.database()
            if args.only in (None, "callback"):
                callback(args, ports)
            if args.only in (None, "replies"):
                replies = Replies(bench)
                replies.kill_around_the_call()
                replies.late_reply()
                replies.late_menu()
                replies.redis_down()
            if args.only in (None, "audience"):
                audience_writes(bench)
            if args.only in (None, "restarts"):
                replies = Replies(bench)
                replies.redis_restarted_empty()
                replies.database_crash("prefork")
                replies.database_crash("threads")
        finally:
            bench.stop_workers()
            bench.sandbox.stop()
    width = max(len(r[0]) for r in ROWS) if ROWS else 10
    print(f"\n{'scenario':<{width}}  answered in time  lost  duplicated  stuck")
    for scenario, in_time, lost, duplicated, stuck, _note in ROWS:
        print(f"{scenario:<{width}}  {in_time:>16}  {lost:>4}  {duplicated:>10}  {stuck:>5}")
    bad = sum(r[2] + r[3] + r[4] for r in ROWS)
    print(f"target: 0 lost, 0 duplicated, 0 stuck — {'met' if bad == 0 else 'NOT met'}")


if __name__ == "__main__":
    main()
