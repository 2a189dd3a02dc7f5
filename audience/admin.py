"""The audience pages (issue 24): followers with bulk tag/untag/blacklist, tags with drift,
channel QR codes with their PNG, and the sync runs' progress. Scoped to assigned accounts;
every write goes through ``services`` and a refusal is shown in words."""

from __future__ import annotations

import copy
import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.admin import checkbox as unfold_checkbox
from unfold.paginator import InfinitePaginator

from accounts.admin_extensions import follower_links_for
from accounts.models import OfficialAccount
from accounts.scoping import AccountScopedAdminMixin, require_account_access
from accounts.selectors import accounts_visible_to
from core.admin_mixins import ReadOnlyAdminMixin
from core.queueing import QUEUE_DOWN_MESSAGE, enqueue_on_commit
from wechat.errors import WeChatError

from . import bulk, services
from .models import BulkTagJob, Follower, FollowerTag, QrCode, SyncRun, Tag
from .tasks import run_bulk_tag_job

#: WeChat OpenIDs: 28 characters of this alphabet (shorter ones in the sandbox)
OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{6,64}\Z")


#: the row checkbox of the follower list, rendered once (``FollowerAdmin.action_checkbox``)
_checkbox_html: dict[str, str] = {}
_PK_SLOT = "__wxadmin_pk__"


class VisibleAccountFilter(admin.RelatedFieldListFilter):
    """Choices: only the accounts the user may see."""

    def field_choices(self, field, request, model_admin):
        return [(a.pk, str(a)) for a in accounts_visible_to(request.user)]


class VisibleQrCodeFilter(admin.RelatedFieldListFilter):
    """Choices: only the codes of the accounts the user may see."""

    def field_choices(self, field, request, model_admin):
        return [(c.pk, str(c)) for c in QrCode.objects.filter(account__in=accounts_visible_to(request.user))]


class TagActionForm(ActionForm):
    tag = forms.ModelChoiceField(Tag.objects.none(), required=False, label=_("Tag"))


class RemarkForm(forms.Form):
    remark = forms.CharField(
        label=_("Remark"),
        required=False,
        max_length=30,
        help_text=_("At most 30 bytes (a Chinese character is 3); empty clears it."),
    )


#: WeChat's ``subscribe_scene`` values (user/info, 用户管理 / 获取用户基本信息): fixed choices,
#: so the filter never runs a DISTINCT over a million followers
SUBSCRIBE_SCENES = (
    ("ADD_SCENE_SEARCH", _("search")),
    ("ADD_SCENE_ACCOUNT_MIGRATION", _("account migration")),
    ("ADD_SCENE_PROFILE_CARD", _("profile card shared")),
    ("ADD_SCENE_QR_CODE", _("QR code")),
    ("ADD_SCENE_PROFILE_LINK", _("name in an article")),
    ("ADD_SCENE_PROFILE_ITEM", _("article menu")),
    ("ADD_SCENE_PAID", _("after paying")),
    ("ADD_SCENE_WECHAT_ADVERTISEMENT", _("WeChat ad")),
    ("ADD_SCENE_REPRINT", _("reprinted by others")),
    ("ADD_SCENE_LIVESTREAM", _("Channels live")),
    ("ADD_SCENE_CHANNELS", _("Channels")),
    ("ADD_SCENE_OTHERS", _("other")),
)


class SubscribeSceneFilter(admin.SimpleListFilter):
    title = _("subscribe scene")
    parameter_name = "subscribe_scene"

    def lookups(self, request, model_admin):
        return SUBSCRIBE_SCENES

    def queryset(self, request, queryset):
        return queryset.filter(subscribe_scene=self.value()) if self.value() else queryset


class TagFilter(admin.SimpleListFilter):
    title = _("tag")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        tags = Tag.objects.filter(account__in=accounts_visible_to(request.user)).select_related("account")
        return [(str(t.pk), f"{t.name} · {t.account}") for t in tags]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            tag = Tag.objects.filter(pk=int(value), account__in=accounts_visible_to(request.user)).first()
            if tag is not None:
                # EXISTS, not a join: the list walks its index in order and probes
                # (follower, tag) per row until a page is full, instead of joining and sorting
                # every holder of the tag
                held = FollowerTag.objects.filter(follower=OuterRef("pk"), tag_id=tag.wechat_id)
                return queryset.filter(Exists(held), account_id=tag.account_id)
            return queryset.none()  # a tag the user may not see (or gone): nothing, not everything
        return queryset


@admin.register(Follower)
class FollowerAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    list_display = (
        "openid",
        "remark",
        "account",
        "subscribed",
        "subscribe_time",
        "subscribe_scene",
        "qr_code",
        "blacklisted",
        "remark_link",
    )
    list_filter = (
        ("account", VisibleAccountFilter),
        "subscribed",
        "blacklisted",
        SubscribeSceneFilter,
        TagFilter,
        ("qr_code", VisibleQrCodeFilter),
        "subscribe_time",
    )
    search_fields = ("=openid", "remark")
    ordering = ("-subscribe_time", "-id")
    list_select_related = ("account", "qr_code")
    # Pages are not counted (a COUNT(*) over a million followers per page view): previous /
    # next only, as the message log (unfold's InfinitePaginator).
    paginator = InfinitePaginator
    show_full_result_count = False
    search_help_text = _("An exact OpenID, or part of a remark.")
    list_before_template = "admin/audience/follower/list_before.html"
    action_form = TagActionForm
    actions = ("tag_selected", "untag_selected", "blacklist_selected", "unblacklist_selected")

    def get_search_results(self, request, queryset, search_term):
        """An OpenID-shaped term is matched exactly (the (account, openid) unique index); any
        term is also looked for in remarks, among the followers that have one (the partial
        index ``audience_follower_remarked``): never a LIKE over every follower."""
        term = search_term.strip()
        if not term:
            return queryset, False
        in_remarks = Q(remark__icontains=term) & ~Q(remark="")
        if OPENID_RE.match(term):
            return queryset.filter(Q(openid=term) | in_remarks), False
        return queryset.filter(in_remarks), False

    def changelist_view(self, request, extra_context=None):
        """The action form's tag choices: only the tags of the user's accounts."""
        response = super().changelist_view(request, extra_context)
        form = getattr(response, "context_data", {}).get("action_form")
        if form is not None:
            form.fields["tag"].queryset = Tag.objects.filter(account__in=accounts_visible_to(request.user))
        return response

    def _bulk(self, request, queryset, run) -> None:
        if not request.user.has_perm("audience.change_follower"):
            raise PermissionDenied
        by_account: dict[int, list[str]] = {}
        for account_id, openid in queryset.values_list("account_id", "openid"):
            by_account.setdefault(account_id, []).append(openid)
        for account_id, openids in by_account.items():
            try:
                done = run(account_id, openids)
            except services.AudienceError as error:
                self.message_user(request, error.user_message, messages.ERROR)
            else:
                self.message_user(request, _("%(n)d followers done.") % {"n": done}, messages.SUCCESS)

    def _tag(self, request, queryset, *, untag: bool) -> None:
        tag = Tag.objects.filter(
            pk=request.POST.get("tag") or 0, account__in=accounts_visible_to(request.user)
        ).first()
        if tag is None:
            self.message_user(request, _("Choose a tag first."), messages.ERROR)
            return

        def run(account_id, openids):
            if account_id != tag.account_id:
                raise services.AudienceError(_("The tag belongs to another account."))
            return services.tag_followers(tag=tag, openids=openids, by=request.user, untag=untag)

        self._bulk(request, queryset, run)

    @admin.action(description=_("Tag the selected followers"), permissions=["view"])
    def tag_selected(self, request, queryset):
        self._tag(request, queryset, untag=False)

    @admin.action(description=_("Untag the selected followers"), permissions=["view"])
    def untag_selected(self, request, queryset):
        self._tag(request, queryset, untag=True)

    def action_checkbox(self, obj):
        """unfold's row checkbox, its widget template rendered once per language and the pk
        put in: rendering the template per row was about a quarter of the list's CPU on a
        page of 100 (bench/audience_sync.py, issue 24)."""
        language = get_language()
        html = _checkbox_html.get(language)
        if html is None:
            html = _checkbox_html[language] = unfold_checkbox.render(helpers.ACTION_CHECKBOX_NAME, _PK_SLOT)
        return mark_safe(html.replace(_PK_SLOT, escape(str(obj.pk))))  # noqa: S308 - the pk is escaped

    action_checkbox.short_description = ModelAdmin.action_checkbox.short_description  # type: ignore[attr-defined]

    @admin.display(description=_("set remark"))
    def remark_link(self, obj):
        return format_html('<a href="{}/remark/">{}</a>', obj.pk, _("Set remark"))

    def get_list_display(self, request):
        """The links other apps offer on a follower (accounts.admin_extensions), e.g. "send a
        template message", for this user: a column only when there is one to show."""

        links = follower_links_for(request)
        base = super().get_list_display(request)
        if not links:
            return base

        @admin.display(description=_("more"))
        def follower_actions(obj):
            return format_html_join(
                " · ",
                '<a href="{}">{}</a>',
                ((link.url(obj.account_id, obj.openid), str(link.label)) for link in links),
            )

        return (*base, follower_actions)

    def get_urls(self):
        return [
            path("bulk/", self.admin_site.admin_view(self.bulk_view), name="audience_follower_bulk"),
            path(
                "quota/<int:account_pk>/", self.admin_site.admin_view(self.quota_view), name="audience_quota"
            ),
            path(
                "<int:pk>/remark/",
                self.admin_site.admin_view(self.remark_view),
                name="audience_follower_remark",
            ),
            *super().get_urls(),
        ]

    def remark_view(self, request, pk: int):
        """user/info/updateremark through ``services.set_remark``; a refusal is shown on the form."""
        follower = get_object_or_404(Follower.objects.select_related("account"), pk=pk)
        require_account_access(request.user, follower.account)
        if not request.user.has_perm("audience.change_follower"):
            raise PermissionDenied
        back = request.POST.get("next") or request.GET.get("next") or ""
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = reverse("admin:audience_follower_changelist")
        form = RemarkForm(request.POST or None, initial={"remark": follower.remark})
        error = None
        if request.method == "POST" and form.is_valid():
            try:
                services.set_remark(follower=follower, remark=form.cleaned_data["remark"], by=request.user)
            except services.WriteUnsettled as unsettled:  # recorded; sent or checked automatically
                self.message_user(request, unsettled.user_message, messages.WARNING)
                return redirect("admin:audience_follower_changelist")
            except services.AudienceError as refusal:
                error = refusal.user_message
            else:
                self.message_user(request, _("Remark saved."), messages.SUCCESS)
                return redirect(back)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Set remark"),
            "follower": follower,
            "form": form,
            "error": error,
            "back_url": back,
        }
        return TemplateResponse(request, "admin/audience/follower/remark.html", context)

    def quota_view(self, request, account_pk: int):
        """GET: a button; POST: read the audience's API quota from WeChat (openapi/quota/get,
        one call per API, itself counted by WeChat), then back to the account hub."""
        account = get_object_or_404(OfficialAccount, pk=account_pk)
        require_account_access(request.user, account)
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            found = services.read_quotas(account)
            if isinstance(found, str):
                self.message_user(request, found, messages.WARNING)
            return redirect("admin:accounts_officialaccount_hub", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Read the API quota from WeChat"),
            "account": account,
            "back_url": reverse("admin:accounts_officialaccount_hub", args=[account.pk]),
        }
        return TemplateResponse(request, "admin/audience/quota.html", context)

    def bulk_view(self, request):
        """Tag or untag ALL followers matching the list's filter (issue 24): choose the tag,
        see how many match, confirm; a job does it in chunks with progress (``bulk``)."""
        if not request.user.has_perm("audience.change_follower"):
            raise PermissionDenied
        source = request.POST if request.method == "POST" else request.GET
        filters = QueryDict(source.get("filters", ""), mutable=True)
        for name in ("p", "o", "_changelist_filters"):
            filters.pop(name, None)
        tag = Tag.objects.filter(
            pk=source.get("bulk_tag") or 0, account__in=accounts_visible_to(request.user)
        ).first()
        untag = source.get("bulk_mode") == "untag"
        list_request = copy.copy(request)
        list_request.GET = filters
        list_request.method = "GET"
        try:
            queryset = self.get_changelist_instance(list_request).get_queryset(list_request)
        except IncorrectLookupParameters:
            raise PermissionDenied from None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Tag or untag all followers matching the filter"),
            "filters": filters.urlencode(),
            "filter_words": _filter_words(filters),
            "tags": Tag.objects.filter(account__in=accounts_visible_to(request.user)).select_related(
                "account"
            ),
            "tag": tag,
            "untag": untag,
            "back_url": reverse("admin:audience_follower_changelist") + "?" + filters.urlencode(),
            "error": None,
        }
        if tag is not None:
            context["count"] = bulk.count_matching(queryset, tag)
        if request.method == "POST" and request.POST.get("confirm") == "yes" and tag is not None:
            try:
                job = bulk.start_job(
                    queryset=queryset,
                    tag=tag,
                    untag=untag,
                    by=request.user,
                    filter_text=context["filter_words"],
                )
            except services.AudienceError as refusal:
                context["error"] = refusal.user_message
            else:
                if enqueue_on_commit(run_bulk_tag_job, job.pk).failed:
                    bulk.queue_failed(job)
                self.message_user(
                    request,
                    _("%(n)d followers will be done by a background job; its progress is shown here.")
                    % {"n": job.total},
                    messages.SUCCESS,
                )
                return redirect("admin:audience_bulktagjob_change", job.pk)
        return TemplateResponse(request, "admin/audience/follower/bulk.html", context)

    @admin.action(description=_("Blacklist the selected followers"), permissions=["view"])
    def blacklist_selected(self, request, queryset):
        """Asks first (a page listing who); the second POST, with ``confirm=yes``, blacklists."""
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Blacklist the selected followers"),
                "followers": list(queryset.select_related("account")),
            }
            return TemplateResponse(request, "admin/audience/follower/confirm_blacklist.html", context)
        self._bulk(
            request,
            queryset,
            lambda a, o: services.blacklist_followers(
                account=OfficialAccount.objects.get(pk=a),
                openids=o,
                by=request.user,
            ),
        )
        return None

    @admin.action(description=_("Remove the selected followers from the blacklist"), permissions=["view"])
    def unblacklist_selected(self, request, queryset):
        self._bulk(
            request,
            queryset,
            lambda a, o: services.blacklist_followers(
                account=OfficialAccount.objects.get(pk=a),
                openids=o,
                by=request.user,
                remove=True,
            ),
        )


def _filter_words(filters: QueryDict) -> str:
    """The filter as staff set it, for the confirmation page and the job's record."""
    words = [f"{key}={value}" for key, value in filters.items() if value]
    return " · ".join(words) or str(_("no filter (every follower of the tag's account)"))


@admin.register(BulkTagJob)
class BulkTagJobAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    """The jobs' progress and summary; a stopped job can be resumed from its cursor."""

    list_display = (
        "tag",
        "account",
        "untag",
        "status",
        "progress_bar",
        "processed",
        "total",
        "changed",
        "skipped",
        "created_by",
        "created_at",
        "finished_at",
    )
    list_filter = (("account", VisibleAccountFilter), "status")
    search_fields = ("tag__name", "filter_text")
    readonly_fields = (
        "account",
        "tag",
        "untag",
        "filter_text",
        "status",
        "progress_bar",
        "total",
        "processed",
        "changed",
        "skipped",
        "last_error",
        "created_by",
        "created_at",
        "heartbeat_at",
        "finished_at",
    )
    exclude = ("cursor",)
    actions = ("resume_jobs",)

    @admin.display(description=_("progress"))
    def progress_bar(self, obj):
        return format_html("<progress max=100 value={}></progress> {}%", obj.progress, obj.progress)

    @admin.action(description=_("Resume the selected stopped jobs"), permissions=["view"])
    def resume_jobs(self, request, queryset):
        if not request.user.has_perm("audience.change_follower"):
            raise PermissionDenied
        resumed = [job for job in queryset.filter(status=BulkTagJob.Status.PAUSED) if bulk.resume(job)]
        for job in resumed:
            if enqueue_on_commit(run_bulk_tag_job, job.pk).failed:
                bulk.queue_failed(job)
        self.message_user(request, _("%(n)d jobs resumed.") % {"n": len(resumed)}, messages.SUCCESS)


@admin.register(Tag)
class TagAdmin(AccountScopedAdminMixin, ModelAdmin):
    list_display = ("name", "account", "wechat_id", "wechat_count", "local_count", "drift")
    list_filter = (("account", VisibleAccountFilter),)
    search_fields = ("name",)
    fields = ("account", "name")

    @admin.display(description=_("drift"))
    def drift(self, obj):
        return format_html('<span title="{}">⚠</span>', _("WeChat and here disagree")) if obj.drifted else "—"

    def get_readonly_fields(self, request, obj=None):
        return ("account",) if obj else ()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """Without the admin's request-wide transaction: a WeChat write commits its intent
        before the call (``audience.operations``), so a process that dies mid-call leaves a
        record the sweeper settles, not a rolled-back nothing."""
        return self._changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        request._audience_refused = False
        try:
            if change:
                services.rename_tag(tag=Tag.objects.get(pk=obj.pk), name=obj.name, by=request.user)
            else:
                saved = services.create_tag(account=obj.account, name=obj.name, by=request.user)
                obj.pk, obj.wechat_id = saved.pk, saved.wechat_id
        except services.AudienceError as error:
            request._audience_refused = True
            self.message_user(request, error.user_message, messages.ERROR)

    def log_addition(self, request, obj, message):
        if not getattr(request, "_audience_refused", False):
            return super().log_addition(request, obj, message)
        return None

    def log_change(self, request, obj, message):
        if not getattr(request, "_audience_refused", False):
            return super().log_change(request, obj, message)
        return None

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "_audience_refused", False):
            return redirect("admin:audience_tag_changelist")
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "_audience_refused", False):
            return redirect("admin:audience_tag_changelist")
        return super().response_change(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        """Without the request-wide transaction, as ``changeform_view``."""
        return self._delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj):
        try:
            services.delete_tag(tag=obj, by=request.user)
        except services.AudienceError as error:
            self.message_user(request, error.user_message, messages.ERROR)

    def delete_queryset(self, request, queryset):
        for tag in queryset:
            self.delete_model(request, tag)


class QrCodeForm(forms.ModelForm):
    expire_days = forms.IntegerField(
        label=_("days (temporary codes, 1–30)"), required=False, min_value=1, max_value=30
    )

    class Meta:
        model = QrCode
        fields = ("account", "kind", "scene", "name", "tag")


@admin.register(QrCode)
class QrCodeAdmin(AccountScopedAdminMixin, ModelAdmin):
    form = QrCodeForm
    list_display = ("name", "account", "kind", "scene", "expires_at", "tag", "follower_count", "image")
    list_filter = (("account", VisibleAccountFilter), "kind")
    search_fields = ("name", "scene")

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(brought=Count("followers"))

    @admin.display(description=_("followers brought"))
    def follower_count(self, obj):
        return format_html('<a href="../follower/?qr_code__id__exact={}">{}</a>', obj.pk, obj.brought)

    @admin.display(description=_("image"))
    def image(self, obj):
        return format_html('<a href="{}/png/">{}</a>', obj.pk, _("Download PNG"))

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        try:
            saved = services.create_qr_code(
                account=obj.account,
                kind=obj.kind,
                scene=obj.scene,
                name=obj.name,
                tag=obj.tag,
                expire_days=form.cleaned_data.get("expire_days"),
                by=request.user,
            )
            obj.pk = saved.pk
        except services.AudienceError as error:
            self.message_user(request, error.user_message, messages.ERROR)

    def get_urls(self):
        return [
            path("<int:pk>/png/", self.admin_site.admin_view(self.png_view), name="audience_qrcode_png"),
            *super().get_urls(),
        ]

    def png_view(self, request, pk: int):
        code = get_object_or_404(QrCode, pk=pk)
        require_account_access(request.user, code.account)
        try:
            data = services.qr_png(code)
        except services.AudienceError as error:
            return HttpResponse(error.user_message, status=410, content_type="text/plain; charset=utf-8")
        response = HttpResponse(data, content_type="image/png")
        response["Content-Disposition"] = f'attachment; filename="qrcode-{code.pk}.png"'
        return response


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdminMixin, AccountScopedAdminMixin, ModelAdmin):
    list_display = (
        "account",
        "status",
        "progress_bar",
        "seen",
        "total",
        "added",
        "updated",
        "unsubscribed",
        "errors",
        "started_at",
        "finished_at",
    )
    list_filter = (("account", VisibleAccountFilter), "status")

    @admin.display(description=_("progress"))
    def progress_bar(self, obj):
        return format_html("<progress max=100 value={}></progress> {}%", obj.progress, obj.progress)


@admin.action(description=_("Sync the followers of the selected accounts"), permissions=["view"])
def sync_followers_of_accounts(modeladmin, request, queryset):
    """Queue a full sync (or resume the open one) per account, after the commit, through
    ``core.queueing`` (issue 23, point 4): the run row is written first; with the queue down
    staff read so in words, and the nightly reconcile (or the next click) resumes the run."""
    from .tasks import sync_followers

    accounts = list(accounts_visible_to(request.user).filter(pk__in=queryset.values("pk")))
    tickets = []
    for account in accounts:
        services.start_sync(account=account)
        tickets.append(enqueue_on_commit(sync_followers, account.pk))

    def tell() -> None:  # after the commit, once each ticket knows whether it reached the broker
        if any(ticket.failed for ticket in tickets):
            modeladmin.message_user(request, str(QUEUE_DOWN_MESSAGE), messages.ERROR)
        else:
            modeladmin.message_user(
                request,
                _("%(n)d follower syncs queued; progress under Follower syncs.") % {"n": len(accounts)},
            )

    transaction.on_commit(tell)


@admin.action(description=_("Sync the tags of the selected accounts"), permissions=["view"])
def sync_tags_of_accounts(modeladmin, request, queryset):
    """tags/get for each account now (one call each): names, ids and counts with drift."""
    accounts = list(accounts_visible_to(request.user).filter(pk__in=queryset.values("pk")))
    for account in accounts:
        try:
            services.sync_tags(account=account)
        except services.AudienceError as error:
            modeladmin.message_user(request, f"{account}: {error.user_message}", messages.ERROR)
        except WeChatError as error:
            modeladmin.message_user(request, f"{account}: {services.refusal_words(error)}", messages.ERROR)
    modeladmin.message_user(request, _("Tags synced for %(n)d accounts.") % {"n": len(accounts)})
