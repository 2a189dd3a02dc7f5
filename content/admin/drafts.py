"""The drafts' pages: the list, the editor of a draft's articles (saved as versions, sent to
WeChat's draft box), the phone-width preview, publishing, copying to other accounts, and the
upload of an image for an article body."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from unfold.admin import ModelAdmin

from accounts.models import OfficialAccount
from accounts.scoping import AccountScopedAdminMixin, require_account_access
from accounts.selectors import accounts_visible_to
from content import drafts as services
from content import publishing
from content.models import Draft, DraftStatus, DraftVersion, Publication
from content.render import render_article
from core.domain_errors import DomainError
from core.parsing import id_or_none
from core.typing import AuthenticatedHttpRequest

from .common import VisibleAccountFilter

PUSHABLE = (DraftStatus.LOCAL, DraftStatus.CHANGED, DraftStatus.FAILED, DraftStatus.SYNCED)


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=64)
    author = forms.CharField(label=_("author"), max_length=16, required=False)
    digest = forms.CharField(
        label=_("digest"),
        max_length=120,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown in the share card; WeChat takes the first words of the body when empty."),
    )
    thumb_media_id = forms.ChoiceField(label=_("cover"), required=False)
    content = forms.CharField(
        label=_("body (HTML)"),
        widget=forms.Textarea(attrs={"rows": 14, "class": "content-body"}),
        help_text=_(
            "Reduced to what WeChat shows when saved: scripts, iframes, forms and images from "
            "other sites are removed, and you are told what was."
        ),
    )
    content_source_url = forms.CharField(label=_("original URL (阅读原文)"), max_length=1024, required=False)
    need_open_comment = forms.BooleanField(label=_("comments on"), required=False)
    only_fans_can_comment = forms.BooleanField(label=_("only followers may comment"), required=False)

    def __init__(self, *args: Any, covers: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["thumb_media_id"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("— choose a cover from the materials library —")), *(covers or [])]


ArticleFormSet = forms.formset_factory(
    ArticleForm, extra=0, min_num=1, max_num=8, validate_min=True, validate_max=True, can_delete=True
)


class CopyForm(forms.Form):
    targets = forms.ModelMultipleChoiceField(
        label=_("copy to these accounts"),
        queryset=OfficialAccount.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )


@admin.register(Draft)
class DraftAdmin(AccountScopedAdminMixin, ModelAdmin):
    list_display = ("title", "account", "status", "article_count", "pushed_version", "media_id", "updated_at")
    list_filter = ("status", ("account", VisibleAccountFilter))
    search_fields = ("title", "=media_id")
    list_select_related = ("account",)
    list_per_page = 50
    show_full_result_count = False  # one COUNT less on every page of a large list
    ordering = ("-updated_at", "id")  # the index content_draft_by_time

    def get_queryset(self, request):
        # the list never reads the articles' bodies (article_count is kept beside them)
        queryset = super().get_queryset(request)
        match = request.resolver_match
        return (
            queryset.defer("articles") if match and match.url_name == "content_draft_changelist" else queryset
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/push/", view(require_POST(self.push_view)), name="content_draft_push"),
            path("<int:pk>/settle/", view(require_POST(self.settle_view)), name="content_draft_settle"),
            path("<int:pk>/publish/", view(self.publish_view), name="content_draft_publish"),
            path("<int:pk>/copy/", view(self.copy_view), name="content_draft_copy"),
            path("<int:pk>/preview/", view(self.preview_view), name="content_draft_preview"),
            path("body-image/", view(require_POST(self.body_image_view)), name="content_draft_body_image"),
            *super().get_urls(),
        ]

    # --- the editor ----------------------------------------------------------------------
    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        accounts = accounts_visible_to(request.user).order_by("name")
        account_id = id_or_none(request.GET.get("account") or request.POST.get("account"))
        account = accounts.filter(pk=account_id).first() if account_id else None
        if account is None:
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("New draft: choose the account"),
                "accounts": accounts,
            }
            return TemplateResponse(request, "admin/content/draft/choose_account.html", context)
        return self._editor(request, account=account, draft=None)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        draft = self.get_object(request, object_id)
        if draft is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        if not self.has_view_or_change_permission(request, draft):
            raise PermissionDenied
        return self._editor(request, account=draft.account, draft=draft)

    def _editor(
        self, request: AuthenticatedHttpRequest, *, account: OfficialAccount, draft: Draft | None
    ) -> HttpResponse:
        can_change = self.has_change_permission(request, draft) if draft else self.has_add_permission(request)
        covers = services.ready_covers(account)
        initial = draft.article_list if draft else [{}]
        formset = ArticleFormSet(
            request.POST if request.method == "POST" else None,
            initial=[
                {
                    **a,
                    "need_open_comment": bool(a.get("need_open_comment")),
                    "only_fans_can_comment": bool(a.get("only_fans_can_comment")),
                }
                for a in initial
            ],
            form_kwargs={"covers": covers},
            prefix="article",
        )
        error = None
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            if formset.is_valid():
                articles = [
                    f.cleaned_data
                    for f in formset.forms
                    if f.cleaned_data and not f.cleaned_data.get("DELETE")
                ]
                try:
                    saved = services.draft_save(
                        account=account, articles=articles, by=request.user, draft=draft
                    )
                except DomainError as exc:
                    error = exc.user_message  # nothing was saved: the form shows why
                else:
                    for note in saved.notes:
                        self.message_user(request, note, messages.WARNING)
                    self.message_user(
                        request, _("Saved as version %(n)s.") % {"n": saved.version}, messages.SUCCESS
                    )
                    if "_push" in request.POST:
                        try:
                            services.draft_push(draft=saved.draft, by=request.user)
                            self.message_user(request, _("Sent to WeChat's draft box."), messages.SUCCESS)
                        except DomainError as exc:  # saved, not sent: the draft's page says why
                            self.message_user(request, exc.user_message, messages.ERROR)
                    return redirect(reverse("admin:content_draft_change", args=[saved.draft.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": draft.title if draft else _("New draft"),
            "account": account,
            "draft": draft,
            "formset": formset,
            "error": error,
            "can_change": can_change and (draft is None or draft.status not in services.BUSY),
            "can_publish": draft is not None and request.user.has_perm(publishing.PUBLISH_PERMISSION),
            "pushable": draft is not None and draft.status in PUSHABLE,
            "has_covers": bool(covers),
            "versions": DraftVersion.objects.filter(draft=draft).select_related("created_by")[:20]
            if draft
            else [],
            "publications": Publication.objects.filter(draft=draft)[:20] if draft else [],
            "original": draft,
            "has_delete_permission": draft is not None and self.has_delete_permission(request, draft),
        }
        return TemplateResponse(request, "admin/content/draft/editor.html", context)

    # --- actions on one draft ----------------------------------------------------------------
    def _draft(self, request: AuthenticatedHttpRequest, pk: int, permission: str) -> Draft:
        draft = get_object_or_404(Draft.objects.select_related("account"), pk=pk)
        require_account_access(request.user, draft.account)
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return draft

    def push_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        draft = self._draft(request, pk, "content.change_draft")
        try:
            services.draft_push(draft=draft, by=request.user)
            self.message_user(request, _("Sent to WeChat's draft box."), messages.SUCCESS)
        except DomainError as exc:
            self.message_user(request, exc.user_message, messages.ERROR)
        return redirect(reverse("admin:content_draft_change", args=[pk]))

    def settle_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        draft = services.draft_settle(draft=self._draft(request, pk, "content.change_draft"))
        self.message_user(
            request, _("Checked with WeChat: %(status)s.") % {"status": draft.get_status_display()}
        )
        return redirect(reverse("admin:content_draft_change", args=[pk]))

    def publish_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """A confirmation page, then freepublish/submit."""
        draft = self._draft(request, pk, publishing.PUBLISH_PERMISSION)
        if request.method == "POST":
            try:
                publication = publishing.publish_submit(draft=draft, by=request.user)
            except DomainError as exc:
                self.message_user(request, exc.user_message, messages.ERROR)
                return redirect(reverse("admin:content_draft_change", args=[pk]))
            self.message_user(
                request,
                _("Submitted to WeChat (publish ID %(id)s). WeChat reviews it; its state is followed here.")
                % {"id": publication.publish_id},
                messages.SUCCESS,
            )
            return redirect(reverse("admin:content_publication_change", args=[publication.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Publish “%(title)s”?") % {"title": draft.title},
            "draft": draft,
            "ready": draft.status == DraftStatus.SYNCED and bool(draft.media_id),
        }
        return TemplateResponse(request, "admin/content/draft/publish_confirm.html", context)

    def copy_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        draft = self._draft(request, pk, "content.add_draft")
        form = CopyForm(request.POST or None)
        targets = form.fields["targets"]
        assert isinstance(targets, forms.ModelMultipleChoiceField)
        targets.queryset = accounts_visible_to(request.user).exclude(pk=draft.account_id).order_by("name")
        if request.method == "POST" and form.is_valid():
            result = services.draft_copy(
                draft=draft, targets=list(form.cleaned_data["targets"]), by=request.user
            )
            for copy in result.copied:
                self.message_user(
                    request, _("Copied to %(account)s.") % {"account": copy.account}, messages.SUCCESS
                )
            for account, why in result.failed:
                self.message_user(request, f"{account}: {why}", messages.ERROR)
            return redirect(reverse("admin:content_draft_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Copy “%(title)s” to other accounts") % {"title": draft.title},
            "draft": draft,
            "form": form,
        }
        return TemplateResponse(request, "admin/content/draft/copy.html", context)

    def preview_view(self, request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        """What a reader sees, at a phone's width; ``?version=N`` for a saved version."""
        draft = self._draft(request, pk, "content.view_draft")
        articles = draft.article_list
        number = id_or_none(request.GET.get("version"))
        if number:
            version = get_object_or_404(DraftVersion, draft=draft, number=number)
            articles = [a for a in version.articles if isinstance(a, dict)]
        index = min(max(0, (id_or_none(request.GET.get("article")) or 1) - 1), max(0, len(articles) - 1))
        article = articles[index] if articles else {}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Preview: %(title)s") % {"title": draft.title},
            "draft": draft,
            "articles": articles,
            "index": index + 1,
            "version": number,
            "body": render_article(article, account_name=str(draft.account)),
        }
        return TemplateResponse(request, "admin/content/draft/preview.html", context)

    def body_image_view(self, request: AuthenticatedHttpRequest) -> JsonResponse:
        """An image for an article body (media/uploadimg); answers its WeChat URL."""
        if not request.user.has_perm("content.change_draft"):
            raise PermissionDenied
        account = get_object_or_404(OfficialAccount, pk=id_or_none(request.POST.get("account")) or 0)
        require_account_access(request.user, account)
        upload = request.FILES.get("image")
        if upload is None:
            return JsonResponse({"error": str(_("Choose an image."))}, status=400)
        if (upload.size or 0) > 1024 * 1024:
            return JsonResponse({"error": str(_("An image in the body must be under 1 MB."))}, status=400)
        try:
            url = services.upload_body_image(
                account=account, filename=upload.name or "", data=upload.read(), by=request.user
            )
        except DomainError as exc:
            return JsonResponse({"error": exc.user_message}, status=400)
        return JsonResponse({"url": url})

    def delete_model(self, request, obj):
        services.draft_delete(draft=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for draft in queryset.select_related("account"):
            try:
                services.draft_delete(draft=draft, by=request.user)
            except DomainError as exc:
                self.message_user(request, f"{draft}: {exc.user_message}", messages.ERROR)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as exc:
            self.message_user(request, exc.user_message, messages.ERROR)
            return redirect(reverse("admin:content_draft_change", args=[object_id]))
