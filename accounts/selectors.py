"""Reads about accounts shared by the admin, views and tasks of every app."""
from django.db.models import Q, QuerySet

from .models import Entity, OfficialAccount


def accounts_visible_to(user) -> QuerySet[OfficialAccount]:
    """The accounts a staff member may see and act on (superusers: all)."""
    return OfficialAccount.objects.visible_to(user)


def user_can_access_account(user, account: OfficialAccount) -> bool:
    if user.is_superuser:
        return True
    return accounts_visible_to(user).filter(pk=account.pk).exists()


def entities_visible_to(user) -> QuerySet[Entity]:
    """Entities owning an account assigned to the user, or created by them."""
    if user.is_superuser:
        return Entity.objects.all()
    return Entity.objects.filter(Q(accounts__assigned_staff=user) | Q(created_by=user)).distinct()


def scope_to_user(queryset: QuerySet, user, account_path: str) -> QuerySet:
    """Limit any queryset to rows whose account (reached by `account_path`) the user may see.

    `account_path` is the lookup from the model to OfficialAccount, e.g. "account"
    for a menu, or "" for OfficialAccount itself.
    """
    if user.is_superuser:
        return queryset
    lookup = f"{account_path}__assigned_staff" if account_path else "assigned_staff"
    return queryset.filter(**{lookup: user}).distinct()
