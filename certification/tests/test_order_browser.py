"""One order walked from the agreements to success in a real browser (Chromium)."""

from pathlib import Path

import pytest

from accounts.tests.factories import UserFactory
from certification.models import Order, OrderStatus
from certification.tests.factories import PDF, make_account, review_company

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def click_transition(page, name):
    """Inline transitions are POST buttons; others open their form page."""
    button = page.locator(f"#transitions button[value={name}]")
    if button.count():
        button.click()
    else:
        page.locator(f"#transitions a[data-transition={name}]").click()
    page.wait_for_load_state("load")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_walk_an_order_from_agreements_to_success_in_the_admin_r_cert_02(
    page, live_server, admin_login, tmp_path
):
    user = UserFactory(username="cert-finance", groups=["Finance"])
    account = make_account(staff=[user])
    company = review_company()
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(PDF)

    admin_login("cert-finance")
    page.wait_for_load_state("load")

    # Open the order in the admin (R-CERT-01: a service account of an enterprise).
    page.goto(f"{live_server.url}/admin/certification/order/add/")
    # The account is a searchable choice (autocomplete), scoped to the user's accounts.
    make_account(name="别人的服务号")  # not assigned to this user: never offered
    page.locator(".field-account .select2-selection, #id_account ~ .select2 .select2-selection").first.click()
    page.locator(".select2-search__field").fill("服务号")
    page.locator(".select2-results__option", has_text=account.name).first.wait_for()
    assert page.locator(".select2-results__option", has_text="别人的服务号").count() == 0
    page.locator(".select2-results__option", has_text=account.name).first.click()
    page.select_option("select[name=kind]", "initial")
    page.locator("button[name=_continue], input[name=_continue]").first.click()
    page.wait_for_load_state("load")
    order = Order.objects.get(account=account)
    assert f"/admin/certification/order/{order.pk}/change/" in page.url

    # R-CERT-02: agreements, one after the other.
    click_transition(page, "accept_service_agreement")
    click_transition(page, "accept_naming_rules")

    # Data: the operator, and every required document as an upload.
    page.fill("input[name=operator_name]", "李四")
    ids = list(order.documents.values_list("pk", flat=True))
    for document in order.documents.filter(required=True):
        index = ids.index(document.pk)
        if document.kind == "file":
            page.set_input_files(f"input[name='documents-{index}-file']", str(scan))
        elif not document.value:
            page.fill(f"input[name='documents-{index}-value']", "1000")
    page.locator("button[name=_continue], input[name=_continue]").first.click()
    page.wait_for_load_state("load")
    if page.locator("#missing-documents").count():
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "certification-debug.png"), full_page=True)
        pytest.fail(
            page.locator("#missing-documents").inner_text()
            + page.locator(".errornote, .errorlist").all_inner_texts().__repr__()
        )
    click_transition(page, "complete_data")

    # Invoice, then payment by WeChat Pay: the order enters review.
    click_transition(page, "choose_invoice")
    page.select_option("select[name=invoice_type]", "vat_ordinary")
    page.fill("input[name=mailing_address]", "深圳市南山区科技园 1 号")
    page.click("#confirm-transition")
    page.wait_for_load_state("load")
    click_transition(page, "pay")
    page.fill("input[name=transaction_id]", "abc")  # not a WeChat Pay transaction ID
    page.select_option("select[name=review_company]", str(company.pk))
    page.click("#confirm-transition")
    page.wait_for_load_state("load")
    assert "28 位" in page.locator("#transition-form").inner_text()  # the page is in Chinese
    page.fill("input[name=transaction_id]", "4200001234202611290000000099")
    page.select_option("select[name=review_company]", str(company.pk))
    page.click("#confirm-transition")
    page.wait_for_load_state("load")
    assert page.locator("#review-due").is_visible()  # R-CERT-11: due date with days left
    assert company.hotline in page.locator("#review-company").inner_text()  # R-CERT-15

    click_transition(page, "succeed")  # asks for a confirmation first
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_REVIEW
    assert page.locator("#confirm-consequences").is_visible()
    page.click("#confirm-transition")
    page.wait_for_load_state("load")
    order.refresh_from_db()
    assert order.status == OrderStatus.SUCCEEDED
    reminder = page.locator("#reminder-on").inner_text()
    assert order.annual_review_remind_on.isoformat() in reminder  # R-POST-02
    assert page.locator("#valid-until").is_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "certification-order-succeeded.png"), full_page=True)

    # The order list: colour-coded invoice deadline (R-CERT-10) of the completed order.
    page.goto(f"{live_server.url}/admin/certification/order/")
    assert page.locator(".cert-deadline.cert-success").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "certification-order-list.png"), full_page=True)

    # R-CERT-16: the badge on the account list.
    page.goto(f"{live_server.url}/admin/accounts/officialaccount/")
    badge = page.locator(".cert-badge.cert-ok").first
    assert badge.is_visible()
    assert order.valid_until.isoformat() in badge.get_attribute("title")
    page.screenshot(path=str(ARTIFACTS / "certification-account-badge.png"), full_page=True)
