"""The content app's admin pages, one module per sub-domain (Django imports this package)."""

from . import mass  # noqa: F401
