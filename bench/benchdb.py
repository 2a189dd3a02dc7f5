"""The benchmarks' shared database set-up: create the bench database if missing, migrate it."""

from __future__ import annotations


def ensure_database(url: str) -> None:
    """Create the database named at the end of `url` if it does not exist yet."""
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    """django.setup() and migrate; the caller has set the environment first."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
