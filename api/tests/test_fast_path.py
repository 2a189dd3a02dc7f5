"""The API's short way through the middleware stack (issue 27, api/middleware.py): JSON answers
without the admin's layers, the docs page with them, a NUL refused in JSON, and the audit row
pushed once the answer is sent."""

import pytest
from django.test import RequestFactory

from api import audit
from api.middleware import ApiFastPath


@pytest.mark.django_db(transaction=True)
def test_api_answers_skip_the_admin_middleware_and_the_docs_page_keeps_it(account, call, client):
    answer = call(f"/accounts/{account.appid}/access-token")
    assert answer.status_code == 200
    assert "Content-Security-Policy" not in answer.headers
    assert "X-Frame-Options" not in answer.headers
    assert "Cookie" not in answer.headers.get("Vary", "")
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert "Content-Security-Policy" in docs.headers
    assert "X-Frame-Options" in docs.headers


@pytest.mark.django_db(transaction=True)
def test_a_nul_in_an_api_address_is_a_json_400(account, call):
    answer = call(f"/accounts/{account.appid}/access-token?force=%00")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"
    assert "NUL" in answer.json()["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_the_audit_row_is_pushed_once_the_answer_is_sent(account, client_key):
    """The caller does not wait for the audit's Redis round trip: the WSGI server closes the
    response after writing it, and the row is queued then (nothing lost: it is queued before
    the worker takes the next request)."""
    request = RequestFactory().get(
        f"/api/v1/accounts/{account.appid}/access-token", HTTP_AUTHORIZATION=f"Bearer {client_key[1]}"
    )
    fast_path = ApiFastPath(lambda _request: pytest.fail("the API went down the middleware stack"))
    before = audit.queued()
    response = fast_path(request)
    assert response.status_code == 200
    assert audit.queued() == before
    response.close()
    assert audit.queued() == before + 1
    assert audit.flush() == before + 1
