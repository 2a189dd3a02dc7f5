"""scripts/backup.sh and scripts/restore.sh: a backup restores into an empty database and media folder."""

import os
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from accounts.tests.factories import OfficialAccountFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def url(name: str) -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def run(script: str, *args: str, env: dict, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", f"scripts/{script}", *args],
        cwd=ROOT,
        input=stdin,
        text=True,
        capture_output=True,
        timeout=120,
        env={**os.environ, **env},
    )


@pytest.fixture
def restore_database():
    """An empty database beside the test database, dropped afterwards."""
    name = connection.settings_dict["NAME"] + "_restore"
    with psycopg.connect(url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stored_secret(database: str, appid: str) -> str | None:
    with psycopg.connect(url(database)) as conn:
        row = conn.execute(
            "SELECT appsecret FROM accounts_officialaccount WHERE appid = %s", [appid]
        ).fetchone()
    return row[0] if row else None


@pytest.fixture
def needs_pg_tools():
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: postgresql-client)")


def test_backup_restores_database_and_private_media(needs_pg_tools, restore_database, tmp_path):
    account = OfficialAccountFactory()
    media = tmp_path / "media"
    (media / "certification" / "1").mkdir(parents=True)
    (media / "certification" / "1" / "licence.pdf").write_bytes(b"%PDF-1.4 licence")
    source = connection.settings_dict["NAME"]

    made = run(
        "backup.sh", str(tmp_path / "backups"), env={"DATABASE_URL": url(source), "MEDIA_ROOT": str(media)}
    )
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    assert {"db.dump", "media.tar.gz", "SHA256SUMS", "MANIFEST"} <= {p.name for p in backup.iterdir()}

    restored_media = tmp_path / "restored-media"
    (restored_media).mkdir()
    (restored_media / "old.txt").write_text("before")
    target = {"DATABASE_URL": url(restore_database), "MEDIA_ROOT": str(restored_media)}

    # Without confirmation nothing happens.
    cancelled = run("restore.sh", str(backup), env=target, stdin="no\n")
    assert cancelled.returncode == 1 and "cancelled" in cancelled.stderr
    assert (restored_media / "old.txt").exists()

    done = run("restore.sh", str(backup), "--yes", env=target)
    assert done.returncode == 0, done.stderr
    # the ciphertext came back as it was (decryptable with the same FIELD_ENCRYPTION_KEYS)
    assert stored_secret(restore_database, account.appid) == stored_secret(source, account.appid)
    assert (restored_media / "certification" / "1" / "licence.pdf").read_bytes() == b"%PDF-1.4 licence"
    assert not (restored_media / "old.txt").exists()
    assert list(tmp_path.glob("restored-media.before-restore-*/old.txt"))


def test_a_damaged_backup_changes_nothing(needs_pg_tools, restore_database, tmp_path):
    OfficialAccountFactory()
    media = tmp_path / "media"
    media.mkdir()
    made = run(
        "backup.sh",
        str(tmp_path / "backups"),
        env={"DATABASE_URL": url(connection.settings_dict["NAME"]), "MEDIA_ROOT": str(media)},
    )
    backup = Path(made.stdout.strip().splitlines()[-1])
    with (backup / "db.dump").open("ab") as dump:
        dump.write(b"tampered")
    target_media = tmp_path / "target-media"
    target_media.mkdir()
    (target_media / "keep.txt").write_text("keep")

    refused = run(
        "restore.sh",
        str(backup),
        "--yes",
        env={"DATABASE_URL": url(restore_database), "MEDIA_ROOT": str(target_media)},
    )
    assert refused.returncode == 65
    assert "checksums do not match" in refused.stderr
    assert (target_media / "keep.txt").read_text() == "keep"
    with psycopg.connect(url(restore_database)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
