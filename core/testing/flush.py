"""A cheaper flush after transactional tests on PostgreSQL (issue 21).

pytest-django empties the test database after every `transaction=True` or `live_server` test
with Django's `flush`, which on PostgreSQL is one `TRUNCATE` of every table (about 150 here):
TRUNCATE gives each table new files and waits for the disk, 14–22 s per worker over the suite
on a busy machine. `DELETE FROM` on every table, in one transaction, leaves the same empty
tables (sequences are not reset by either: Django asks for `reset_sequences=False`) and costs
next to nothing on tables that are already empty, which most are. Django's foreign keys are
DEFERRABLE INITIALLY DEFERRED, so the order of the deletes does not matter.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql.operations import DatabaseOperations

_truncate_flush = DatabaseOperations.sql_flush


def delete_flush_sql(quote_name: Any, tables: list[str]) -> list[str]:
    """One statement (one round trip): a DO block that deletes the rows of every table."""
    names = ", ".join("'" + quote_name(table).replace("'", "''") + "'" for table in tables)
    statement = (
        "DO $flush$ DECLARE t text; BEGIN "
        f"FOREACH t IN ARRAY ARRAY[{names}]::text[] LOOP "
        "EXECUTE 'DELETE FROM ' || t; "
        "END LOOP; END $flush$;"
    )
    return [statement]


def _sql_flush(
    self: DatabaseOperations,
    style: Any,
    tables: list[str],
    *,
    reset_sequences: bool = False,
    allow_cascade: bool = False,
) -> list[str]:
    if not tables or reset_sequences or allow_cascade:
        return _truncate_flush(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    return delete_flush_sql(self.quote_name, tables)


def use_delete_flush() -> None:
    """Make PostgreSQL's `flush` delete instead of truncate, in this (test) process only."""
    DatabaseOperations.sql_flush = _sql_flush  # type: ignore[method-assign, assignment]
