"""The content pages as staff use them (issue 25): upload with the limits said on the form,
the list and its search, the picker, the delete warning, the editor (save, send, preview,
publish), copy; another tenant's rows answer 403/404."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from content.models import Draft, DraftStatus, Material, Publication, PublicationStatus
from content.tests.conftest import JPEG, PNG


@pytest.fixture
def staff(client, operator):
    client.force_login(operator)
    return client


def editor_post(account, cover, **fields):
    data = {
        "account": account.pk,
        "article-TOTAL_FORMS": "1",
        "article-INITIAL_FORMS": "0",
        "article-MIN_NUM_FORMS": "1",
        "article-MAX_NUM_FORMS": "8",
        "article-0-title": "春季上新",
        "article-0-author": "小编",
        "article-0-content": "<p>正文</p><script>x()</script>",
        "article-0-thumb_media_id": cover.media_id,
    }
    data.update(fields)
    return data


def test_an_upload_over_the_limit_is_refused_on_the_form_in_chinese(staff, wechat, account, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    big = SimpleUploadedFile("cover.jpg", JPEG + b"\0" * 70 * 1024, content_type="image/jpeg")
    response = staff.post(
        reverse("admin:content_material_add"),
        {"account": account.pk, "kind": "thumb", "file": big},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    assert "64 KB" in response.content.decode()
    assert not Material.objects.exists()


def test_an_upload_lands_in_the_list_and_the_picker(staff, wechat, account):
    image = SimpleUploadedFile("banner.png", PNG, content_type="image/png")
    response = staff.post(
        reverse("admin:content_material_add"), {"account": account.pk, "kind": "image", "file": image}
    )
    assert response.status_code == 302
    material = Material.objects.get()
    assert material.media_id
    listing = staff.get(reverse("admin:content_material_changelist"), {"q": "banner"})
    assert "banner.png" in listing.content.decode()
    picker = staff.get(
        reverse("admin:content_material_choices"), {"account": account.pk, "kind": "image"}
    ).json()
    assert [i["media_id"] for i in picker["items"]] == [material.media_id]
    preview = staff.get(reverse("admin:content_material_preview", args=[material.pk]))
    assert preview.status_code == 200 and preview.content == PNG


def test_the_picker_and_preview_refuse_another_tenants_account(client, wechat, account, cover):
    from accounts.tests.factories import UserFactory

    client.force_login(UserFactory(groups=["Operators"]))
    assert client.get(reverse("admin:content_material_choices"), {"account": account.pk}).status_code in (
        403,
        404,
    )
    assert client.get(reverse("admin:content_material_preview", args=[cover.pk])).status_code in (403, 404)


def test_the_delete_page_warns_about_a_draft_using_the_material(staff, wechat, account, cover):
    staff.post(reverse("admin:content_draft_add"), editor_post(account, cover))
    page = staff.get(reverse("admin:content_material_delete", args=[cover.pk])).content.decode()
    assert 'data-testid="material-in-use"' in page and "春季上新" in page


def test_the_editor_saves_says_what_was_removed_sends_previews_and_publishes(staff, wechat, account, cover):
    response = staff.post(
        reverse("admin:content_draft_add"), editor_post(account, cover, _push="1"), follow=True
    )
    draft = Draft.objects.get()
    assert draft.status == DraftStatus.SYNCED and "script" not in draft.articles[0]["content"]
    assert "&lt;script&gt; ×1" in response.content.decode()
    preview = staff.get(reverse("admin:content_draft_preview", args=[draft.pk])).content.decode()
    assert 'data-testid="phone-preview"' in preview and "<p>正文</p>" in preview
    assert staff.get(reverse("admin:content_draft_publish", args=[draft.pk])).status_code == 200
    staff.post(reverse("admin:content_draft_publish", args=[draft.pk]))
    publication = Publication.objects.get()
    assert publication.status == PublicationStatus.PUBLISHING


def test_a_draft_without_a_cover_is_refused_on_the_editor_and_nothing_saved(staff, wechat, account, cover):
    response = staff.post(
        reverse("admin:content_draft_add"), editor_post(account, cover, **{"article-0-thumb_media_id": ""})
    )
    assert response.status_code == 200 and 'data-testid="editor-error"' in response.content.decode()
    assert not Draft.objects.exists()


def test_another_tenants_draft_is_not_opened(client, wechat, account, cover, operator):
    from accounts.tests.factories import UserFactory
    from content.drafts import draft_save
    from content.tests.conftest import article

    draft = draft_save(account=account, articles=[article(cover)], by=operator).draft
    client.force_login(UserFactory(groups=["Operators"]))
    for name in (
        "content_draft_change",
        "content_draft_preview",
        "content_draft_copy",
        "content_draft_publish",
    ):
        assert client.get(reverse(f"admin:{name}", args=[draft.pk])).status_code in (302, 403, 404), name
    assert client.post(reverse("admin:content_draft_push", args=[draft.pk])).status_code in (403, 404)


def test_the_menu_editor_offers_the_library_picker_for_media_id_buttons(staff, wechat, account):
    page = staff.get(reverse("admin:menus_menu_editor", args=[account.pk])).content.decode()
    assert f"/admin/content/material/choices/?account={account.pk}" in page


def test_the_account_hub_shows_the_content_state(staff, wechat, account, cover):
    page = staff.get(reverse("admin:accounts_officialaccount_hub", args=[account.pk])).content.decode()
    assert "缩略图 1 个" in page or "1 thumbnails" in page
    assert f"/admin/content/draft/add/?account={account.pk}" in page


def test_save_and_send_refused_by_wechat_keeps_the_saved_version_and_says_why(staff, wechat, account, cover):
    wechat.force_error("/cgi-bin/draft/add", 45002, times=1)
    response = staff.post(
        reverse("admin:content_draft_add"), editor_post(account, cover, _push="1"), follow=True
    )
    draft = Draft.objects.get()
    assert draft.status == DraftStatus.FAILED and draft.versions.count() == 1
    assert "45002" in response.content.decode()
