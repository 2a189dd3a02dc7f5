"""Admin pages of the insights app. The WeChat-statistics sync's pages (backfills, the sync
state of each day) are in ``sync_admin``; importing it registers them."""

from . import sync_admin  # noqa: F401
