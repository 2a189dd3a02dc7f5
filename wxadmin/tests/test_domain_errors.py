"""One base for the apps' business errors; what callers caught before still catches them."""

import pytest
from django.core.exceptions import ValidationError

from certification.services.errors import CertificationError
from core.domain_errors import DomainError
from menus.services import MenuError, MenuInvalid, PublishNotQueued, TemporaryPublishError
from messaging.conversations.services import ConversationError
from messaging.kf.services import KfError
from messaging.search import SearchError
from messaging.simulation import SimulationError, SimulationUnavailable

BASES = [
    (MenuError, Exception),
    (TemporaryPublishError, Exception),
    (CertificationError, ValidationError),
    (KfError, ValidationError),
    (ConversationError, ValidationError),
    (SimulationError, Exception),
    (SearchError, ValueError),
]


@pytest.mark.parametrize(("error", "caught_before_as"), BASES)
def test_every_error_base_is_a_domain_error_and_still_what_callers_catch(error, caught_before_as):
    assert issubclass(error, DomainError)
    assert issubclass(error, caught_before_as)


def test_subclasses_follow():
    for error in (MenuInvalid, PublishNotQueued, SimulationUnavailable):
        assert issubclass(error, DomainError)


def test_user_message_of_a_plain_error_is_its_text():
    assert MenuError("Select at least one account.").user_message == "Select at least one account."
    assert SimulationError("no sandbox", status=409).user_message == "no sandbox"
    assert SearchError("type more").user_message == "type more"


def test_user_message_of_a_validation_error_joins_every_message_field_or_not():
    assert KfError("Only failed operations can be retried.").user_message == (
        "Only failed operations can be retried."
    )
    error = ConversationError({"text": ["Too long."], "__all__": ["Window closed."]})
    assert error.message_dict == {"text": ["Too long."], "__all__": ["Window closed."]}
    assert error.user_message == "Too long. Window closed."


def test_a_validation_error_subclass_keeps_its_constructor_code_and_params():
    error = CertificationError("%(n)s days left", code="deadline", params={"n": 3})
    assert error.code == "deadline"
    assert error.messages == ["3 days left"]
    assert error.user_message == "3 days left"
