"""The review companies (R-CERT-15): reference data."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import display

from accounts.installation import ReferenceAdminMixin
from certification.models import ReviewCompany


@admin.register(ReviewCompany)
class ReviewCompanyAdmin(ReferenceAdminMixin, ModelAdmin):  # type: ignore[misc]  # unfold ships no types
    """R-CERT-15: reference data, seeded by a migration; shared by every tenant, so only
    installation operators change it (issue 22 §2, accounts/installation.py)."""

    list_display = ["name", "hotline", "opens_at", "closes_at", "open_now"]
    search_fields = ["name", "hotline"]

    @display(description=gettext_lazy("open now"), boolean=True)  # type: ignore[untyped-decorator]  # unfold ships no types
    def open_now(self, company: ReviewCompany) -> bool:
        return company.is_open()
