"""The order page's document checklist inline: uploads, their refusals, downloads."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import TabularInline
from unfold.decorators import display

from certification.forms import OrderDocumentForm
from certification.models import OrderDocument


def upload_errors_key(order_id: int) -> str:
    return f"certification:upload-errors:{order_id}"


class OrderDocumentInline(TabularInline):
    model = OrderDocument
    form = OrderDocumentForm
    extra = 0
    can_delete = False
    fields = ["item", "kind", "required", "file", "upload_problem", "download", "value", "status", "verify"]
    readonly_fields = ["item", "kind", "required", "status", "download", "upload_problem"]
    verbose_name_plural = gettext_lazy("Document checklist")
    upload_errors: dict = {}

    def has_add_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        # Inline instances are made per request: the refusals of the last upload (kept in
        # the session across the redirect) are shown once, next to their rows.
        if obj is not None:
            key = upload_errors_key(obj.pk)
            self.upload_errors = (
                request.session.pop(key, {}) if request.method == "GET" else request.session.get(key, {})
            )
        return super().get_formset(request, obj, **kwargs)

    @display(description=gettext_lazy("upload problem"))
    def upload_problem(self, document):
        problem = self.upload_errors.get(str(document.pk))
        if not problem:
            return ""
        return format_html('<span class="cert-upload-error" style="color:#b91c1c">{}</span>', problem)

    @display(description=gettext_lazy("item"))
    def item(self, document):
        return _(document.label)  # stored as the English source, translated here

    @display(description=gettext_lazy("download"))
    def download(self, document):
        if not document.file:
            return "—"
        url = reverse("certification:document_download", args=[document.pk])
        return format_html('<a href="{}">{}</a>', url, document.original_name or _("download"))

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and not obj.is_editable:
            fields += ["file", "value"]
        return fields
