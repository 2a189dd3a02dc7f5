"""Bulk onboarding of official accounts from CSV: all rows or none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import tablib
from django.db import transaction
from django.utils.translation import gettext as _

from .resources import OfficialAccountImportResource

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


@dataclass
class RowProblem:
    line: int  # line in the file, the header being line 1
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _column_names() -> dict[str, str]:
    """Model field → the CSV column staff typed (the field `server_token` is the column
    `token`): errors name the column, which is what the file has."""
    return {
        field.attribute: field.column_name
        for field in OfficialAccountImportResource().fields.values()
        if field.attribute
    }


def _describe(errors: Exception) -> str:
    if hasattr(errors, "message_dict"):
        columns = _column_names()
        return "; ".join(
            f"{columns.get(name, name)}: {' '.join(messages)}"
            for name, messages in errors.message_dict.items()
        )
    return "; ".join(getattr(errors, "messages", [str(errors)]))


def import_accounts_csv(text: str, *, user: User | AnonymousUser | None = None) -> ImportReport:
    """Import accounts from CSV text. Any invalid row → nothing is written and every bad
    row is reported with its line number; a valid file is applied in one transaction.
    Matching is by AppID, so importing the same file twice changes nothing the second time.
    """
    report = ImportReport()
    try:
        dataset = tablib.Dataset().load(text.lstrip("\ufeff"), format="csv")
    except Exception:  # noqa: BLE001 - tablib raises several types for unreadable input
        report.problems.append(RowProblem(1, _("The file is not readable CSV.")))
        return report
    resource = OfficialAccountImportResource(user=user)
    with transaction.atomic():
        result = resource.import_data(
            dataset, dry_run=False, raise_errors=False, use_transactions=False, user=user
        )
        for error in result.base_errors:
            report.problems.append(RowProblem(1, _describe(error.error)))
        for number, errors in result.row_errors():
            for error in errors:
                report.problems.append(RowProblem(number + 1, str(error.error)))
        for invalid in result.invalid_rows:
            report.problems.append(RowProblem(invalid.number + 1, _describe(invalid.error)))
        # appids repeated inside one file would silently overwrite each other
        seen: dict[str, int] = {}
        for index, row in enumerate(dataset.dict, start=2):
            appid = (row.get("appid") or "").strip()
            if appid in seen:
                reason = _("AppID %(appid)s already appears on line %(line)s.") % {
                    "appid": appid,
                    "line": seen[appid],
                }
                report.problems.append(RowProblem(index, reason))
            seen.setdefault(appid, index)
        if report.problems:
            transaction.set_rollback(True)
            report.problems.sort(key=lambda problem: problem.line)
            return report
        report.created = result.totals.get("new", 0)
        report.updated = result.totals.get("update", 0)
        report.unchanged = result.totals.get("skip", 0)
    return report
