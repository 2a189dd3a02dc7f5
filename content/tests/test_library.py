"""The materials library (issue 25): R-CONTENT-01 limits before the upload, the intent first
and an untrue state never left (R-CONTENT-03), the list synced from WeChat, deletes warned."""

import pytest

from content.errors import ContentError
from content.library import check_file, material_delete, material_upload, material_usage, materials_sync
from content.models import Material, MaterialStatus
from content.tests.conftest import JPEG, PNG

MP4 = b"\0\0\0\x18ftypmp42" + b"\0" * 100


@pytest.mark.parametrize(
    ("kind", "name", "data", "words"),
    [
        ("thumb", "a.png", PNG, "JPG"),
        ("thumb", "a.jpg", JPEG + b"\0" * 64 * 1024, "64 KB"),
        ("image", "a.jpg", b"MZ\x90\0", "not really"),
        ("voice", "a.mp3", b"ID3" + b"\0" * (2 * 1024 * 1024), "2 MB"),
        ("video", "a.mp4", MP4, "title"),
        ("image", "a.webp", b"RIFF", "BMP"),
        ("image", "a.jpg", b"", "empty"),
    ],
)
def test_r_content_01_a_wrong_or_oversize_file_is_refused_before_any_call(
    wechat, account, operator, kind, name, data, words
):
    with pytest.raises(ContentError) as caught:
        material_upload(account=account, kind=kind, filename=name, data=data, by=operator)
    assert words in caught.value.user_message
    assert not Material.objects.exists()
    assert wechat.state(account.appid).get("materials", {"count": 0})["count"] == 0


def test_the_checker_agrees_with_the_sandbox_on_what_wechat_takes(wechat, account, operator):
    """The validator and WeChat (the sandbox) agree: a file passing check_file is taken."""
    for kind, name, data in [("image", "a.png", PNG), ("thumb", "t.jpg", JPEG), ("video", "v.mp4", MP4)]:
        check_file(kind, name, data, title="片头")
        made = material_upload(
            account=account, kind=kind, filename=name, data=data, by=operator, title="片头"
        )
        assert made.status == MaterialStatus.READY and made.media_id


def test_a_refusal_is_said_with_its_code_and_leaves_no_row(wechat, account, operator, settings):
    wechat.force_error("/cgi-bin/material/add_material", 40005, times=1)
    with pytest.raises(ContentError) as caught:
        material_upload(account=account, kind="image", filename="a.png", data=PNG, by=operator)
    assert not Material.objects.exists()
    assert "40005" in caught.value.user_message


def test_r_content_03_an_unanswered_upload_is_unknown_then_settled_by_the_sync(wechat, account, operator):
    from accounts.wechat_api import client_for
    from wechat.api import materials as wx

    for name in ("lost.png", "arrived.png"):
        wechat.force_error("/cgi-bin/material/add_material", "drop", times=1)
        with pytest.raises(ContentError):
            material_upload(account=account, kind="image", filename=name, data=PNG, by=operator)
    assert set(Material.objects.values_list("status", flat=True)) == {MaterialStatus.UNKNOWN}
    # WeChat did act on the second one (as if its answer was lost on the way back)
    arrived = wx.add_material(client_for(account), "image", PNG, "arrived.png")["media_id"]
    result = materials_sync(account=account, by=operator)
    assert result.settled == 2
    lost, found = Material.objects.get(name="lost.png"), Material.objects.get(name="arrived.png")
    assert (lost.status, lost.media_id) == (MaterialStatus.FAILED, "")
    assert (found.status, found.media_id) == (MaterialStatus.READY, arrived)
    assert Material.objects.count() == 2  # adopted, not added twice


def test_the_sync_adds_what_wechat_has_and_removes_what_it_lost(wechat, account, operator):
    keep = material_upload(account=account, kind="image", filename="a.png", data=PNG, by=operator)
    gone = material_upload(account=account, kind="image", filename="b.png", data=PNG, by=operator)
    import requests

    requests.post(
        f"{wechat.base_url}/sandbox/materials/{account.appid}/bulk", json={"kind": "image", "count": 45}
    )
    from accounts.wechat_api import client_for
    from wechat.api import materials as wx

    wx.delete_material(client_for(account), gone.media_id)
    result = materials_sync(account=account, by=operator)
    assert (result.added, result.removed) == (45, 1)
    assert result.counts["image_count"] == 46
    assert set(Material.objects.values_list("media_id", flat=True)) >= {keep.media_id}
    assert Material.objects.count() == 46


def test_a_delete_names_the_drafts_using_the_material_and_deletes_on_wechat_first(
    wechat, account, operator, cover
):
    from content.drafts import draft_save
    from content.tests.conftest import article

    draft_save(account=account, articles=[article(cover)], by=operator)
    assert material_usage(cover) == ["draft “春季上新” (cover)"]
    wechat.force_error("/cgi-bin/material/del_material", 45009, times=1)
    with pytest.raises(ContentError):
        material_delete(material=cover, by=operator)
    assert Material.objects.filter(pk=cover.pk).exists()
    material_delete(material=cover, by=operator)
    assert not Material.objects.filter(pk=cover.pk).exists()
    assert wechat.state(account.appid)["materials"]["count"] == 0


def test_staff_cannot_upload_to_an_account_not_theirs(wechat, account):
    from accounts.tests.factories import UserFactory

    stranger = UserFactory(groups=["Operators"])
    with pytest.raises(ContentError):
        material_upload(account=account, kind="image", filename="a.png", data=PNG, by=stranger)
    assert not Material.objects.exists()


def test_r_post_05_an_uncertified_account_is_told_before_wechat_is_called(wechat, account, operator):
    account.certified_until = None
    account.save()
    with pytest.raises(ContentError) as caught:
        material_upload(account=account, kind="image", filename="a.png", data=PNG, by=operator)
    assert "certified" in caught.value.user_message
    assert not Material.objects.exists()
