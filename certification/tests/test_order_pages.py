"""The order pages as staff read them: words not codes, only the fields the entity needs,
documents uploaded one by one, and the guards around success, payment and annual reviews."""

import datetime
import re

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.urls import reverse

from accounts.tests.factories import EntityFactory, UserFactory
from certification.models import Order, OrderEvent, OrderStatus
from certification.services.creation import order_create
from certification.services.errors import CertificationError
from certification.services.review import order_reject, order_succeed
from certification.services.steps import order_choose_invoice
from certification.services.submission import order_pay, order_resubmit, order_submit_free
from certification.tests.factories import PDF, make_account, make_order, transaction_id

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-123"
SH = datetime.timezone(datetime.timedelta(hours=8))


def login(client, user, language="zh-hans"):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def finance():
    return UserFactory(groups=["Finance"])


def change_url(order):
    return reverse("admin:certification_order_change", args=[order.pk])


def form_data(response) -> dict:
    """The change form's current values, as the browser would post them back."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value not in (None, False):
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management[name].value()
        for sub in formset.forms:
            for name, field in sub.fields.items():
                value = sub[name].value()
                if value not in (None, False, "") and name != "file":
                    data[sub.add_prefix(name)] = value if name != "id" else sub.instance.pk
    return data


def test_order_page_speaks_chinese_without_rule_codes_or_internal_codes(client, finance):
    """Headings, history, checklist and badge in Chinese words; no R-CERT codes, no
    `accept_service_agreement draft→draft`, no "DRAFT"."""
    order = make_order(
        by=finance, account=make_account(staff=[finance]), until=OrderStatus.AGREEMENTS_ACCEPTED
    )
    login(client, finance)
    page = client.get(change_url(order)).content.decode()
    assert "R-CERT" not in page and "R-POST" not in page
    assert "协议" in page and "运营者" in page
    for code in ("accept_service_agreement", "draft→draft", "agreements_accepted", "Business licence copy"):
        assert code not in page, code
    make_order(by=finance, account=make_account(staff=[finance]))  # a draft
    listing = client.get(reverse("admin:certification_order_changelist")).content.decode()
    texts = [t.lower() for t in re.findall(r">\s*([^<>]+?)\s*<", listing)]
    assert "draft" not in texts and "agreements_accepted" not in texts
    assert any("草稿" in t for t in texts)


def test_history_names_fields_and_documents_in_words(client, finance):
    order = make_order(by=finance, account=make_account(staff=[finance]), until=OrderStatus.DATA_FILLED)
    login(client, finance)
    page = client.get(change_url(order)).content.decode()
    texts = re.findall(r">\s*([^<>]+?)\s*<", page)  # what the page shows as text
    assert "operator_name" not in texts and "business_licence" not in texts
    assert "运营者姓名" in texts and any("营业执照" in t for t in texts)


def test_export_has_chinese_words_not_codes(finance):
    from django.utils import translation

    from certification.admin.exports import OrderResource

    make_order(by=finance, until=OrderStatus.IN_REVIEW)
    with translation.override("zh-hans"):
        data = OrderResource(with_fees=True).export(queryset=Order.objects.all()).csv
    for code in ("vat_ordinary", "in_review", "initial", "review_due_is_estimate"):
        assert code not in data, code
    assert "增值税普通发票" in data and "审核中" in data and "首次认证" in data


@pytest.mark.parametrize(
    ("kind", "subtype", "shown", "hidden"),
    [
        (
            "enterprise",
            "general_enterprise",
            {"trademark_name"},
            {"artist_name", "media_title", "tm_registrant"},
        ),
        ("enterprise", "artist_agency", {"artist_name", "trademark_name"}, {"media_title"}),
        ("media", "newspaper", {"media_title"}, {"trademark_name", "artist_name"}),
        ("media", "online_media", set(), {"media_title", "trademark_name", "artist_name"}),
    ],
)
def test_only_the_fields_the_entity_needs_are_shown(client, finance, kind, subtype, shown, hidden):
    """R-CERT-08/09/13: naming fields by the entity's type and subtype."""
    entity = EntityFactory(kind=kind, subtype=subtype)
    order = make_order(
        by=finance,
        account=make_account(staff=[finance], entity=entity),
        until=OrderStatus.AGREEMENTS_ACCEPTED,
    )
    login(client, finance)
    form = client.get(change_url(order)).context["adminform"].form
    assert shown <= set(form.fields)
    assert not hidden & set(form.fields)


def test_trademark_letter_fields_appear_for_someone_elses_trademark_r_cert_13(finance):
    order = make_order(by=finance, until=OrderStatus.AGREEMENTS_ACCEPTED)
    order.trademark_name, order.trademark_owned_by_entity = "小蓝鲸", False
    assert {"tm_registrant", "tm_grantee", "tm_use_until"} <= set(order.name_fields())


def test_one_bad_file_among_good_ones_keeps_the_good_ones(client, finance):
    """R-CERT-04: each file is checked on its own; the bad one is named at the top of the
    page and next to its row, the good ones are stored."""
    order = make_order(
        by=finance, account=make_account(staff=[finance]), until=OrderStatus.AGREEMENTS_ACCEPTED
    )
    login(client, finance, language="en")
    response = client.get(change_url(order))
    data = form_data(response)
    data["operator_name"] = "李四"
    rows = {doc.pk: index for index, doc in enumerate(order.documents.all())}
    licence = order.documents.get(code="business_licence")
    code = order.documents.get(code="application_letter")
    front = order.documents.get(code="operator_id_front")
    data[f"documents-{rows[licence.pk]}-file"] = SimpleUploadedFile("licence.pdf", PDF)
    data[f"documents-{rows[code.pk]}-file"] = SimpleUploadedFile("virus.pdf", b"MZ\x90\x00")
    data[f"documents-{rows[front.pk]}-file"] = SimpleUploadedFile("front.pdf", PDF)
    data["_continue"] = "1"
    response = client.post(change_url(order), data, follow=True)
    assert response.status_code == 200
    licence.refresh_from_db()
    code.refresh_from_db()
    front.refresh_from_db()
    assert licence.file and front.file and not code.file
    order.refresh_from_db()
    assert order.operator_name == "李四"
    page = response.content.decode()
    assert "virus.pdf" in page and "is not a real PDF file" in page
    assert page.count("cert-upload-error") == 1  # next to its row
    assert "2 documents uploaded" in page  # and at the top, with the refusal
    # The next visit shows the page clean again.
    assert "cert-upload-error" not in client.get(change_url(order)).content.decode()


def test_record_success_asks_for_confirmation(client, finance):
    order = make_order(by=finance, account=make_account(staff=[finance]), until=OrderStatus.IN_REVIEW)
    login(client, finance, language="en")
    page = client.get(change_url(order)).content.decode()
    assert 'data-transition="succeed"' in page
    assert 'value="succeed"' not in page  # not a one-click button
    url = reverse("admin:certification_order_transition", args=[order.pk, "succeed"])
    confirm = client.get(url).content.decode()
    assert "certified until" in confirm and "Yes, I am sure" in confirm
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_REVIEW


@pytest.mark.parametrize(
    "bad", ["abc", "4200001234", "42000012342026112900000000999", "4200001234202611290000000abc"]
)
def test_wechat_pay_transaction_id_is_checked_r_cert_07(finance, bad):
    """R-CERT-07: a WeChat Pay 微信支付订单号 is 28 digits (at most 32)."""
    order = make_order(by=finance, until=OrderStatus.AWAITING_PAYMENT)
    if len(bad) == 29:  # digits, a valid length: accepted
        order_pay(order=order, by=finance, transaction_id=bad, paid_at=datetime.datetime.now(datetime.UTC))
        return
    with pytest.raises(CertificationError, match="not a WeChat Pay transaction ID"):
        order_pay(order=order, by=finance, transaction_id=bad, paid_at=datetime.datetime.now(datetime.UTC))
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT


def test_one_wechat_pay_transaction_pays_one_order_r_cert_07(finance):
    first = make_order(by=finance, until=OrderStatus.IN_REVIEW)
    second = make_order(by=finance, until=OrderStatus.AWAITING_PAYMENT)
    with pytest.raises(CertificationError, match=f"already paid order #{first.pk}"):
        order_pay(
            order=second,
            by=finance,
            transaction_id=first.wechat_pay_transaction_id,
            paid_at=datetime.datetime.now(datetime.UTC),
        )
    order_pay(
        order=second, by=finance, transaction_id=transaction_id(), paid_at=datetime.datetime.now(datetime.UTC)
    )


def test_free_modification_skips_invoice_and_payment_r_post_01(finance):
    """R-POST-01: a 0 CNY modification goes from "data filled in" straight to review."""
    from certification.selectors import allowed_transitions

    certified = make_order(by=finance, until=OrderStatus.IN_REVIEW)
    order_succeed(order=certified, by=finance)
    order = make_order(
        account=certified.account, kind="modification", by=finance, until=OrderStatus.DATA_FILLED
    )
    assert order.fee == 0
    assert [t.name for t in allowed_transitions(order)] == ["submit", "cancel"]
    with pytest.raises(CertificationError, match="free of charge"):
        order_choose_invoice(order=order, by=finance, invoice_type="none")
    order_submit_free(order=order, by=finance)
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_REVIEW and order.review_due_on
    assert not OrderEvent.objects.filter(order=order, to_status="awaiting_payment").exists()


def test_paid_order_cannot_use_the_free_submission(finance):
    order = make_order(by=finance, until=OrderStatus.DATA_FILLED)
    with pytest.raises(CertificationError, match=r"costs 300.00 CNY"):
        order_submit_free(order=order, by=finance)


def test_early_annual_review_warns_and_needs_a_confirmation_r_post_02(client, finance):
    """R-POST-02: the annual review is due from 3 months before expiry; a year early it
    warns (300 CNY all the same) and runs only once confirmed."""
    certified = make_order(by=finance, account=make_account(staff=[finance]), until=OrderStatus.IN_REVIEW)
    order_succeed(order=certified, by=finance)
    with pytest.raises(CertificationError, match="Confirm to start it early"):
        order_create(account=certified.account, kind="annual_review", by=finance)
    login(client, finance, language="en")
    url = reverse("admin:certification_order_start_annual", args=[certified.account_id])
    page = client.get(url).content.decode()
    assert 'id="early-warning"' in page and "300 CNY" in page
    assert client.post(url).status_code == 200  # refused without the confirmation
    assert not Order.objects.filter(kind="annual_review").exists()
    assert client.post(url, {"confirm_early": "1"}).status_code == 302
    assert Order.objects.filter(kind="annual_review", account=certified.account).exists()


def test_modification_while_the_annual_review_is_prepared_r_post_01_r_post_03(finance):
    """R-POST-01: data can be modified while the certification is valid, also beside an
    annual review being prepared; only one application is with the reviewer at a time."""
    certified = make_order(by=finance, until=OrderStatus.IN_REVIEW)
    order_succeed(order=certified, by=finance)
    annual = make_order(
        account=certified.account, kind="annual_review", by=finance, until=OrderStatus.AWAITING_PAYMENT
    )
    modification = make_order(
        account=certified.account, kind="modification", by=finance, until=OrderStatus.DATA_FILLED
    )
    order_submit_free(order=modification, by=finance)  # now with the reviewer
    with pytest.raises(CertificationError, match="is with the reviewer"):
        order_pay(
            order=annual,
            by=finance,
            transaction_id=transaction_id(),
            paid_at=datetime.datetime.now(datetime.UTC),
        )
    with pytest.raises(CertificationError, match="already has an order in progress"):
        order_create(account=certified.account, kind="modification", by=finance)
    order_succeed(order=modification, by=finance)
    order_pay(
        order=annual, by=finance, transaction_id=transaction_id(), paid_at=datetime.datetime.now(datetime.UTC)
    )


def test_finished_orders_hide_review_and_resubmission_dates(client, finance):
    order = make_order(by=finance, account=make_account(staff=[finance]), until=OrderStatus.IN_REVIEW)
    order_reject(order=order, by=finance, note="x")
    order_resubmit(order=order, by=finance)
    order_succeed(order=order, by=finance)
    order.refresh_from_db()
    assert order.review_due_on and order.resubmission_deadline
    login(client, finance, language="en")
    page = client.get(change_url(order)).content.decode()
    assert 'id="review-due"' not in page and 'id="resubmit-by"' not in page
    form_fields = client.get(change_url(order)).context["adminform"].form.fields
    assert "review_due_display" not in form_fields
    listing = client.get(reverse("admin:certification_order_changelist")).content.decode()
    assert order.review_due_on.isoformat() not in listing
    assert order.resubmission_deadline.isoformat() not in listing


def test_account_field_is_a_searchable_choice_scoped_to_the_user(client, finance):
    mine = make_account(staff=[finance], name="我的服务号")
    make_account(name="别人的服务号")
    login(client, finance, language="en")
    page = client.get(reverse("admin:certification_order_add")).content.decode()
    assert "admin-autocomplete" in page and 'name="account"' in page
    found = client.get(
        reverse("admin:autocomplete"),
        {"term": "服务号", "app_label": "certification", "model_name": "order", "field_name": "account"},
    ).json()
    assert [r["text"] for r in found["results"]] == [str(mine)]


def test_early_annual_review_from_the_account_list_links_to_the_confirmation(client, finance):
    """R-POST-02: the bulk action does not start an early annual review; it links to the
    account's page where it can be confirmed."""
    certified = make_order(by=finance, account=make_account(staff=[finance]), until=OrderStatus.IN_REVIEW)
    order_succeed(order=certified, by=finance)
    login(client, finance, language="en")
    response = client.post(
        reverse("admin:accounts_officialaccount_changelist"),
        {"action": "start_annual_review", "_selected_action": [certified.account_id]},
        follow=True,
    )
    page = response.content.decode()
    assert not Order.objects.filter(kind="annual_review").exists()
    assert reverse("admin:certification_order_start_annual", args=[certified.account_id]) in page
