"""(issue 29) The embedded SQLite default lets web, worker and beat write at once.

`make run` points three processes at one SQLite file. Each process below is a real
Python process with the project's settings and `DATABASE_URL=sqlite:///…`; each runs
transactions that read and then write, as an import row or a task does. Without WAL,
immediate transactions and a busy timeout, one of them fails with "database is locked".
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import os, sys, time
import django
django.setup()
from django.db import connection, transaction
role = sys.argv[1]
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS writes (id INTEGER PRIMARY KEY, role TEXT, n INTEGER)")
for n in range(40):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM writes WHERE role = %s", [role])
            time.sleep(0.005)
            cursor.execute("INSERT INTO writes (role, n) VALUES (%s, %s)", [role, n])
print("ok", role)
"""


@pytest.mark.slow
def test_web_worker_and_beat_write_to_sqlite_at_once_without_locking(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "wxadmin.settings.test",
        "PYTHONPATH": str(ROOT),
    }
    # The table exists before the writers race to create it.
    subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, cwd=ROOT, check=True)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, role],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ("web", "worker", "beat")
    ]
    results = [(process.wait(timeout=120), *process.communicate()) for process in processes]
    for code, out, err in results:
        assert code == 0, err[-2000:]
        assert "database is locked" not in err
    import sqlite3

    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM writes").fetchone()[0] == 120
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
