"""Reads about accounts shared by the admin, views and tasks of every app.

`accounts_visible_to(user)` is THE scoping rule (superusers: every account; other
active staff: the accounts assigned to them; anyone else: none). Everything a user
may see — rows of other apps, entities, form choices, filters, exports — is derived
from it here, so there is one rule to read and to test.
"""

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
    """Entities owning an account the user may see, or created by them (superusers: all).

    Written as `pk IN (subquery)` so no join multiplies rows and no DISTINCT is needed.
    """
    if user.is_superuser:
        return Entity.objects.all()
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return Entity.objects.none()
    return Entity.objects.filter(Q(pk__in=accounts_visible_to(user).values("entity")) | Q(created_by=user))


def user_can_access_entity(user, entity: Entity) -> bool:
    if user.is_superuser:
        return True
    return entities_visible_to(user).filter(pk=entity.pk).exists()


def scope_to_user(queryset: QuerySet, user, account_path: str) -> QuerySet:
    """Limit any queryset to rows whose account (reached by `account_path`) the user may see.

    `account_path` is the lookup from the model to OfficialAccount, e.g. "account"
    for a menu, "order__account" for a reminder, or "" for OfficialAccount itself.
    Written as `account IN (subquery)`: no join multiplies rows and no DISTINCT is
    needed, so at 100,000 orders a changelist stays an index scan.
    """
    if user.is_superuser:
        return queryset
    lookup = f"{account_path}__in" if account_path else "pk__in"
    return queryset.filter(**{lookup: accounts_visible_to(user).values("pk")})
