"""POST /api/v1/accounts/{appid}/template-messages and its status read (issue 27 over issue 26's
`template_send`), with `Idempotency-Key`: against the sandbox over HTTP, real PostgreSQL and
Redis."""

import datetime
import json
import threading

import pytest
import requests
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.wechat_api import client_for
from api import idempotency, services
from api.models import ApiCall, ApiSend, IdempotencyRecord
from notifications import services as notifications
from notifications.models import Delivery, DeliveryStatus, Send, Template
from wechat.api import templates as wx

OPENIDS = [f"oApiUser{n:021d}" for n in range(1, 6)]
COLOURED = {"value": "杯子", "color": "#ff0000"}
GOOD = {"character_string1": "SN-2024-001", "thing2": "蓝色保温杯", "time3": "2024年5月1日 15:01"}


@pytest.fixture
def template(account, sandbox):
    wx.add_template(client_for(account), "OPENTM200000001")
    notifications.templates_sync(account=account, by=None)
    return Template.objects.get(account=account)


@pytest.fixture
def sender(client_key):
    client, _key = client_key
    client.can_send_templates = True
    client.save()
    return client


def path(account, send_id=None):
    base = f"/accounts/{account.appid}/template-messages"
    return base if send_id is None else f"{base}/{send_id}"


def post(call, account, body, **extra):
    return call(path(account), method="post", data=body, **extra)


def test_a_client_system_without_the_scope_is_refused_and_nothing_is_queued(account, template, call):
    response = post(call, account, {"template_id": template.template_id, "touser": OPENIDS[0], "data": GOOD})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_not_granted"
    assert not Send.objects.exists()
    assert ApiCall.objects.get(endpoint="template-messages").outcome == "forbidden"


def test_one_follower_is_sent_and_followed_to_its_msgid(account, template, sender, call, sandbox):
    response = post(call, account, {"template_id": template.template_id, "touser": OPENIDS[0], "data": GOOD})
    assert response.status_code == 202, response.content
    body = response.json()
    send = Send.objects.get(pk=body["send_id"])
    assert send.created_by is None and ApiSend.objects.get(send=send).client == sender
    assert body["total"] == 1 and body["deliveries"][0]["touser"] == OPENIDS[0]
    assert body["status_url"].endswith(f"/template-messages/{send.pk}")
    notifications.run_send(send.pk)  # the worker's part
    state = call(path(account, send.pk)).json()
    assert state["status"] == "completed" and state["sent"] == 1
    (row,) = state["deliveries"]
    assert row["id"] == body["deliveries"][0]["id"]
    assert row["status"] == DeliveryStatus.SENT and row["msgid"]
    sent = sandbox.state(account.appid)["templates"]
    assert [(m["msgid"], m["touser"]) for m in sent["sent"]] == [(row["msgid"], OPENIDS[0])]


def test_a_batch_takes_per_recipient_values_in_wechats_shape_too(account, template, sender, call):
    messages = [
        {"touser": OPENIDS[0], "data": {"thing2": {"value": "红色杯子"}}},
        {"touser": OPENIDS[1]},
    ]
    shared = {"character_string1": "SN-1", "thing2": "蓝色保温杯", "time3": "2024年5月1日 15:01"}
    response = post(
        call, account, {"template_id": template.template_id, "messages": messages, "data": shared}
    )
    assert response.status_code == 202, response.content
    rows = {d.openid: d.data for d in Delivery.objects.all()}
    assert rows[OPENIDS[0]]["thing2"] == "红色杯子" and rows[OPENIDS[1]]["thing2"] == "蓝色保温杯"
    assert [d["touser"] for d in response.json()["deliveries"]] == OPENIDS[:2]


def test_a_bad_row_refuses_the_whole_batch_in_both_languages(account, template, sender, call):
    messages = [
        {"touser": OPENIDS[0], "data": GOOD},
        {"touser": OPENIDS[1], "data": {**GOOD, "time3": "明天"}},
    ]
    response = post(call, account, {"template_id": template.template_id, "messages": messages})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_send"
    assert "row 2" in error["message"] and "time3" in error["message"]
    assert "第 2 行" in error["message_zh"] or "2" in error["message_zh"]
    assert error["message_zh"] != error["message"]
    assert not Send.objects.exists() and not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"template_id": "nope", "touser": OPENIDS[0], "data": GOOD}, "unknown_template"),
        ({"template_id": "{t}", "data": GOOD}, "invalid_send"),
        ({"template_id": "{t}", "touser": OPENIDS[0], "tag_id": 3, "data": GOOD}, "invalid_send"),
        ({"template_id": "{t}", "touser": OPENIDS[0], "data": {**GOOD, "remark": "x"}}, "invalid_send"),
        (
            {
                "template_id": "{t}",
                "touser": OPENIDS[0],
                "data": {**GOOD, "thing2": {"value": "a", "color": "#f00"}},
            },
            "invalid_send",
        ),
        ({"template_id": "{t}", "messages": [], "data": GOOD}, "invalid_send"),
        ({"template_id": "{t}", "touser": "not an openid", "data": GOOD}, "invalid_send"),
    ],
)
def test_bad_sends_are_422_and_queue_nothing(account, template, sender, call, sandbox, body, code):
    body = {**body, "template_id": body["template_id"].replace("{t}", template.template_id)}
    response = post(call, account, body)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == code
    assert not Send.objects.exists()
    assert sandbox.state(account.appid)["templates"]["sent_count"] == 0


def test_a_tag_send_lists_its_members_when_it_runs(account, template, sender, call, sandbox):
    requests.post(
        f"{sandbox.base_url}/sandbox/templates/{account.appid}/tag", json={"tag_id": 7, "openids": OPENIDS}
    ).raise_for_status()
    response = post(call, account, {"template_id": template.template_id, "tag_id": 7, "data": GOOD})
    assert response.status_code == 202 and response.json()["deliveries"] == []
    notifications.run_send(response.json()["send_id"])
    state = call(path(account, response.json()["send_id"]) + "?limit=2").json()
    assert state["total"] == 5 and state["sent"] == 5
    assert len(state["deliveries"]) == 2 and state["next_after"] == state["deliveries"][-1]["id"]
    rest = call(path(account, response.json()["send_id"]) + f"?after={state['next_after']}&limit=10").json()
    assert len(rest["deliveries"]) == 3 and rest["next_after"] is None


def test_a_send_is_read_only_by_the_client_system_that_made_it(account, template, sender, call, client_key):
    mine = post(call, account, {"template_id": template.template_id, "touser": OPENIDS[0], "data": GOOD})
    _other, other_key = services.register_client(name="H5", accounts=[account], by=None)
    assert call(path(account, mine.json()["send_id"]), key=other_key).status_code == 404
    staff_send = notifications.template_send(
        account=account, template=template, openid=OPENIDS[1], data=GOOD, by=None
    )
    response = call(path(account, staff_send.pk))
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_send"


# --- Idempotency-Key ----------------------------------------------------------------------------
def test_the_same_key_and_body_replays_the_answer_without_a_second_send(account, template, sender, call):
    body = {"template_id": template.template_id, "touser": OPENIDS[0], "data": GOOD}
    first = post(call, account, body, HTTP_IDEMPOTENCY_KEY="order-7-shipped")
    again = post(call, account, body, HTTP_IDEMPOTENCY_KEY="order-7-shipped")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and not first.has_header("Idempotent-Replayed")
    assert Send.objects.count() == 1 and Delivery.objects.count() == 1
    # without a key, the same body is a new send
    assert post(call, account, body).json()["send_id"] != first.json()["send_id"]


def test_the_same_key_with_another_body_is_refused(account, template, sender, call):
    body = {"template_id": template.template_id, "touser": OPENIDS[0], "data": GOOD}
    assert post(call, account, body, HTTP_IDEMPOTENCY_KEY="k-1").status_code == 202
    response = post(call, account, {**body, "touser": OPENIDS[1]}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert response.json()["error"]["message_zh"]
    assert Send.objects.count() == 1


def test_keys_are_per_client_system_and_a_refusal_is_not_kept(account, template, sender, call):
    body = {"template_id": template.template_id, "touser": OPENIDS[0], "data": GOOD}
    bad = post(call, account, {**body, "data": {}}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert bad.status_code == 422 and not IdempotencyRecord.objects.exists()
    assert post(call, account, body, HTTP_IDEMPOTENCY_KEY="k-2").status_code == 202  # the key is free
    other, other_key = services.register_client(name="H5", accounts=[account], by=None)
    other.can_send_templates = True
    other.save()
    assert post(call, account, body, key=other_key, HTTP_IDEMPOTENCY_KEY="k-2").status_code == 202
    assert Send.objects.count() == 2


def test_a_malformed_key_is_400(account, template, sender, call):
    body = {"template_id": template.template_id, "touser": OPENIDS[0], "data": GOOD}
    response = post(call, account, body, HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Send.objects.exists()


def test_a_key_past_its_keeping_time_counts_as_new_and_is_pruned(account, template, sender, call, settings):
    body = {"template_id": template.template_id, "touser": OPENIDS[0], "data": GOOD}
    first = post(call, account, body, HTTP_IDEMPOTENCY_KEY="k-3").json()
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    second = post(call, account, body, HTTP_IDEMPOTENCY_KEY="k-3").json()
    assert second["send_id"] != first["send_id"]
    IdempotencyRecord.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    settings.API_IDEMPOTENCY_HOURS = 48
    assert idempotency.prune() == 0
    settings.API_IDEMPOTENCY_HOURS = 24
    assert idempotency.prune(batch=1) == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_send_once(account, template, sender, client_key):
    """Eight requests with one key at once: one send, eight identical answers. The others'
    INSERT waits on the unique index until the first commits, then replays its answer."""
    body = json.dumps({"template_id": template.template_id, "touser": OPENIDS[0], "data": GOOD})
    answers: list[tuple[int, dict]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def one() -> None:
        try:
            start.wait()
            response = Client().post(
                "/api/v1" + path(account),
                data=body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {client_key[1]}",
                HTTP_IDEMPOTENCY_KEY="same-for-all",
            )
            answers.append((response.status_code, response.json()))
        except BaseException as error:  # reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert {status for status, _ in answers} == {202}
    assert len({json.dumps(answer, sort_keys=True) for _, answer in answers}) == 1
    assert Send.objects.count() == 1 and Delivery.objects.count() == 1


def test_a_batch_body_may_be_larger_than_the_other_endpoints_but_not_unbounded(
    account, template, sender, call
):
    messages = [{"touser": f"oBatch{n:022d}", "data": GOOD} for n in range(1000)]
    body = {"template_id": template.template_id, "messages": messages}
    assert len(json.dumps(body)) > 8 * 1024
    response = post(call, account, body)
    assert response.status_code == 202, response.content
    assert response.json()["total"] == 1000
    too_many = post(call, account, {**body, "messages": messages + messages[:1]})
    assert too_many.status_code == 422
    huge = post(call, account, {**body, "data": {"x": "y" * (1024 * 1024)}})
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "body_too_large"


def test_only_staff_who_may_send_can_grant_the_scope(db, rf):
    from django.contrib import admin
    from django.contrib.auth.models import Permission

    from accounts.tests.factories import UserFactory
    from api.models import ClientSystem

    model_admin = admin.site._registry[ClientSystem]
    keeper = UserFactory(is_staff=True)
    keeper.user_permissions.add(*Permission.objects.filter(content_type__app_label="api"))
    request = rf.get("/")
    request.user = keeper
    assert "can_send_templates" in model_admin.get_readonly_fields(request)
    keeper.user_permissions.add(Permission.objects.get(codename="send_template_message"))
    request.user = type(keeper).objects.get(pk=keeper.pk)  # permissions are cached per object
    assert "can_send_templates" not in model_admin.get_readonly_fields(request)
