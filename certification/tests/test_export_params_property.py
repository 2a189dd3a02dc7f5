"""Property-based (Hypothesis): the order list and its export answer any query string without a
5xx (issue 9: an unknown parameter on the export page was a 500), and export nothing foreign."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import UserFactory
from certification.tests.factories import make_account, make_order

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "status__exact",
            "kind__exact",
            "deadline",
            "q",
            "o",
            "p",
            "account__id__exact",
            "review_company__id__exact",
            "e",
            "fee__gte",
            "created_at__gte",
            "_changelist_filters",
            "account__entity__full_name__icontains",
        ]
    ),
    st.text(min_size=1, max_size=20),
)
QUERY = st.dictionaries(KEYS, st.text(max_size=16), max_size=3)


@pytest.fixture
def finance(client):
    user = UserFactory(groups=["Finance"])
    mine = make_order(account=make_account(staff=[user], name="我的服务号"), by=user)
    theirs = make_order(account=make_account(name="别人的服务号"))
    client.force_login(user)
    return {"user": user, "mine": mine, "theirs": theirs}


@pytest.mark.django_db
@PROPERTY
@given(query=QUERY)
def test_order_export_and_list_answer_any_query_string(client, finance, query):
    qs = urlencode(query)
    for name in ("admin:certification_order_export", "admin:certification_order_changelist"):
        response = client.get(f"{reverse(name)}?{qs}")
        assert response.status_code < 500, (name, query)
    response = client.post(
        f"{reverse('admin:certification_order_export')}?{qs}", {"format": "0", "resource": "0"}
    )
    assert response.status_code < 500
    if response.status_code == 200 and response.get("Content-Disposition"):
        assert "别人的服务号" not in response.content.decode("utf-8", "replace")
