"""Fixtures shared by the accounts tests: one staff member of each role that has one."""

import pytest

from accounts.tests.factories import UserFactory


@pytest.fixture
def operator():
    return UserFactory(groups=["Operators"])


@pytest.fixture
def finance():
    return UserFactory(groups=["Finance"])
