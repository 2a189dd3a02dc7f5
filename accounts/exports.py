"""Safe spreadsheet exports (issue 9), shared by every admin that exports (accounts,
certification): formulas neutralised, unknown list parameters answered, rows scoped.
"""

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import FieldError, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    # import-export ships no types: the bases are Any to the checker, plain objects at run time.
    from import_export.admin import ExportMixin as ExportAdminBase
    from import_export.resources import ModelResource as ResourceBase
else:
    ExportAdminBase = ResourceBase = object

#: A spreadsheet reads a text cell starting with one of these as a formula (or DDE).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value):
    """Text that a spreadsheet would run (`=HYPERLINK(…)`, `+cmd|…`) gets a leading
    apostrophe, so CSV and XLSX show it as text (OWASP "CSV injection"). Numbers,
    dates and other values are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class FormulaSafeResourceMixin(ResourceBase):
    """For django-import-export resources: every exported cell goes through
    `neutralise_formula`, whatever field or dehydrate method produced it."""

    def export_field(self, field, instance, **kwargs):
        return neutralise_formula(super().export_field(field, instance, **kwargs))


class _BadListParameters(Exception):
    pass


class SafeExportAdminMixin(ExportAdminBase):
    """For admins with import-export's ExportMixin.

    The export page reads the changelist's filters from its query string; an unknown
    or malformed one used to raise (500). Now it answers like the changelist: back
    to the list with a message, nothing exported. The rows offered for "export
    selected" are the admin's own (scoped) rows.
    """

    def get_export_queryset(self, request):
        try:
            return super().get_export_queryset(request)
        except (IncorrectLookupParameters, FieldError, ValidationError, ValueError) as exc:
            raise _BadListParameters from exc

    def get_valid_export_item_pks(self, request):
        return self.get_queryset(request).values_list("pk", flat=True)

    def export_action(self, request):
        try:
            return super().export_action(request)
        except _BadListParameters:
            self.message_user(
                request,
                _(
                    "The export link has a filter this list does not "
                    "know; nothing was exported. Choose the filters "
                    "again and export."
                ),
                messages.ERROR,
            )
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
