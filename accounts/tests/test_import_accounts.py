"""Bulk onboarding: all rows or none, every bad row reported, re-import idempotent."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.importing import import_accounts_csv
from accounts.models import OfficialAccount
from accounts.tests.factories import EntityFactory, OfficialAccountFactory, UserFactory

pytestmark = pytest.mark.django_db
HEADER = "entity,name,wechat_id,original_id,appid,appsecret,token,encoding_aes_key,message_mode"


def row(owner, n, **overrides):
    values = {
        "entity": owner.full_name,
        "name": f"服务号{n}",
        "wechat_id": f"account_{n:04d}",
        "original_id": f"gh_{n:012x}",
        "appid": f"wx{n:016x}",
        "appsecret": f"{n:032x}",
        "token": f"Token{n}",
        "encoding_aes_key": f"{n:043d}",
        "message_mode": "safe",
    }
    values.update(overrides)
    return ",".join(values[column] for column in HEADER.split(","))


def csv_text(*rows) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_valid_file_creates_accounts_with_encrypted_credentials():
    entity = EntityFactory()
    report = import_accounts_csv(csv_text(row(entity, 1), row(entity, 2)))
    assert report.ok and report.created == 2
    account = OfficialAccount.objects.get(appid=f"wx{1:016x}")
    assert account.appsecret == f"{1:032x}"
    assert account.server_token == "Token1"


def test_one_bad_row_imports_nothing_and_reports_its_line():
    entity = EntityFactory()
    text = csv_text(row(entity, 1), row(entity, 2, appid="wxBAD"), row(entity, 3, token="x"))
    report = import_accounts_csv(text)
    assert not report.ok
    assert OfficialAccount.objects.count() == 0
    lines = {problem.line for problem in report.problems}
    assert lines == {3, 4}
    assert any("AppID" in problem.reason for problem in report.problems if problem.line == 3)


def test_problems_name_the_csv_column_not_the_model_field():
    """The column is `token`; the model's field behind it is `server_token` (issue 12)."""
    report = import_accounts_csv(csv_text(row(EntityFactory(), 1, token="x")))
    reasons = " ".join(problem.reason for problem in report.problems)
    assert "token:" in reasons and "server_token" not in reasons


def test_unknown_entity_is_reported():
    report = import_accounts_csv(csv_text(row(EntityFactory(), 1, entity="不存在的公司")))
    assert [problem.line for problem in report.problems] == [2]
    assert "不存在的公司" in report.problems[0].reason


def test_reimport_updates_by_appid_and_creates_no_duplicates():
    entity = EntityFactory()
    text = csv_text(row(entity, 1), row(entity, 2))
    assert import_accounts_csv(text).created == 2
    again = import_accounts_csv(text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    renamed = import_accounts_csv(csv_text(row(entity, 1, name="新名字"), row(entity, 2)))
    assert renamed.created == 0 and renamed.updated == 1
    assert OfficialAccount.objects.count() == 2
    assert OfficialAccount.objects.get(appid=f"wx{1:016x}").name == "新名字"


def test_duplicate_appid_within_a_file_is_rejected():
    entity = EntityFactory()
    report = import_accounts_csv(csv_text(row(entity, 1), row(entity, 1, name="again")))
    assert not report.ok
    assert OfficialAccount.objects.count() == 0


def test_missing_column_is_reported():
    report = import_accounts_csv("entity,name\n公司,号\n")
    assert not report.ok
    assert "appid" in report.problems[0].reason


def test_staff_cannot_overwrite_an_account_not_assigned_to_them():
    operator = UserFactory(groups=["Operators"])
    other = OfficialAccountFactory()
    report = import_accounts_csv(
        csv_text(row(other.entity, 7, appid=other.appid, original_id=other.original_id)), user=operator
    )
    assert not report.ok
    other.refresh_from_db()
    assert other.name != "服务号7"


def test_management_command_reports_rows_and_fails(tmp_path):
    entity = EntityFactory()
    path = tmp_path / "accounts.csv"
    path.write_text(csv_text(row(entity, 1, appsecret="short")), encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_accounts", str(path))
    assert OfficialAccount.objects.count() == 0
    path.write_text(csv_text(row(entity, 1)), encoding="utf-8")
    call_command("import_accounts", str(path))
    call_command("import_accounts", str(path))
    assert OfficialAccount.objects.count() == 1


def test_admin_import_page_reports_bad_rows(admin_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    entity = EntityFactory()
    upload = SimpleUploadedFile("a.csv", csv_text(row(entity, 1, appid="nope")).encode())
    response = admin_client.post(reverse("admin:accounts_officialaccount_import_csv"), {"file": upload})
    assert response.status_code == 200
    assert b'data-testid="import-problems"' in response.content
    assert OfficialAccount.objects.count() == 0
    good = SimpleUploadedFile("a.csv", csv_text(row(entity, 1)).encode())
    response = admin_client.post(reverse("admin:accounts_officialaccount_import_csv"), {"file": good})
    assert response.status_code == 302
    assert OfficialAccount.objects.count() == 1


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("明文", "plaintext"),
        ("兼容", "compatible"),
        ("安全", "safe"),
        ("安全模式", "safe"),
        ("明文模式", "plaintext"),
        ("compatible", "compatible"),
        ("Plaintext", "plaintext"),
    ],
)
def test_message_mode_accepts_the_chinese_names_and_the_codes(written, code):
    """Issue 29: the names shown in the UI (明文/兼容/安全) import as well as the codes."""
    entity = EntityFactory()
    report = import_accounts_csv(csv_text(row(entity, 7, message_mode=written)))
    assert report.ok, report.problems
    assert OfficialAccount.objects.get(appid=f"wx{7:016x}").message_mode == code


def test_unknown_message_mode_is_refused_naming_the_chinese_choices():
    entity = EntityFactory()
    report = import_accounts_csv(csv_text(row(entity, 8, message_mode="加密")))
    assert not report.ok
    assert "明文" in report.problems[0].reason
    assert not OfficialAccount.objects.exists()


def test_import_page_offers_a_template_whose_example_row_imports(admin_client):
    """Issue 29: the import page links a template with the header and an example row,
    and that row imports once its entity exists."""
    page = admin_client.get(reverse("admin:accounts_officialaccount_import_csv"))
    url = reverse("admin:accounts_officialaccount_import_template")
    assert url in page.content.decode()
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == HEADER
    EntityFactory(full_name="示例科技有限公司")
    report = import_accounts_csv(text)
    assert report.ok, report.problems
    assert OfficialAccount.objects.get().message_mode == "safe"
