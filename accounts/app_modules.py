"""Each installed app's module of a given name: how apps contribute dashboard panels,
account-hub sections and schedules without the collecting app importing them."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import import_module
from types import ModuleType

from django.apps import apps


def app_modules(name: str) -> Iterator[ModuleType]:
    """`<app>.<name>` for every installed app that has one, in INSTALLED_APPS order."""
    for config in apps.get_app_configs():
        try:
            yield import_module(f"{config.name}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.{name}":
                raise
