"""The materials library's pages: the list (searchable, filtered by account, type and
status), the upload form (WeChat's limits checked before the call), the preview, the sync
from WeChat, the delete with its warning, and the picker the menu editor asks for."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape, format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from accounts.models import OfficialAccount
from accounts.scoping import AccountScopedAdminMixin, require_account_access
from accounts.selectors import accounts_visible_to
from content import library
from content.models import Material, MaterialKind, MaterialStatus
from core.domain_errors import DomainError
from core.parsing import id_or_none
from core.typing import AuthenticatedHttpRequest

from .common import VisibleAccountFilter


def _placeholder(text: str) -> bytes:
    """A grey square saying the preview could not be read from WeChat (text escaped)."""
    words = escape(str(_("No preview")))
    title = escape(text[:200])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120" viewBox="0 0 120 120">'
        f"<title>{title}</title>"
        '<rect width="120" height="120" fill="#e5e7eb"/>'
        f'<text x="60" y="64" font-size="14" text-anchor="middle" fill="#6b7280">{words}</text></svg>'
    ).encode()


class MaterialUploadForm(forms.ModelForm):
    """The upload: checked (R-CONTENT-01) and sent to WeChat when the form is validated, so a
    refusal shows on the form and nothing is kept as ready."""

    file = forms.FileField(
        label=_("file"),
        help_text=_(
            "Image: BMP/PNG/JPEG/JPG/GIF ≤ 10 MB · voice: MP3/WMA/WAV/AMR ≤ 2 MB · video: MP4 ≤ 10 MB "
            "(with a title) · thumbnail: JPG ≤ 64 KB."
        ),
    )

    class Meta:
        model = Material
        fields = ("account", "kind", "title", "introduction")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.uploaded: Material | None = None
        self.fields["title"].help_text = _("Required for a video.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if self.errors or upload is None or self.request is None:
            return data
        if upload.size > 11 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than any material WeChat takes (10 MB)."))
        try:
            self.uploaded = library.material_upload(
                account=data["account"],
                kind=data["kind"],
                filename=upload.name,
                data=upload.read(),
                title=data.get("title", ""),
                introduction=data.get("introduction", ""),
                by=self.request.user,
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.user_message) from exc
        return data

    request: AuthenticatedHttpRequest | None = None


@admin.register(Material)
class MaterialAdmin(AccountScopedAdminMixin, ModelAdmin):
    list_display = (
        "thumbnail",
        "__str__",
        "kind",
        "account",
        "status",
        "size_words",
        "media_id",
        "created_at",
    )
    list_display_links = ("__str__",)
    list_filter = ("kind", "status", ("account", VisibleAccountFilter))
    search_fields = ("name", "title", "=media_id")
    list_select_related = ("account",)
    list_per_page = 50
    show_full_result_count = False  # one COUNT less on every page of a large list
    readonly_fields = (
        "account",
        "kind",
        "status",
        "preview",
        "name",
        "title",
        "introduction",
        "media_id",
        "url",
        "size",
        "error",
        "usage",
        "wechat_updated_at",
        "created_by",
        "created_at",
        "synced_at",
    )
    actions = ("sync_selected",)
    delete_confirmation_template = "admin/content/material/delete_confirmation.html"
    change_list_template = "admin/content/material/change_list.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = MaterialUploadForm
            form = super().get_form(request, obj, change=change, **kwargs)
            form.request = request  # type: ignore[attr-defined]
            return form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("account", "kind", "file", "title", "introduction")
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        return (
            False
            if obj is not None and request.method == "POST"
            else super().has_change_permission(request, obj)
        )

    def save_model(self, request, obj, form, change):
        if change or form.uploaded is None:
            return
        obj.pk = form.uploaded.pk
        obj.media_id = form.uploaded.media_id
        obj.status = form.uploaded.status
        self.message_user(request, _("Uploaded to WeChat: %(id)s") % {"id": obj.media_id}, messages.SUCCESS)

    def save_related(self, request, form, formsets, change):
        return None

    @admin.display(description=_("preview"))
    def thumbnail(self, obj: Material) -> str:
        if obj.kind in (MaterialKind.IMAGE, MaterialKind.THUMB) and obj.status == MaterialStatus.READY:
            return format_html(
                (
                    '<img src="{}" alt="" loading="lazy" '
                    'style="width:40px;height:40px;object-fit:cover;border-radius:4px">'
                ),
                reverse("admin:content_material_preview", args=[obj.pk]),
            )
        return {"voice": "🎙", "video": "🎬"}.get(obj.kind, "🖼")

    @admin.display(description=_("size"))
    def size_words(self, obj: Material) -> str:
        return "—" if obj.size is None else library._size_words(obj.size)

    @admin.display(description=_("preview"))
    def preview(self, obj: Material) -> str:
        if obj.status != MaterialStatus.READY:
            return "—"
        url = reverse("admin:content_material_preview", args=[obj.pk])
        if obj.kind in (MaterialKind.IMAGE, MaterialKind.THUMB):
            return format_html('<img src="{}" alt="" style="max-width:360px;max-height:360px">', url)
        if obj.kind == MaterialKind.VOICE:
            return format_html('<audio controls preload="none" src="{}"></audio>', url)
        return format_html('<a href="{}">{}</a>', url, _("Title, description and download link"))

    @admin.display(description=_("used by"))
    def usage(self, obj: Material) -> str:
        return "; ".join(library.material_usage(obj)) or "—"

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="content_material_preview",
            ),
            path("choices/", self.admin_site.admin_view(self.choices_view), name="content_material_choices"),
            path("sync/", self.admin_site.admin_view(self.sync_view), name="content_material_sync"),
            *super().get_urls(),
        ]

    def preview_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """The material's file from WeChat (get_material), or a video's details."""
        material = get_object_or_404(Material.objects.select_related("account"), pk=pk)
        require_account_access(request.user, material.account)
        if not request.user.has_perm("content.view_material"):
            raise PermissionDenied
        try:
            content = library.material_content(material)
        except DomainError as exc:
            if material.kind in (MaterialKind.IMAGE, MaterialKind.THUMB):
                # an <img> on the list or the page: a picture that says why, not a broken one
                response = HttpResponse(_placeholder(exc.user_message), content_type="image/svg+xml")
                response["Cache-Control"] = "no-store"
                response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
                return response
            return HttpResponse(exc.user_message, status=410, content_type="text/plain; charset=utf-8")
        if isinstance(content, tuple):
            response = HttpResponse(content[0], content_type=content[1])
            response["Cache-Control"] = "private, max-age=3600"
            response["X-Content-Type-Options"] = "nosniff"
            return response
        return JsonResponse(content, json_dumps_params={"ensure_ascii": False})

    def choices_view(self, request: AuthenticatedHttpRequest) -> JsonResponse:
        """The account's materials for a picker (the menu editor's media_id buttons):
        ``?account=<id>&kind=image|voice|video|thumb&q=…``; only the user's accounts."""
        if not request.user.has_perm("content.view_material"):
            raise PermissionDenied
        account_id = id_or_none(request.GET.get("account"))
        account = get_object_or_404(OfficialAccount, pk=account_id) if account_id else None
        if account is None:
            return JsonResponse({"error": str(_("Give an account."))}, status=400)
        require_account_access(request.user, account)
        rows = Material.objects.filter(account=account, status=MaterialStatus.READY).exclude(media_id="")
        kind = request.GET.get("kind", "")
        if kind in MaterialKind.values:
            rows = rows.filter(kind=kind)
        query = (request.GET.get("q") or "").strip()[:64]
        if query:
            rows = rows.filter(name__icontains=query) | rows.filter(title__icontains=query)
        items = [
            {"media_id": m.media_id, "label": f"{m.get_kind_display()} · {m}", "kind": m.kind}
            for m in rows.order_by("-created_at")[:200]
        ]
        return JsonResponse({"items": items})

    def sync_view(self, request: AuthenticatedHttpRequest) -> HttpResponse:
        """Read an account's library back from WeChat (GET: choose the account)."""
        if not request.user.has_perm("content.view_material"):
            raise PermissionDenied
        accounts = accounts_visible_to(request.user).order_by("name")
        if request.method == "POST":
            account = get_object_or_404(accounts, pk=id_or_none(request.POST.get("account")) or 0)
            try:
                result = library.materials_sync(account=account, by=request.user)
            except DomainError as exc:
                self.message_user(request, exc.user_message, messages.ERROR)
            else:
                counts = result.counts or {}
                self.message_user(
                    request,
                    _(
                        "%(account)s: %(added)s added, %(removed)s removed, %(settled)s uploads settled. "
                        "WeChat counts %(image)s images, %(voice)s voice, %(video)s videos."
                    )
                    % {
                        "account": account,
                        "added": result.added,
                        "removed": result.removed,
                        "settled": result.settled,
                        "image": counts.get("image_count", 0),
                        "voice": counts.get("voice_count", 0),
                        "video": counts.get("video_count", 0),
                    },
                    messages.SUCCESS,
                )
            return redirect(f"{reverse('admin:content_material_changelist')}?account__id__exact={account.pk}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Sync the materials library from WeChat"),
            "accounts": accounts,
            "selected": id_or_none(request.GET.get("account")),
        }
        return TemplateResponse(request, "admin/content/material/sync.html", context)

    def delete_view(self, request, object_id, extra_context=None):
        """The confirmation names the drafts and menu buttons that use the material; WeChat
        deletes first, and a refusal keeps it."""
        material = self.get_object(request, object_id)
        extra = {**(extra_context or {}), "usage": library.material_usage(material) if material else []}
        try:
            return super().delete_view(request, object_id, extra)
        except DomainError as exc:
            self.message_user(request, exc.user_message, messages.ERROR)
            return redirect(reverse("admin:content_material_change", args=[object_id]))

    def delete_model(self, request, obj):
        library.material_delete(material=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for material in queryset.select_related("account"):
            try:
                library.material_delete(material=material, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{material}: {exc.user_message}", messages.ERROR)

    @admin.action(description=_("Sync the libraries of the selected materials' accounts from WeChat"))
    def sync_selected(self, request, queryset):
        for account in {m.account for m in queryset.select_related("account")}:
            try:
                result = library.materials_sync(account=account, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{account}: {exc.user_message}", messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(account)s: %(added)s added, %(removed)s removed.")
                    % {"account": account, "added": result.added, "removed": result.removed},
                )
