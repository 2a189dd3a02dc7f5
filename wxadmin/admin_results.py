"""django-celery-results' pages with their rows named in the staff member's language.

The package names a row "<Task: id (STATE)>" (its `__str__`), which the change and history
pages show as their subtitle and title; these admin classes name it in words instead.
Installation-wide (issue 22 §2): results hold every tenant's task arguments and results.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext as _
from django_celery_results import admin as results_admin
from django_celery_results.models import GroupResult, TaskResult

from accounts.installation import InstallationAdminMixin
from core.admin_mixins import AdminBase


class NamedRowMixin(AdminBase):
    """Names a row in its change and history pages by `row_name` instead of `str(obj)`."""

    def row_name(self, obj) -> str:
        raise NotImplementedError

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        named = {"subtitle": self.row_name(obj)} if obj is not None else {}
        return super().change_view(request, object_id, form_url, {**named, **(extra_context or {})})

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        named = {"title": _("Change history: %s") % self.row_name(obj)} if obj is not None else {}
        return super().history_view(request, object_id, {**named, **(extra_context or {})})


for model in (TaskResult, GroupResult):
    admin.site.unregister(model)


@admin.register(TaskResult)
class TaskResultAdmin(InstallationAdminMixin, NamedRowMixin, results_admin.TaskResultAdmin):
    def row_name(self, obj) -> str:
        return _("task %(id)s (%(state)s)") % {"id": obj.task_id, "state": obj.status}


@admin.register(GroupResult)
class GroupResultAdmin(InstallationAdminMixin, NamedRowMixin, results_admin.GroupResultAdmin):
    def row_name(self, obj) -> str:
        return _("task group %(id)s") % {"id": obj.group_id}
