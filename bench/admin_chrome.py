"""Benchmark: the CPU of an admin page's chrome — the sidebar built once per language and kept in
the process and Django's app list built only where a page shows it, against both built on
every request as before (issue 21).

    .venv/bin/python bench/admin_chrome.py
    .venv/bin/python bench/admin_chrome.py --runs 60

Runs against its own PostgreSQL database (`BENCH_DATABASE_URL`, default
postgres://postgres@127.0.0.1:5432/wx_bench_chrome, created and migrated if missing). Through
Django's test client, as a superuser and as an operator (the "Operators" role), it requests
small admin pages — an empty list, an add form, the password form — whose own work is small,
so the chrome shows. Two modes in the same run, interleaved request by request: "before"
empties `wxadmin.navigation`'s cache before each request and puts Django's own
`AdminSite.each_context`/`get_app_list` back (`core.admin_mixins.install_lazy_available_apps`
keeps them as `.original`), "after" leaves both. For each page and user it prints the median
CPU time of this process per request (`time.process_time`: PostgreSQL's is not counted), the
`reverse()` calls per request, and the after/before ratio; then the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

from benchdb import ensure_database, setup_django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/wx_bench_chrome")
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/12")
os.environ["DJANGO_SETTINGS_MODULE"] = "wxadmin.settings.test"

PAGES = (
    ("menus list (empty)", "admin:menus_menu_changelist"),
    ("keyword rule add form", "admin:messaging_keywordrule_add"),
    ("password change form", "admin:password_change"),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    return parser.parse_args()


def users():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    model = get_user_model()
    superuser = model.objects.filter(username="bench-root").first() or model.objects.create_superuser(
        "bench-root", "root@example.com", "x"
    )
    operator, _ = model.objects.get_or_create(username="bench-operator", defaults={"is_staff": True})
    operator.groups.add(Group.objects.get(name="Operators"))
    return {"superuser": superuser, "operator": operator}


class ReverseCounter:
    """Counts django.urls.reverse calls, wherever they were imported from."""

    def __init__(self) -> None:
        import django.urls
        import django.urls.base

        self.count = 0
        self.original = django.urls.base.reverse
        self.modules = [django.urls, django.urls.base] + [
            m for m in list(sys.modules.values()) if getattr(m, "reverse", None) is self.original
        ]

    def __enter__(self) -> ReverseCounter:
        def counting(*args, **kwargs):
            self.count += 1
            return self.original(*args, **kwargs)

        for module in self.modules:
            module.reverse = counting
        return self

    def __exit__(self, *exc) -> None:
        for module in self.modules:
            module.reverse = self.original


@contextlib.contextmanager
def chrome_as_before(before: bool):
    """Django's own each_context and get_app_list while `before` (the app list built eagerly)."""
    from django.contrib.admin.sites import AdminSite

    patched = AdminSite.each_context, AdminSite.get_app_list
    if before:
        AdminSite.each_context = patched[0].original
        AdminSite.get_app_list = patched[1].original
    try:
        yield
    finally:
        AdminSite.each_context, AdminSite.get_app_list = patched


def main():
    args = parse_args()
    ensure_database(DB_URL)
    setup_django()
    from django.test import Client
    from django.urls import reverse

    from wxadmin import navigation

    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    clients = {}
    for name, user in users().items():
        clients[name] = Client()
        clients[name].force_login(user)
    rows = []
    for who, client in clients.items():
        for label, name in PAGES:
            url = reverse(name)
            for _ in range(3):  # warm up: templates, translations, the connection
                assert client.get(url).status_code == 200, (who, url)
            cpu: dict[str, list[float]] = {"before": [], "after": []}
            reverses = {}
            for _ in range(args.runs):
                for mode in ("before", "after"):
                    if mode == "before":
                        navigation._BUILT.clear()
                    with ReverseCounter() as counter, chrome_as_before(mode == "before"):
                        started = time.process_time()
                        response = client.get(url)
                        cpu[mode].append((time.process_time() - started) * 1000)
                    assert response.status_code == 200, (who, url, response.status_code)
                    reverses[mode] = counter.count
            before, after = statistics.median(cpu["before"]), statistics.median(cpu["after"])
            rows.append((who, label, before, after, reverses["before"], reverses["after"]))
    print(f"{'user':10} {'page':24} {'before ms':>9} {'after ms':>8} {'ratio':>6} {'reverse()':>12}")
    for who, label, before, after, r_before, r_after in rows:
        print(
            f"{who:10} {label:24} {before:9.1f} {after:8.1f} {after / before:5.2f}x"
            f" {r_before:5d} → {r_after:<4d}"
        )
    print(f"median CPU per request over {args.runs} requests of each mode, interleaved")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
