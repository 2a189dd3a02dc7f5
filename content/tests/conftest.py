"""Fixtures of the content app's tests; the mass-send ones live in mass_fixtures.py."""

from content.tests.mass_fixtures import account, approver, draft, operator, wx  # noqa: F401
