"""The admin: scoping, roles, transition buttons, downloads, exports, dashboard, badge."""

import datetime

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from certification.admin_account import badge_state, certification_badge
from certification.models import Notification, Order, OrderStatus
from certification.services.review import order_record_deposit, order_reject, order_succeed
from certification.tests.factories import make_account, make_order, pdf

SH = datetime.timezone(datetime.timedelta(hours=8))

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-123"


@pytest.fixture
def client(client):
    """Pages in English, so assertions read like the source strings."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def admin_client(admin_client):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return admin_client


def login(client, user):
    # django-axes checks every login against its lockouts, so it needs the request
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def team():
    operator = UserFactory(groups=["Operators"])
    finance = UserFactory(groups=["Finance"])
    outsider_finance = UserFactory(groups=["Finance"])
    account = make_account(staff=[operator, finance])
    order = make_order(account=account, by=finance, until=OrderStatus.IN_REVIEW)
    return {"operator": operator, "finance": finance, "outsider": outsider_finance, "order": order}


def test_operator_sees_orders_of_their_accounts_but_not_fees(client, team):
    login(client, team["operator"])
    other = make_order(until=OrderStatus.DRAFT)
    response = client.get(reverse("admin:certification_order_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert team["order"].account_name in body
    assert other.account_name not in body
    assert "fee (CNY)" not in body
    page = client.get(reverse("admin:certification_order_change", args=[team["order"].pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert team["order"].wechat_pay_transaction_id not in text  # the WeChat Pay transaction id
    assert 'id="transitions"' not in text  # view only: no buttons


def test_operator_cannot_run_transitions(client, team):
    login(client, team["operator"])
    url = reverse("admin:certification_order_transition", args=[team["order"].pk, "succeed"])
    assert client.post(url).status_code == 403
    team["order"].refresh_from_db()
    assert team["order"].status == OrderStatus.IN_REVIEW


def test_finance_sees_fees_and_payment(client, team):
    login(client, team["finance"])
    page = client.get(reverse("admin:certification_order_change", args=[team["order"].pk]))
    text = page.content.decode()
    assert team["order"].wechat_pay_transaction_id in text and "300.00" in text


def test_staff_not_assigned_to_the_account_see_nothing(client, team):
    login(client, team["outsider"])
    listing = client.get(reverse("admin:certification_order_changelist"))
    assert team["order"].account_name not in listing.content.decode()
    page = client.get(reverse("admin:certification_order_change", args=[team["order"].pk]))
    assert page.status_code == 403
    url = reverse("admin:certification_order_transition", args=[team["order"].pk, "succeed"])
    assert client.post(url).status_code == 403


def test_only_allowed_transitions_are_shown_as_buttons_r_cert_02(client, team):
    login(client, team["finance"])
    text = client.get(reverse("admin:certification_order_change", args=[team["order"].pk])).content.decode()
    for name in ["succeed", "reject", "fail", "record_deposit"]:
        assert f"/transition/{name}/" in text
    for name in ["pay", "choose_invoice", "resubmit", "cancel"]:
        assert f"/transition/{name}/" not in text


def test_transition_not_allowed_now_is_refused_r_cert_02(client, team):
    login(client, team["finance"])
    url = reverse("admin:certification_order_transition", args=[team["order"].pk, "pay"])
    response = client.post(url, {"transaction_id": "x"})
    assert response.status_code == 302
    team["order"].refresh_from_db()
    assert team["order"].status == OrderStatus.IN_REVIEW


def test_fail_needs_a_confirmation_page_and_one_of_six_reasons_r_cert_12(client, team):
    login(client, team["finance"])
    url = reverse("admin:certification_order_transition", args=[team["order"].pk, "fail"])
    page = client.get(url)
    assert "cannot be undone" in page.content.decode()
    bad = client.post(url, {"reason": "bad_luck"})
    assert bad.status_code == 200
    response = client.post(url, {"reason": "operator_id_wrong", "note": "身份证号码错误"})
    assert response.status_code == 302
    team["order"].refresh_from_db()
    assert team["order"].failure_reason == "operator_id_wrong"


def test_success_through_the_admin_sets_the_badge_r_post_02_r_cert_16(client, team):
    login(client, team["finance"])
    url = reverse("admin:certification_order_transition", args=[team["order"].pk, "succeed"])
    assert client.post(url).status_code == 302
    team["order"].account.refresh_from_db()
    assert team["order"].account.is_certified()
    assert "Certified until" in certification_badge(team["order"].account)


def test_badge_states_from_certified_until_r_cert_16():
    today = datetime.date(2026, 11, 29)
    assert badge_state(None, today) == ("none", None)
    assert badge_state(datetime.date(2026, 11, 28), today) == ("none", None)
    assert badge_state(datetime.date(2026, 11, 29), today) == ("expiring", 0)
    assert badge_state(datetime.date(2027, 2, 27), today) == ("expiring", 90)
    assert badge_state(datetime.date(2027, 2, 28), today) == ("certified", 91)


def test_badge_is_registered_as_an_account_column_r_cert_16():
    from accounts.admin_extensions import account_actions, account_columns

    assert "certification" in [c.name for c in account_columns()]
    assert any(a.__name__ == "start_annual_review" for a in account_actions())


def test_add_order_in_the_admin_refuses_subscription_accounts_r_cert_01(client, team):
    login(client, team["finance"])
    account = make_account(staff=[team["finance"]], account_type="subscription")
    response = client.post(
        reverse("admin:certification_order_add"), {"account": account.pk, "kind": "initial"}
    )
    assert response.status_code == 200
    assert "only service accounts can be certified" in response.content.decode()
    assert not Order.objects.filter(account=account).exists()


def test_add_order_in_the_admin_creates_it_through_the_service(client, team):
    login(client, team["finance"])
    account = make_account(staff=[team["finance"]])
    response = client.post(
        reverse("admin:certification_order_add"), {"account": account.pk, "kind": "initial"}
    )
    assert response.status_code == 302
    order = Order.objects.get(account=account)
    assert order.fee == 300 and order.documents.count() > 5
    assert order.events.filter(action="create").exists()


def test_document_download_is_permission_checked(client, team):
    document = team["order"].documents.exclude(file="").first()
    url = reverse("certification:document_download", args=[document.pk])
    assert client.get(url).status_code == 302  # anonymous → login
    login(client, team["outsider"])
    assert client.get(url).status_code == 403
    client.logout()
    login(client, team["operator"])
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]


def test_uploads_are_stored_outside_the_media_url(team, settings):
    document = team["order"].documents.exclude(file="").first()
    assert str(settings.MEDIA_ROOT / "private") in document.file.path


def test_start_annual_review_from_a_reminder_is_one_click_r_post_03(client, team, time_machine):
    order_succeed(order=team["order"], by=None)
    team["order"].refresh_from_db()
    time_machine.move_to(
        datetime.datetime.combine(team["order"].annual_review_remind_on, datetime.time(10), tzinfo=SH),
        tick=False,
    )
    login(client, team["finance"])
    url = reverse("admin:certification_order_start_annual", args=[team["order"].account_id])
    assert client.get(url).status_code == 200
    response = client.post(url)
    assert response.status_code == 302
    annual = Order.objects.get(account=team["order"].account, kind="annual_review")
    assert annual.operator_name == team["order"].operator_name
    assert annual.renews_id == team["order"].pk


def test_export_has_no_secrets_and_hides_fees_from_operators(client, team):
    from certification.admin.exports import OrderResource

    account = team["order"].account
    data = OrderResource(with_fees=True).export(queryset=Order.objects.all()).csv
    assert team["order"].account_name in data and "300.00" in data
    for secret in (account.appsecret, account.server_token, account.encoding_aes_key):
        assert str(secret) not in data
    no_fees = OrderResource(with_fees=False).export(queryset=Order.objects.all()).csv
    assert "wechat_pay_transaction_id" not in no_fees and "fee" not in no_fees.split("\n")[0]


def test_export_view_works_for_finance(client, team):
    login(client, team["finance"])
    response = client.post(
        reverse("admin:certification_order_export"),
        {"format": "0", "resource": "0", "export_items": [team["order"].pk]},
    )
    assert response.status_code in (200, 302)


def test_deadline_filters(client, team):
    login(client, team["finance"])
    url = reverse("admin:certification_order_changelist")
    assert client.get(url, {"deadline": "overdue"}).status_code == 200
    assert client.get(url, {"deadline": "soon", "status__exact": "in_review"}).status_code == 200


def test_notifications_are_private_to_their_recipient(client, team):
    mine = Notification.objects.create(
        user=team["finance"], order=team["order"], milestone="resubmission", title="我的提醒"
    )
    Notification.objects.create(
        user=team["operator"], order=team["order"], milestone="resubmission", title="别人的提醒"
    )
    login(client, team["finance"])
    text = client.get(reverse("admin:certification_notification_changelist")).content.decode()
    assert "我的提醒" in text and "别人的提醒" not in text
    client.get(reverse("admin:certification_notification_change", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.is_read


def test_dashboard_panels_scope_and_fees(rf, team):
    from certification.dashboard import panels

    request = rf.get("/admin/")
    request.user = team["finance"]
    finance_panels = panels(request)
    titles = [p["title"] for p in finance_panels]
    assert any("fees paid per month" in t for t in titles)
    chart = next(p for p in finance_panels if "chart" in p)["chart"]
    assert sum(chart["values"]) == 300.0
    request.user = team["operator"]
    assert not any("chart" in p for p in panels(request))
    request.user = UserFactory()  # staff without a role
    assert panels(request) == []


def test_document_upload_in_the_inline_validates_type(client, team):
    login(client, team["finance"])
    order = make_order(account=make_account(staff=[team["finance"]]), by=team["finance"])
    url = reverse("admin:certification_order_change", args=[order.pk])
    docs = list(order.documents.all())
    data = {
        "documents-TOTAL_FORMS": len(docs),
        "documents-INITIAL_FORMS": len(docs),
        "documents-MIN_NUM_FORMS": 0,
        "documents-MAX_NUM_FORMS": 1000,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
        "events-MIN_NUM_FORMS": 0,
        "events-MAX_NUM_FORMS": 1000,
        "operator_name": "王五",
        "operator_id_type": "resident_id",
    }
    for i, doc in enumerate(docs):
        data[f"documents-{i}-id"] = doc.pk
        data[f"documents-{i}-order"] = order.pk
        data[f"documents-{i}-value"] = doc.value
    licence = next(i for i, d in enumerate(docs) if d.code == "business_licence")
    data[f"documents-{licence}-file"] = pdf("evil.pdf", b"MZ\x90\x00")
    response = client.post(url, data, follow=True)
    # Refused on its own (the rest of the save goes through), shown on the order page.
    assert response.redirect_chain[-1][0].endswith(url)
    assert "not a real PDF" in response.content.decode()
    assert not order.documents.get(code="business_licence").file
    data[f"documents-{licence}-file"] = pdf("licence.pdf")
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    order.refresh_from_db()
    assert order.operator_name == "王五"
    assert order.documents.get(code="business_licence").status == "received"


@pytest.mark.parametrize("name", ["order", "reviewcompany", "notification", "reminder"])
def test_admin_changelists_render_for_a_superuser(admin_client, team, name):
    response = admin_client.get(reverse(f"admin:certification_{name}_changelist"))
    assert response.status_code == 200


def test_review_company_hotline_and_open_state_are_shown_r_cert_15(admin_client, team):
    text = admin_client.get(
        reverse("admin:certification_order_change", args=[team["order"].pk])
    ).content.decode()
    company = team["order"].review_company
    assert company.hotline in text
    assert ("open now" in text) or ("closed now" in text)


def test_operators_history_shows_no_fee_or_invoice_details(client, team):
    login(client, team["operator"])
    text = client.get(reverse("admin:certification_order_change", args=[team["order"].pk])).content.decode()
    assert "300.00" not in text and "深圳市南山区科技园 1 号" not in text


def test_deposit_receipt_download_is_permission_checked_r_cert_03(client, team):
    from decimal import Decimal

    order_record_deposit(
        order=team["order"],
        by=None,
        amount=Decimal("0.12"),
        remark="R1",
        received_on=datetime.date(2026, 11, 20),
        receipt=pdf("receipt.pdf"),
    )
    url = reverse("certification:deposit_download", args=[team["order"].pk])
    login(client, team["outsider"])
    assert client.get(url).status_code == 403
    client.logout()
    login(client, team["finance"])
    assert client.get(url).status_code == 200


def test_record_deposit_through_the_transition_form_r_cert_03(client, team):
    login(client, team["finance"])
    url = reverse("admin:certification_order_transition", args=[team["order"].pk, "record_deposit"])
    response = client.post(
        url, {"amount": "0.25", "remark": "WX9", "received_on": "2026-11-20", "receipt": pdf("r.pdf")}
    )
    assert response.status_code == 302
    team["order"].refresh_from_db()
    assert team["order"].deposit_remark == "WX9"


def test_start_annual_review_action_on_the_account_list_r_post_03(client, team, time_machine):
    order_succeed(order=team["order"], by=None)
    team["order"].refresh_from_db()
    time_machine.move_to(
        datetime.datetime.combine(team["order"].annual_review_remind_on, datetime.time(10), tzinfo=SH),
        tick=False,
    )
    login(client, team["finance"])
    response = client.post(
        reverse("admin:accounts_officialaccount_changelist"),
        {"action": "start_annual_review", "_selected_action": [team["order"].account_id]},
    )
    assert response.status_code == 302
    assert Order.objects.filter(account=team["order"].account, kind="annual_review").exists()


def test_schedules_and_tasks_are_declared():
    import certification.tasks  # noqa: F401  (registers the shared tasks)
    from wxadmin.celery import app
    from wxadmin.schedules import collect_schedules

    names = {spec["task"] for spec in collect_schedules()}
    for task in (
        "certification.send_reminders",
        "certification.fail_timed_out_orders",
        "certification.expire_certifications",
    ):
        assert task in names
        assert task in app.tasks


def test_the_order_page_is_in_simplified_chinese_by_default(admin_client, team):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    text = admin_client.get(
        reverse("admin:certification_order_change", args=[team["order"].pk])
    ).content.decode()
    assert "登记认证成功" in text and "审核中" in text


def test_staff_without_a_certification_role_cannot_open_orders(client, team):
    login(client, UserFactory())
    assert client.get(reverse("admin:certification_order_changelist")).status_code == 403
    document = team["order"].documents.exclude(file="").first()
    url = reverse("certification:document_download", args=[document.pk])
    assert client.get(url).status_code == 403


def test_xlsx_export_has_the_orders():
    import io

    import openpyxl

    from certification.admin.exports import OrderResource

    order = make_order(until=OrderStatus.IN_REVIEW)
    data = OrderResource(with_fees=True).export(queryset=Order.objects.all()).xlsx
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert order.account_name in values


def test_admin_index_renders_the_certification_panels(client, team):
    login(client, team["finance"])
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Certification: needs action" in response.content.decode()


def test_trademark_without_its_document_is_a_field_error_r_cert_08(client, team):
    login(client, team["finance"])
    order = make_order(account=make_account(staff=[team["finance"]]), by=team["finance"])
    url = reverse("admin:certification_order_change", args=[order.pk])
    docs = list(order.documents.all())
    data = {
        "documents-TOTAL_FORMS": len(docs),
        "documents-INITIAL_FORMS": len(docs),
        "documents-MIN_NUM_FORMS": 0,
        "documents-MAX_NUM_FORMS": 1000,
        "events-TOTAL_FORMS": 0,
        "events-INITIAL_FORMS": 0,
        "events-MIN_NUM_FORMS": 0,
        "events-MAX_NUM_FORMS": 1000,
        "operator_name": "王五",
        "operator_id_type": "resident_id",
        "trademark_name": "小蓝鲸",
        "trademark_owned_by_entity": "on",
    }
    for i, doc in enumerate(docs):
        data[f"documents-{i}-id"] = doc.pk
        data[f"documents-{i}-order"] = order.pk
        data[f"documents-{i}-value"] = doc.value
    response = client.post(url, data)
    assert response.status_code == 200
    assert "registration certificate or an acceptance notice" in response.content.decode()
    order.refresh_from_db()
    assert order.trademark_name == ""


def test_dashboard_lists_rejected_orders_with_days_left_r_cert_12(rf, team, time_machine):
    from certification.dashboard import panels

    time_machine.move_to(datetime.datetime(2026, 9, 20, 10, tzinfo=datetime.UTC), tick=False)
    order_reject(order=team["order"], by=None, note="x")
    time_machine.move_to(datetime.datetime(2026, 10, 10, 10, tzinfo=datetime.UTC), tick=False)
    request = rf.get("/admin/")
    request.user = team["operator"]
    table = next(p for p in panels(request) if "rows" in p)["rows"]
    assert table["rows"][0][2:] == [datetime.date(2026, 10, 20), 10]
