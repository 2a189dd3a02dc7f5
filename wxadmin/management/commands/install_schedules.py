from typing import Any

from django.core.management.base import BaseCommand

from wxadmin.schedules import install_schedules


class Command(BaseCommand):
    help = "Install the periodic tasks defined in each app's schedules.py (existing ones are kept)."

    def handle(self, *args: Any, **options: Any) -> None:
        created, kept = install_schedules()
        self.stdout.write(f"periodic tasks: {created} created, {kept} already present")
