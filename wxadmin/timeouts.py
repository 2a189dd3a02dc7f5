"""Timeouts of the web tier that settings alone cannot express (issue 10).

`limit_web_statements()` — called by `wxadmin/wsgi.py`, so only web processes — makes
every new PostgreSQL connection cancel statements running longer than
WEB_STATEMENT_TIMEOUT_MS: a request never waits on a lock or a runaway query for
longer than that. Celery workers and management commands (migrations, pruning) are not
limited. The connection itself gives up after DATABASE_CONNECT_TIMEOUT (settings).
"""
from __future__ import annotations

from django.conf import settings
from django.db.backends.signals import connection_created


def _set_statement_timeout(sender, connection, **kwargs) -> None:
    milliseconds = int(settings.WEB_STATEMENT_TIMEOUT_MS)
    if connection.vendor == "postgresql" and milliseconds > 0:
        # The raw connection: once per connection, not counted as a request's query.
        connection.connection.execute(f"SET statement_timeout = {milliseconds}")


def limit_web_statements() -> None:
    connection_created.connect(_set_statement_timeout, dispatch_uid="wxadmin_web_statement_timeout")


def unlimit_web_statements() -> None:
    connection_created.disconnect(dispatch_uid="wxadmin_web_statement_timeout")
