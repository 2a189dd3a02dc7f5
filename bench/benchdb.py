"""The benchmarks' shared database set-up: create the bench database if missing, migrate it,
wipe it, and give it accounts and the two users whose pages the benches open."""

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


#: the account tables every bench wipes with its own (their history and staff links included)
ACCOUNT_TABLES = (
    "accounts_officialaccount_assigned_staff",
    "accounts_officialaccount",
    "accounts_historicalofficialaccount",
    "accounts_entity",
    "accounts_historicalentity",
)


def wipe(*tables: str) -> None:
    """Empty `tables` and the account tables (ids restarted), in one TRUNCATE."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join((*tables, *ACCOUNT_TABLES))} RESTART IDENTITY CASCADE")


def make_accounts(count: int, *, operator_accounts: int):
    """One entity with `count` service accounts, a superuser (bench-admin) and an Operator
    (bench-operator) assigned to the first `operator_accounts` of them.

    Returns (accounts, admin, operator)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.models import Entity, OfficialAccount

    entity = Entity.objects.create(
        full_name="基准测试公司", short_name="基准", kind="enterprise", subtype="general_enterprise"
    )
    accounts = OfficialAccount.objects.bulk_create(
        [
            OfficialAccount(
                entity=entity,
                name=f"基准{n}服务号",
                original_id=f"gh_{n:012x}",
                appid=f"wx{n:016x}",
                appsecret="s" * 32,
                server_token=f"token{n}",
                encoding_aes_key="a" * 43,
                account_type="service",
            )
            for n in range(count)
        ]
    )
    users = get_user_model().objects
    admin, _ = users.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
    operator, _ = users.get_or_create(username="bench-operator", defaults={"is_staff": True})
    operator.groups.add(Group.objects.get(name="Operators"))
    operator.assigned_accounts.add(*accounts[:operator_accounts])
    return accounts, admin, operator
