"""Create the superuser `admin` for `make run` if it does not exist yet.

The password is ADMIN_PASSWORD when set, otherwise freshly generated and printed
once. An existing `admin` keeps its password unless ADMIN_PASSWORD is given.
"""

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the `admin` superuser (printing a generated password) if missing."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        wanted = os.environ.get("ADMIN_PASSWORD")
        user = User.objects.filter(username="admin").first()
        if user is not None and not wanted:
            self.stdout.write("superuser “admin” exists (set ADMIN_PASSWORD to reset its password)")
            return
        password = wanted or secrets.token_urlsafe(12)
        if user is None:
            user = User.objects.create_superuser("admin", "admin@localhost", password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS(f"log in as: admin / {password}"))
