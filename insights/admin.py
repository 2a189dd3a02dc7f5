"""insights' admin: the datacube sync's pages go here; the report half's (figures pages,
exports, monthly client reports) are in ``admin_reports``."""

from . import admin_reports  # noqa: F401  (registers ReportAdmin and its URLs)
