"""The document checklist and upload limits (R-CERT-04/05/06/08/13)."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from certification import documents
from certification.tests.factories import PDF, PNG


def codes(**kwargs):
    return [item.code for item in documents.checklist(**kwargs)]


def test_enterprise_checklist_r_cert_04():
    got = codes(kind="enterprise", subtype="general_enterprise")
    for code in [
        "business_licence",
        "organisation_code",
        "operator_id_front",
        "operator_id_back",
        "application_letter",
        "bank_name",
        "bank_account_number",
        "legal_representative",
        "registered_capital",
        "office_address",
    ]:
        assert code in got
    assert "artist_video" not in got and "media_licence" not in got


def test_application_letter_matches_the_enterprise_subtype_r_cert_04():
    labels = {
        item.code: str(item.label)
        for item in documents.checklist(kind="enterprise", subtype="individual_business")
    }
    assert "individual business" in labels["application_letter"]


def test_artist_authorised_company_needs_artist_extras_r_cert_04():
    got = codes(kind="enterprise", subtype="artist_agency")
    assert {"artist_bank_account", "artist_id_scan", "artist_video"} <= set(got)


@pytest.mark.parametrize(
    ("subtype", "words"),
    [
        ("broadcast_tv", "Broadcasting-institution licence"),
        ("newspaper", "Newspaper publication licence"),
        ("periodical", "Periodical publication licence"),
        ("online_media", "Internet news information service licence"),
    ],
)
def test_media_checklist_asks_for_the_subtype_licence_r_cert_05(subtype, words):
    """R-CERT-05: a media entity files its subtype's licence, the common documents, the
    corporate bank account, legal representative, office phone and address."""
    items = {item.code: item for item in documents.checklist(kind="media", subtype=subtype)}
    assert words in str(items["media_licence"].label)
    assert {
        "business_licence",
        "organisation_code",
        "operator_id_front",
        "operator_id_back",
        "application_letter",
        "bank_name",
        "bank_account_number",
        "legal_representative",
        "office_phone",
        "office_address",
    } <= set(items)
    assert all(items[code].required for code in ("media_licence", "office_phone"))
    assert "registered_capital" not in items and "artist_video" not in items


def test_operator_id_both_sides_are_required_r_cert_06():
    """R-CERT-06: resident or temporary resident ID card, and both sides are required."""
    from certification.models import OperatorIdType

    assert set(OperatorIdType.values) == {"resident_id", "temporary_resident_id"}
    items = {i.code: i for i in documents.checklist(kind="media", subtype="periodical")}
    assert items["operator_id_front"].required and items["operator_id_back"].required


def test_trademark_in_name_adds_certificate_and_letter_when_not_owned_r_cert_08_r_cert_13():
    """R-CERT-08 / R-CERT-13: someone else's trademark needs the authorisation letter, and
    the registrant's ID (front and back) when the registrant is a person."""
    own = codes(kind="enterprise", subtype="general_enterprise", trademark_name="小蓝鲸")
    assert "trademark_certificate" in own and "trademark_authorisation" not in own
    licensed = codes(
        kind="enterprise",
        subtype="general_enterprise",
        trademark_name="小蓝鲸",
        trademark_owned_by_entity=False,
        tm_registrant_is_person=True,
    )
    assert {"trademark_authorisation", "tm_registrant_id_front", "tm_registrant_id_back"} <= set(licensed)


def test_upload_accepts_real_pdf_and_png():
    documents.validate_upload(SimpleUploadedFile("a.pdf", PDF), code="business_licence")
    documents.validate_upload(SimpleUploadedFile("a.png", PNG), code="business_licence")


def test_upload_refuses_wrong_type_fake_content_and_oversize():
    with pytest.raises(ValidationError, match="file type not accepted"):
        documents.validate_upload(SimpleUploadedFile("a.exe", b"MZ"), code="business_licence")
    with pytest.raises(ValidationError, match="not a real PDF"):
        documents.validate_upload(SimpleUploadedFile("a.pdf", b"MZ\x90\x00"), code="business_licence")
    big = SimpleUploadedFile("a.pdf", PDF + b"0" * documents.MAX_UPLOAD_BYTES)
    with pytest.raises(ValidationError, match="the limit is 10 MB"):
        documents.validate_upload(big, code="business_licence")


def test_video_is_accepted_only_for_the_artist_video():
    documents.validate_upload(SimpleUploadedFile("v.mp4", b"\x00\x00\x00\x18ftyp"), code="artist_video")
    with pytest.raises(ValidationError):
        documents.validate_upload(SimpleUploadedFile("v.mp4", b"x"), code="business_licence")
