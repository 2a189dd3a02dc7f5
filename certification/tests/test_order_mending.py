"""An order can be mended without starting again (issue 29, R-CERT-03/04/05)."""

import pytest
from django.utils import translation

from accounts.models import EntitySubtype
from accounts.tests.factories import EntityFactory, UserFactory
from certification import documents
from certification.models import ItemStatus, OrderEvent, OrderStatus
from certification.selectors import event_details
from certification.services.application_data import order_update_data
from certification.services.checklist import document_upload
from certification.services.errors import CertificationError
from certification.services.steps import order_complete_data
from certification.tests.factories import fill_documents, make_account, make_order, pdf

pytestmark = pytest.mark.django_db

USCC = "91350100M000100Y43"  # GB 32100-2015 example, check digit valid


def _order_without_bank(user):
    entity = EntityFactory(bank_name="", bank_account_number="", registered_capital=100)
    order = make_order(account=make_account(entity=entity), by=user, until=OrderStatus.AGREEMENTS_ACCEPTED)
    order.operator_name = "李四"
    order_update_data(order=order, by=user)
    for document in order.documents.filter(kind="file", required=True):
        document_upload(document=document, by=user, uploaded=pdf(f"{document.code}.pdf"))
    return entity, order


def test_bank_refusal_names_the_empty_entity_fields_with_a_link_r_cert_03():
    """R-CERT-03: the refusal says which entity field is empty and where to fill it."""
    user = UserFactory()
    entity, order = _order_without_bank(user)
    with translation.override("en"), pytest.raises(CertificationError) as exc:
        order_complete_data(order=order, by=user)
    text = " ".join(exc.value.message_dict["account"])
    assert "corporate bank" in text and "corporate bank account number" in text
    assert f"/accounts/entity/{entity.pk}/change/" in text
    assert "start a new order" not in text


def test_order_picks_up_the_corrected_entity_and_keeps_its_uploads_r_cert_03():
    """R-CERT-03: completing the entity after the order was opened lets the same order on;
    the uploaded files stay."""
    user = UserFactory()
    entity, order = _order_without_bank(user)
    with pytest.raises(CertificationError):
        order_complete_data(order=order, by=user)
    entity.bank_name = "招商银行深圳分行"
    entity.bank_account_number = "755912345610001"
    entity.save()
    files_before = {doc.code: doc.file.name for doc in order.documents.filter(kind="file") if doc.file}
    order_complete_data(order=order, by=user)
    order.refresh_from_db()
    assert order.status == OrderStatus.DATA_FILLED
    assert order.entity_snapshot["bank_account_number"] == "755912345610001"
    assert {
        doc.code: doc.file.name for doc in order.documents.filter(kind="file") if doc.file
    } == files_before
    bank = order.documents.get(code="bank_name")
    assert bank.value == "招商银行深圳分行" and bank.status == ItemStatus.RECEIVED


def test_values_typed_into_the_checklist_count_r_cert_03():
    """R-CERT-03: the bank fields typed into the order's checklist (marked received)
    satisfy the rule and become the data as filed."""
    user = UserFactory()
    _entity, order = _order_without_bank(user)
    fill_documents(order, by=user)  # types the bank values into the checklist
    order_complete_data(order=order, by=user)
    order.refresh_from_db()
    assert order.status == OrderStatus.DATA_FILLED
    assert order.entity_snapshot["bank_name"] == "填写的值"


def test_snapshot_is_frozen_once_the_order_left_the_editable_steps():
    user = UserFactory()
    order = make_order(by=user, until=OrderStatus.IN_REVIEW)
    entity = order.account.entity
    entity.bank_name = "另一家银行"
    entity.save()
    order.refresh_from_db()
    assert order.entity_snapshot["bank_name"] != "另一家银行"


def test_no_organisation_code_certificate_with_a_unified_credit_code_r_cert_04():
    """R-CERT-04/05: a three-in-one licence (18-character USCC) needs no separate
    organisation code certificate; a legacy 9-character code still does."""
    codes = {
        item.code
        for item in documents.checklist(kind="enterprise", subtype="general_enterprise", credit_code=USCC)
    }
    assert "organisation_code" not in codes
    codes = {
        item.code
        for item in documents.checklist(
            kind="enterprise", subtype="general_enterprise", credit_code="12345678-9"
        )
    }
    assert "organisation_code" in codes
    user = UserFactory()
    order = make_order(account=make_account(entity=EntityFactory(credit_code=USCC)), by=user)
    assert not order.documents.filter(code="organisation_code").exists()


@pytest.mark.parametrize(
    ("subtype", "expected"),
    [
        (EntitySubtype.GENERAL_ENTERPRISE, "general enterprise"),
        (EntitySubtype.ARTIST_AGENCY, "artist-authorised company"),
        (EntitySubtype.INDIVIDUAL_BUSINESS, "individual business"),
    ],
)
def test_history_names_the_application_letter_of_the_orders_subtype_r_cert_04(subtype, expected):
    """R-CERT-04: the letter's label comes from the order's subtype, not from the code
    shared by the three enterprise subtypes."""
    user = UserFactory()
    order = make_order(account=make_account(entity=EntityFactory(subtype=subtype)), by=user)
    letter = order.documents.get(code="application_letter")
    document_upload(document=letter, by=user, uploaded=pdf("letter.pdf"))
    event = OrderEvent.objects.filter(order=order, action="document_received").latest("pk")
    with translation.override("en"):
        assert f"({expected})" in event_details(event)
