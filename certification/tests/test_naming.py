"""The naming check (R-CERT-08 enterprise, R-CERT-09 media)."""

from certification.naming import check_name

ENTERPRISE = {
    "kind": "enterprise",
    "subtype": "general_enterprise",
    "full_name": "深圳市示例科技有限公司",
    "short_name": "示例科技",
}


def test_enterprise_name_with_full_or_short_name_passes_r_cert_08():
    assert check_name(account_name="深圳市示例科技有限公司", **ENTERPRISE).ok
    assert check_name(account_name="示例科技服务", **ENTERPRISE).ok


def test_enterprise_name_with_trademark_passes_but_asks_for_its_document_r_cert_08():
    result = check_name(
        account_name="小蓝鲸生活", trademark_name="小蓝鲸", trademark_document="certificate", **ENTERPRISE
    )
    assert result.ok and "certificate" in result.reason


def test_trademark_backed_by_acceptance_notice_is_flagged_as_unprotected_r_cert_08():
    result = check_name(
        account_name="小蓝鲸生活",
        trademark_name="小蓝鲸",
        trademark_document="acceptance_notice",
        **ENTERPRISE,
    )
    assert result.ok and "not protected" in result.reason


def test_artist_name_passes_only_for_artist_authorised_companies_r_cert_08():
    artist = {**ENTERPRISE, "subtype": "artist_agency"}
    assert check_name(account_name="王小明工作室", artist_name="王小明", **artist).ok
    assert not check_name(account_name="王小明工作室", artist_name="王小明", **ENTERPRISE).ok


def test_enterprise_name_without_any_basis_fails_with_reason_r_cert_08():
    result = check_name(account_name="好吃的", **ENTERPRISE)
    assert not result.ok and "full or short name" in result.reason
    assert "R-CERT" not in result.reason  # staff read words, not rule codes


def test_media_name_may_use_a_licensed_title_r_cert_09():
    media = {"kind": "media", "subtype": "newspaper", "full_name": "示例日报社", "short_name": ""}
    assert check_name(account_name="示例日报社", **media).ok
    assert check_name(account_name="晨光周刊", media_title="晨光周刊", **media).ok
    assert not check_name(account_name="晨光周刊", **media).ok


def test_online_media_name_must_contain_the_institution_name_r_cert_09():
    online = {
        "kind": "media",
        "subtype": "online_media",
        "full_name": "示例网络传媒有限公司",
        "short_name": "示例网",
    }
    assert check_name(account_name="示例网新闻", **online).ok
    result = check_name(account_name="今日快讯", media_title="今日快讯", **online)
    assert not result.ok and "institution's name" in result.reason
