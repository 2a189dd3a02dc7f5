import datetime

import pytest

from accounts.tests.factories import OfficialAccountFactory, UserFactory


@pytest.fixture
def operator(db):
    return UserFactory(groups=["Operators"])


@pytest.fixture
def certified_account(operator):
    return OfficialAccountFactory(assigned_staff=[operator],
                                  certified_until=datetime.date(2099, 1, 1))


@pytest.fixture
def uncertified_account(operator):
    return OfficialAccountFactory(assigned_staff=[operator])
