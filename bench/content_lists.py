"""Benchmark: the materials list and the drafts list of one account at 10,000 items against 100
(issue 25: ≤ 2× and ≤ 300 ms each).

    .venv/bin/python bench/content_lists.py             # 100, then 10,000 of each
    .venv/bin/python bench/content_lists.py --items 50000

Runs against its own PostgreSQL database (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/wx_bench_content, created and migrated if missing; its
accounts and content rows are wiped at the start). Five other accounts hold as many rows
again, so the account filter has work to do.

Two phases in the same run: the account's library and draft box at 100 items (baseline),
then at `--items`. Each phase requests, through Django's test client as an operator assigned
to the account (the scoping selector applies), the first page of each list filtered by the
account, and a search whose answer is one row at both sizes (the cost of searching, not of
rendering more rows); the median of `--runs` requests with its SQL query count. It prints the
figures and the scale/baseline ratio of each.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

import benchdb
from benchdb import ensure_database, setup_django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_content")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"

BASELINE = 100
OTHERS = 2
BODY = "<p>" + "正文内容，" * 400 + "</p>"  # a 6 KB body: the list must not read it


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    return parser.parse_args()


def add_rows(accounts, *, count: int, start: int) -> None:
    """`count` materials and `count` drafts on every account (numbered from `start`)."""
    from django.db import connection
    from django.utils import timezone

    from content.models import Draft, Material

    now = timezone.now()
    kinds = ["image", "image", "thumb", "voice", "video"]
    for account in accounts:
        Material.objects.bulk_create(
            [
                Material(
                    account=account,
                    kind=kinds[n % 5],
                    media_id=f"m{account.pk}_{n:08d}",
                    name=f"素材{n}.jpg",
                    size=1024 + n,
                    status="ready",
                    synced_at=now,
                )
                for n in range(start, start + count)
            ],
            batch_size=5000,
        )
        drafts = Draft.objects.bulk_create(
            [
                Draft(
                    account=account,
                    title=f"草稿{n}号",
                    articles=[{"title": f"草稿{n}号", "content": BODY, "thumb_media_id": "x"}],
                    article_count=1,
                    status="synced" if n % 3 else "local",
                    media_id=f"d{account.pk}_{n:08d}" if n % 3 else "",
                )
                for n in range(start, start + count)
            ],
            batch_size=2000,
        )
        # spread the times as real use would (bulk_create gives every row "now")
        Draft.objects.filter(pk__in=[d.pk for d in drafts]).update(
            updated_at=now - datetime.timedelta(minutes=1)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE content_material; ANALYZE content_draft")


def measure(client, label: str, url: str, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, sql = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        sql.append(sum(float(q["time"]) for q in queries.captured_queries) * 1000)
    return {
        "label": label,
        "ms": statistics.median(times),
        "sql": statistics.median(sql),
        "queries": len(queries),
    }


def phase(client, account, runs: int) -> list[dict]:
    from django.urls import reverse

    materials = reverse("admin:content_material_changelist")
    drafts = reverse("admin:content_draft_changelist")
    return [
        measure(client, "materials list, first page", f"{materials}?account__id__exact={account.pk}", runs),
        measure(
            client,
            "materials list, search",
            f"{materials}?account__id__exact={account.pk}&q=素材42.jpg",
            runs,
        ),
        measure(client, "drafts list, first page", f"{drafts}?account__id__exact={account.pk}", runs),
        measure(client, "drafts list, search", f"{drafts}?account__id__exact={account.pk}&q=草稿42号", runs),
    ]


def main():
    args = parse_args()
    ensure_database(DB_URL)
    setup_django()
    from django.test import Client

    benchdb.wipe("content_publication", "content_draftversion", "content_draft", "content_material")
    accounts, _admin, operator = benchdb.make_accounts(OTHERS + 1, operator_accounts=1)
    client = Client()
    client.force_login(operator)
    add_rows(accounts, count=BASELINE, start=0)
    phase(client, accounts[0], 2)  # warm up: imports, templates, the first connection
    baseline = phase(client, accounts[0], args.runs)
    started = time.perf_counter()
    add_rows(accounts, count=args.items - BASELINE, start=BASELINE)
    print(
        f"loaded {args.items:,} materials and {args.items:,} drafts on each of {OTHERS + 1} accounts "
        f"in {time.perf_counter() - started:.1f} s"
    )
    scale = phase(client, accounts[0], args.runs)
    print(
        f"{'read (one account, as its operator)':36} {'100 items (SQL)':>26} {'scale (SQL)':>26} {'ratio':>6}"
    )
    worst = 0.0
    for base, big in zip(baseline, scale, strict=True):
        ratio = big["ms"] / base["ms"]
        worst = max(worst, ratio)
        print(
            f"{base['label']:36} {base['ms']:8.1f} ms ({base['sql']:5.1f} ms) {base['queries']:2d} q "
            f"{big['ms']:8.1f} ms ({big['sql']:5.1f} ms) {big['queries']:2d} q {ratio:6.2f}"
        )
    slowest = max(big["ms"] for big in scale)
    verdict = "OK" if worst <= 2 and slowest <= 300 else "OVER"
    print(f"target ≤ 2× and ≤ 300 ms: worst ratio {worst:.2f}, slowest {slowest:.1f} ms — {verdict}")


if __name__ == "__main__":
    main()
