"""insights' admin: the WeChat-statistics sync's pages (backfills, the sync state of each day) are
in ``sync_admin``; the report half's (figures pages, exports, monthly client reports) in
``admin_reports``. Importing them registers them."""

from . import admin_reports, sync_admin  # noqa: F401
