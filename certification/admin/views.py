"""The order admin's own pages: one per transition, the sandbox's simulated WeChat
event, and the one-click annual review (R-POST-02/03). Their URL names are
`admin:certification_order_transition`, `…_simulate_event` and `…_start_annual`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import OfficialAccount
from accounts.scoping import require_account_access
from certification import deadlines
from certification.forms import SimulateWeChatEventForm, add_errors, initial_for
from certification.models import OrderKind
from certification.services.creation import annual_review_is_early, order_create
from certification.services.errors import CertificationError
from core.admin_mixins import AdminBase

from .transition_forms import TRANSITIONS, allowed_transitions

if TYPE_CHECKING:
    from core.typing import AuthenticatedHttpRequest  # behind admin_view: never anonymous


class OrderPagesMixin(AdminBase):
    """The custom pages of `OrderAdmin` (mixed into it, before `ModelAdmin`)."""

    # --- custom pages: transitions and the one-click annual review ---------------------------
    def get_urls(self) -> list[URLPattern]:
        urls = [
            path(
                "<path:object_id>/transition/<str:name>/",
                self.admin_site.admin_view(self.transition_view),
                name="certification_order_transition",
            ),
            path(
                "<path:object_id>/simulate-wechat-event/",
                self.admin_site.admin_view(self.simulate_event_view),
                name="certification_order_simulate_event",
            ),
            path(
                "start-annual-review/<int:account_id>/",
                self.admin_site.admin_view(self.start_annual_view),
                name="certification_order_start_annual",
            ),
        ]
        return urls + super().get_urls()

    def transition_view(self, request: AuthenticatedHttpRequest, object_id: str, name: str) -> HttpResponse:
        """One transition: GET shows its form (or confirmation), POST calls its service."""
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        transition = TRANSITIONS.get(name)
        if transition is None:
            raise Http404
        if not transition.may(request.user):
            raise PermissionDenied
        change_url = reverse("admin:certification_order_change", args=[order.pk])
        if transition not in allowed_transitions(order):
            self.message_user(
                request,
                _("“%(action)s” is not possible in this state.") % {"action": transition.label},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        form_class = transition.page_form
        if request.method == "POST":
            form = form_class(request.POST, request.FILES)
            if form.is_valid():
                try:
                    with transaction.atomic():
                        transition.run(order=order, by=request.user, data=form.cleaned_data)
                except CertificationError as exc:
                    add_errors(form, exc)
                else:
                    self.log_change(request, order, str(transition.label))
                    self.message_user(
                        request, _("Done: %(action)s.") % {"action": transition.label}, messages.SUCCESS
                    )
                    return HttpResponseRedirect(change_url)
        else:
            form = form_class(initial=initial_for(name, order))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": transition.label,
            "order": order,
            "transition": transition,
            "form": form,
            "change_url": change_url,
            "tencent_cs_phone": "0755-83763333",
            # R-POST-02: what a success will set, shown before it is confirmed.
            "certified_until": deadlines.certification_valid_until(timezone.localdate())
            if name == "succeed" and order.kind != OrderKind.MODIFICATION
            else None,
        }
        return TemplateResponse(request, "admin/certification/order/transition.html", context)

    def simulate_event_view(self, request: AuthenticatedHttpRequest, object_id: str) -> HttpResponse:
        """Offline only: ask the sandbox to push one of WeChat's certification events to
        this order's account, so staff see what the real push would do."""
        from messaging.simulation import SimulationError, sandbox_base, simulate_via_sandbox

        order = self.get_object(request, object_id)
        if order is None:
            raise Http404
        if not self.has_change_permission(request, order):
            raise PermissionDenied
        change_url = reverse("admin:certification_order_change", args=[order.pk])
        if sandbox_base() is None:
            self.message_user(request, _("Simulated WeChat events need the WeChat sandbox."), messages.ERROR)
            return HttpResponseRedirect(change_url)
        form = SimulateWeChatEventForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                simulate_via_sandbox(account=order.account, payload=form.payload())
            except SimulationError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(
                    request,
                    _("The sandbox pushed “%(event)s” as WeChat would.") % {"event": form.event_label()},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Simulate a WeChat certification event"),
            "order": order,
            "transition": {"label": _("Simulate a WeChat certification event"), "name": "simulate"},
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/certification/order/transition.html", context)

    def start_annual_view(self, request: AuthenticatedHttpRequest, account_id: int) -> HttpResponse:
        """R-POST-02/03: from a reminder, one click opens the pre-filled annual review."""
        account = get_object_or_404(OfficialAccount.objects.select_related("entity"), pk=account_id)
        require_account_access(request.user, account)
        if not self.has_add_permission(request):
            raise PermissionDenied
        error = None
        today = timezone.localdate()
        early = annual_review_is_early(account=account, today=today)
        if request.method == "POST":
            try:
                order = order_create(
                    account=account,
                    kind=OrderKind.ANNUAL_REVIEW,
                    by=request.user,
                    early_ok=request.POST.get("confirm_early") == "1",
                )
            except CertificationError as exc:
                error = exc.user_message
            else:
                self.log_addition(request, order, str(_("Annual review started")))
                self.message_user(
                    request,
                    _("Annual review order #%(id)s created and pre-filled.") % {"id": order.pk},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:certification_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Start the annual review"),
            "account": account,
            "error": error,
            # R-POST-02: more than 3 months before expiry it is early — warn, ask to confirm.
            "early": early,
            "remind_on": deadlines.annual_review_reminder_on(account.certified_until)
            if account.certified_until
            else None,
            "days_left": (account.certified_until - today).days if account.certified_until else None,
        }
        return TemplateResponse(request, "admin/certification/order/start_annual.html", context)
