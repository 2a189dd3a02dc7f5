"""insights' periodic tasks: the datacube sync's, and the report half's (``report_schedules``)."""

from .report_schedules import SCHEDULES as REPORT_SCHEDULES

SCHEDULES = [*REPORT_SCHEDULES]
