"""Property-based (Hypothesis): the admin forms issue 9 found answering 500 now answer any
input with a non-5xx page and leave no partial row — the keyword-rule list (list_editable,
with other accounts' or made-up rule ids), the keyword-rule form (any pattern) and the KF
avatar (any bytes under any name; JPG/PNG by content only, at most 2 MB)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.tests.factories import OfficialAccountFactory, UserFactory
from messaging.models import KeywordRule, KfOperation, KfOperationAction
from messaging.tests.factories import KeywordRuleFactory, KfAccountFactory

# Deterministic (derandomize) so CI never meets an example a developer did not.
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JPEG, PNG = b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def tenant(client):
    operator = UserFactory(groups=["Operators"])
    mine = KeywordRuleFactory(account=OfficialAccountFactory(assigned_staff=[operator]), priority=1)
    theirs = KeywordRuleFactory(priority=7, is_active=True)
    client.force_login(operator)
    return {"operator": operator, "mine": mine, "theirs": theirs}


row_id = st.one_of(st.sampled_from(["mine", "theirs"]), st.integers(-2, 2**63).map(str), st.text(max_size=12))
row = st.tuples(row_id, st.one_of(st.integers(-(2**40), 2**40).map(str), st.text(max_size=8)), st.booleans())


@pytest.mark.django_db
@PROPERTY
@given(rows=st.lists(row, min_size=1, max_size=3))
def test_keyword_rule_list_save_never_500s_nor_touches_another_accounts_rule(client, tenant, rows):
    theirs = tenant["theirs"]
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "save",
    }
    for index, (pk, priority, active) in enumerate(rows):
        pk = {"mine": str(tenant["mine"].pk), "theirs": str(theirs.pk)}.get(pk, pk)
        data[f"form-{index}-id"] = pk
        data[f"form-{index}-priority"] = priority
        if active:
            data[f"form-{index}-is_active"] = "on"
    count = KeywordRule.objects.count()
    response = client.post(reverse("admin:messaging_keywordrule_changelist"), data)
    assert response.status_code < 500
    assert KeywordRule.objects.count() == count
    assert KeywordRule.objects.filter(pk=theirs.pk, priority=7, is_active=True).exists()


@pytest.mark.django_db
@PROPERTY
@given(
    match_type=st.sampled_from(["exact", "contains", "regex", "", "bogus"]),
    pattern=st.text(max_size=40),
    priority=st.text(max_size=6),
)
def test_keyword_rule_form_never_500s_and_saves_only_valid_rules(
    client, tenant, match_type, pattern, priority
):
    mine = tenant["mine"]
    count = KeywordRule.objects.count()
    response = client.post(
        reverse("admin:messaging_keywordrule_add"),
        {
            "account": mine.account_id,
            "name": "规则",
            "match_type": match_type,
            "pattern": pattern,
            "priority": priority,
            "is_active": "on",
            "reply_type": "text",
            "reply_text": "您好",
        },
    )
    assert response.status_code < 500
    created = KeywordRule.objects.count() - count
    assert created == (1 if response.status_code == 302 else 0)
    KeywordRule.objects.exclude(pk__in=[mine.pk, tenant["theirs"].pk]).delete()


@pytest.mark.django_db
@PROPERTY
@given(
    head=st.sampled_from([b"", JPEG, PNG, b"<html><script>", b"GIF89a", b"%PDF"]),
    body=st.binary(max_size=64),
    name=st.sampled_from(["face.png", "face.jpg", "face.html", "face", "x.gif", "a.PNG"]),
)
def test_kf_avatar_is_accepted_by_content_only_and_never_500s(client, tenant, head, body, name):
    kf = KfAccountFactory(account=tenant["mine"].account)
    before = KfOperation.objects.filter(action=KfOperationAction.AVATAR).count()
    upload = SimpleUploadedFile(name, head + body, content_type="application/octet-stream")
    response = client.post(
        reverse("admin:messaging_kfaccount_change", args=[kf.pk]),
        {"new_nickname": kf.nickname, "avatar": upload},
    )
    assert response.status_code < 500
    queued = KfOperation.objects.filter(action=KfOperationAction.AVATAR).count() - before
    content = head + body
    is_image = bool(content) and content.startswith((JPEG[:3], PNG))
    assert queued == (1 if is_image else 0)
    assert (response.status_code == 302) is is_image


@pytest.mark.django_db
def test_kf_avatar_over_2_mb_is_refused_with_an_answer(client, tenant):
    kf = KfAccountFactory(account=tenant["mine"].account)
    upload = SimpleUploadedFile("big.jpg", JPEG + b"0" * (2 * 1024 * 1024))
    response = client.post(
        reverse("admin:messaging_kfaccount_change", args=[kf.pk]),
        {"new_nickname": kf.nickname, "avatar": upload},
    )
    assert response.status_code == 200
    assert "2 MB" in response.content.decode()
    assert not KfOperation.objects.filter(action=KfOperationAction.AVATAR).exists()
