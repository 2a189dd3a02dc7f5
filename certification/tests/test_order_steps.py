"""Creating an order and walking its steps (R-CERT-01/02/03/06/13/14)."""

import datetime

import pytest

from accounts.models import AccountType, EntityKind
from accounts.tests.factories import EntityFactory, UserFactory
from certification.models import ItemStatus, Order, OrderEvent, OrderStatus
from certification.services.application_data import order_update_data
from certification.services.checklist import document_upload, document_verify
from certification.services.creation import order_create
from certification.services.errors import CertificationError
from certification.services.review import order_record_deposit, order_reject
from certification.services.steps import order_accept_naming_rules, order_choose_invoice, order_complete_data
from certification.services.submission import order_pay
from certification.tests.factories import fill_documents, make_account, make_order, pdf

pytestmark = pytest.mark.django_db


def test_subscription_account_is_refused_with_a_clear_reason_r_cert_01():
    account = make_account(account_type=AccountType.SUBSCRIPTION)
    with pytest.raises(CertificationError) as exc:
        order_create(account=account, kind="initial", by=UserFactory())
    assert "only service accounts can be certified" in str(exc.value)
    assert not Order.objects.exists()


@pytest.mark.parametrize("subtype", ["general_enterprise", "artist_agency", "individual_business"])
def test_enterprise_service_accounts_can_order_r_cert_01(subtype):
    account = make_account(entity=EntityFactory(subtype=subtype))
    order = order_create(account=account, kind="initial", by=UserFactory())
    assert order.status == OrderStatus.DRAFT


@pytest.mark.parametrize("subtype", ["broadcast_tv", "newspaper", "periodical", "online_media"])
def test_media_service_accounts_can_order_r_cert_01(subtype):
    entity = EntityFactory(kind=EntityKind.MEDIA, subtype=subtype)
    order = order_create(account=make_account(entity=entity), kind="initial", by=UserFactory())
    assert order.documents.filter(code="media_licence").exists()


def test_one_entity_may_certify_several_accounts_r_cert_14():
    """R-CERT-14: one entity may certify several official accounts, at the same time."""
    entity = EntityFactory()
    first = make_order(account=make_account(entity=entity), until=OrderStatus.IN_REVIEW)
    second = make_order(account=make_account(entity=entity), until=OrderStatus.IN_REVIEW)
    assert first.account.entity_id == second.account.entity_id
    assert {first.status, second.status} == {OrderStatus.IN_REVIEW}


def test_only_one_open_order_per_account():
    order = make_order()
    with pytest.raises(CertificationError, match="already has an order in progress"):
        order_create(account=order.account, kind="initial", by=UserFactory())


def test_order_snapshots_the_entity_as_filed():
    order = make_order()
    entity = order.account.entity
    entity.full_name = "改名后的公司"
    entity.save()
    order.refresh_from_db()
    assert order.entity_snapshot["full_name"] != "改名后的公司"


def test_naming_rules_cannot_be_accepted_before_the_service_agreement_r_cert_02():
    user = UserFactory()
    order = order_create(account=make_account(), kind="initial", by=user)
    with pytest.raises(CertificationError, match="Service Agreement first"):
        order_accept_naming_rules(order=order, by=user)


def test_agreements_record_who_and_when_r_cert_02():
    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.AGREEMENTS_ACCEPTED)
    assert order.service_agreement_accepted_by == user
    assert order.naming_rules_accepted_by == user
    assert order.naming_rules_accepted_at >= order.service_agreement_accepted_at
    moves = list(OrderEvent.objects.filter(order=order).values_list("from_status", "to_status", "by"))
    assert ("draft", "agreements_accepted", user.pk) in moves


@pytest.mark.parametrize("step", ["choose_invoice", "pay", "complete_data", "reject"])
def test_steps_cannot_be_skipped_r_cert_02(step):
    user = UserFactory()
    order = order_create(account=make_account(), kind="initial", by=user)
    calls = {
        "complete_data": lambda: order_complete_data(order=order, by=user),
        "choose_invoice": lambda: order_choose_invoice(
            order=order, by=user, invoice_type="vat_ordinary", mailing_address="x"
        ),
        "pay": lambda: order_pay(
            order=order, by=user, transaction_id="1", paid_at=datetime.datetime.now(datetime.UTC)
        ),
        "reject": lambda: order_reject(order=order, by=user, note="x"),
    }
    with pytest.raises(CertificationError, match="cannot be"):
        calls[step]()
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT


def test_data_step_lists_every_missing_document_r_cert_04():
    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.AGREEMENTS_ACCEPTED)
    order.operator_name = "李四"
    order_update_data(order=order, by=user)
    with pytest.raises(CertificationError) as exc:
        order_complete_data(order=order, by=user)
    text = " ".join(exc.value.message_dict["documents"])
    for label in [
        "Business licence copy",
        "Operator ID scan, front",
        "Operator ID scan, back",
    ]:
        assert label in text
    order.refresh_from_db()
    assert order.status == OrderStatus.AGREEMENTS_ACCEPTED


def test_operator_id_needs_both_sides_r_cert_06():
    """R-CERT-06: without the back of the operator's ID the data step is refused."""
    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.AGREEMENTS_ACCEPTED)
    order.operator_name = "李四"
    order_update_data(order=order, by=user)
    fill_documents(order, by=user)
    back = order.documents.get(code="operator_id_back")
    back.file = ""
    back.status = ItemStatus.MISSING
    back.save()
    with pytest.raises(CertificationError, match="Operator ID scan, back"):
        order_complete_data(order=order, by=user)


def test_corporate_bank_account_is_mandatory_r_cert_03():
    """R-CERT-03: neither the entity nor the order's checklist has the bank account: refused."""
    user = UserFactory()
    entity = EntityFactory(bank_name="", bank_account_number="")
    order = make_order(account=make_account(entity=entity), by=user, until=OrderStatus.AGREEMENTS_ACCEPTED)
    order.operator_name = "李四"
    order_update_data(order=order, by=user)
    fill_documents(order, by=user)
    order.documents.filter(code__in=["bank_name", "bank_account_number"]).update(value="", status="missing")
    with pytest.raises(CertificationError) as exc:
        order_complete_data(order=order, by=user)
    assert "corporate bank account" in " ".join(exc.value.message_dict["account"])


def test_failing_name_needs_a_written_justification_r_cert_08():
    user = UserFactory()
    order = make_order(account=make_account(name="好吃的"), by=user, until=OrderStatus.AGREEMENTS_ACCEPTED)
    order.operator_name = "李四"
    order_update_data(order=order, by=user)
    fill_documents(order, by=user)
    with pytest.raises(CertificationError) as exc:
        order_complete_data(order=order, by=user)
    assert "naming_justification" in exc.value.message_dict
    order.refresh_from_db()
    assert order.naming_ok is False and "full or short name" in order.naming_reason
    order.naming_justification = "商标转让中，附说明函"
    order_update_data(order=order, by=user)
    order_complete_data(order=order, by=user)
    order.refresh_from_db()
    assert order.status == OrderStatus.DATA_FILLED


def test_trademark_letter_must_contain_the_five_elements_r_cert_13():
    """R-CERT-13: registrant, number, grantee (= the entity), seal or signature, period."""
    user = UserFactory()
    entity = EntityFactory(full_name="深圳小蓝鲸科技有限公司", short_name="蓝鲸科技")
    order = make_order(
        account=make_account(entity=entity, name="小蓝鲸生活"), by=user, until=OrderStatus.AGREEMENTS_ACCEPTED
    )
    order.operator_name = "李四"
    order.trademark_name = "小蓝鲸"
    order.trademark_document = "certificate"
    order.trademark_owned_by_entity = False
    order.tm_grantee = "别的公司"
    order_update_data(order=order, by=user)
    fill_documents(order, by=user)
    assert order.documents.filter(code="trademark_authorisation").exists()
    with pytest.raises(CertificationError) as exc:
        order_complete_data(order=order, by=user)
    text = " ".join(exc.value.message_dict["trademark_authorisation"])
    for part in [
        "registrant",
        "registration or application number",
        "grantee equal to the certifying entity",
        "seal or signature",
        "period of use",
    ]:
        assert part in text
    order.tm_registrant = "王五"
    order.tm_registration_number = "12345678"
    order.tm_grantee = entity.full_name
    order.tm_sealed_or_signed = True
    order.tm_use_from = datetime.date(2026, 1, 1)
    order.tm_use_until = datetime.date(2030, 12, 31)
    order_update_data(order=order, by=user)
    order_complete_data(order=order, by=user)


def test_vat_special_invoice_is_flagged_for_tencent_customer_service_r_cert_10():
    order = make_order(until=OrderStatus.AWAITING_PAYMENT, invoice_type="vat_special")
    assert order.needs_tencent_customer_service
    assert order.invoice_title == order.account.entity.full_name


def test_paper_invoice_needs_a_mailing_address_r_cert_10():
    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.DATA_FILLED)
    with pytest.raises(CertificationError, match="mailing address"):
        order_choose_invoice(order=order, by=user, invoice_type="vat_ordinary")


def test_payment_is_by_wechat_pay_with_transaction_id_r_cert_07():
    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.AWAITING_PAYMENT)
    with pytest.raises(CertificationError, match="WeChat Pay transaction ID"):
        order_pay(order=order, by=user, transaction_id="", paid_at=datetime.datetime.now(datetime.UTC))
    order.refresh_from_db()
    assert order.status == OrderStatus.AWAITING_PAYMENT and order.paid_at is None


def test_submission_sets_the_review_due_date_r_cert_11(time_machine):
    time_machine.move_to(datetime.datetime(2026, 2, 10, 10, 0, tzinfo=datetime.UTC))
    order = make_order(until=OrderStatus.IN_REVIEW)
    assert order.review_due_on == datetime.date(2026, 3, 9)
    assert order.review_due_is_estimate is False


def test_upload_replaces_and_marks_received_then_verified():
    user = UserFactory()
    order = make_order(by=user)
    document = order.documents.get(code="business_licence")
    document_upload(document=document, by=user, uploaded=pdf())
    document.refresh_from_db()
    assert document.status == ItemStatus.RECEIVED and document.file
    document_verify(document=document, by=user)
    document.refresh_from_db()
    assert document.status == ItemStatus.VERIFIED and document.verified_by == user


def test_micro_deposit_is_recorded_with_amount_remark_date_and_receipt_r_cert_03():
    from decimal import Decimal

    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.IN_REVIEW)
    with pytest.raises(CertificationError, match="future"):
        order_record_deposit(
            order=order,
            by=user,
            amount=Decimal("0.37"),
            remark="WX1234",
            received_on=datetime.date(2099, 1, 1),
        )
    order_record_deposit(
        order=order,
        by=user,
        amount=Decimal("0.37"),
        remark="WX1234",
        received_on=datetime.date(2026, 11, 20),
        receipt=pdf("receipt.pdf"),
    )
    order.refresh_from_db()
    assert (order.deposit_amount, order.deposit_remark) == (Decimal("0.37"), "WX1234")
    assert order.deposit_receipt and order.deposit_receipt_uploaded_at
    assert order.events.filter(action="record_deposit").exists()


def test_micro_deposit_receipt_type_is_checked_r_cert_03():
    from decimal import Decimal

    order = make_order(until=OrderStatus.IN_REVIEW)
    with pytest.raises(Exception, match="file type not accepted"):
        order_record_deposit(
            order=order,
            by=None,
            amount=Decimal("0.10"),
            remark="x",
            received_on=datetime.date(2026, 11, 20),
            receipt=pdf("receipt.exe"),
        )


def test_review_companies_are_seeded_by_migration_r_cert_15():
    from certification.models import ReviewCompany
    from certification.tests.factories import apply_seed_migration

    # The rows the migration leaves in the database, applied as `migrate` applies it
    # (transactional tests elsewhere may have flushed the table of a reused test
    # database), twice: it is idempotent.
    apply_seed_migration()
    apply_seed_migration()
    assert ReviewCompany.objects.count() == 4
    company = ReviewCompany.objects.get(hotline="021-33977660")
    assert (company.opens_at, company.closes_at) == (datetime.time(8, 30), datetime.time(17, 30))
    hotlines = set(ReviewCompany.objects.values_list("hotline", flat=True))
    assert {"027-59757188", "021-33977660", "4000303908", "028-85182726"} <= hotlines


def test_a_stale_form_instance_never_overwrites_the_status():
    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.IN_REVIEW)
    stale = Order.objects.get(pk=order.pk)  # loaded by a form before the rejection
    order_reject(order=order, by=user, note="补充材料")
    stale.operator_phone = "13800000000"
    order_update_data(order=stale, by=user, changed=["operator_phone"])
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED and order.rejection_count == 1
    assert order.operator_phone == "13800000000"
