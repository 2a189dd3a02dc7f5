"""The sidebar (complete, grouped by task), the dashboard's charts and the error pages."""

import json

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from accounts.tests.factories import UserFactory
from wxadmin import errors, navigation

pytestmark = pytest.mark.django_db


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def test_sidebar_names_every_registered_model_once_under_a_task(admin_user):
    groups = navigation.sidebar(_request(admin_user))
    links = [item["link"] for group in groups for item in group["items"]]
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert links.count(url) == 1, f"{opts.label} is not in the sidebar exactly once"
    titles = [str(group["title"]) for group in groups]
    assert titles[0] == "Accounts" and "More" not in titles  # every model has its group
    assert links[0] == reverse("admin:index")


def test_a_model_no_group_names_lands_in_more(admin_user, monkeypatch):
    monkeypatch.setattr(navigation, "GROUPS", navigation.GROUPS[:1])
    groups = navigation.sidebar(_request(admin_user))
    assert str(groups[-1]["title"]) == "More"
    assert reverse("admin:messaging_kfaccount_changelist") in [item["link"] for item in groups[-1]["items"]]


def test_sidebar_items_follow_the_users_permissions(client):
    operator = UserFactory(groups=["Operators"])
    client.force_login(operator)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:menus_menu_changelist") in page
    assert reverse("admin:django_celery_beat_periodictask_changelist") not in page
    assert reverse("admin:auth_user_changelist") not in page


def test_a_pages_sidebar_link_follows_the_permission_its_view_requires(client):
    """The conversations page states its permission once, on the view; the sidebar reads it."""
    from django.contrib.auth.models import Permission
    from django.urls import resolve

    from core.permissions import required_permission
    from messaging.conversations.views import VIEW_PERMISSION

    link = reverse("admin:messaging_workspace")
    assert required_permission(resolve(link).func) == VIEW_PERMISSION
    staff = UserFactory()
    assert link not in _links(navigation.sidebar(_request(staff)))
    assert client.get(link, follow=False).status_code == 302  # (not logged in: to the login)
    client.force_login(staff)
    assert client.get(link).status_code == 403
    app_label, codename = VIEW_PERMISSION.split(".")
    staff.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    staff = type(staff).objects.get(pk=staff.pk)  # no cached permissions
    assert link in _links(navigation.sidebar(_request(staff)))
    assert client.get(link).status_code == 200


def _links(groups) -> list[str]:
    return [item["link"] for group in groups for item in group["items"]]


def test_dashboard_charts_carry_their_figures_for_chartjs_from_our_static_files(admin_client):
    from certification.models import Order
    from certification.tests.factories import make_order

    make_order(until="in_review")  # paid: 300 CNY this month
    page = admin_client.get(reverse("admin:index"))
    html = page.content.decode()
    assert "unfold/js/chart/chart.js" in html and "cdn" not in html.lower()
    charts = [panel["chart"] for panel in page.context["panels"] if panel.get("chart")]
    data = [json.loads(chart["data"]) for chart in charts]
    labels = [d["datasets"][0]["label"] for d in data]
    fees = next((d for d in data if "认证费" in d["datasets"][0]["label"]), None)
    assert fees, labels
    assert sum(fees["datasets"][0]["data"]) == float(sum(o.fee for o in Order.objects.all()))
    assert html.count('class="chart"') == len(charts) >= 2


def test_404_and_403_are_in_the_admin_layout_in_chinese_with_a_way_back(admin_client, client):
    missing = admin_client.get("/admin/no-such-page/", HTTP_REFERER="/admin/")
    assert missing.status_code == 404
    text = missing.content.decode()
    assert "页面不存在" in text and 'data-testid="error-home"' in text
    assert "nav-sidebar" in text  # the admin's layout around it
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    outside = client.get("/no-such-page/")
    assert outside.status_code == 404 and "Page not found" in outside.content.decode()


def test_500_page_is_plain_translated_and_shows_no_detail(rf):
    from django.utils import translation

    with translation.override("zh-hans"):
        response = errors.server_error(rf.get("/admin/"))
    text = response.content.decode()
    assert response.status_code == 500
    assert "系统出错了" in text and 'href="/admin/"' in text and "Traceback" not in text


def test_groups_and_permissions_read_in_the_users_language(admin_client):
    from django.contrib.auth.models import Group

    operators = Group.objects.get(name="Operators")
    listing = admin_client.get(reverse("admin:auth_group_changelist")).content.decode()
    assert "运营" in listing and "财务" in listing and "管理员" in listing
    page = admin_client.get(reverse("admin:auth_group_change", args=[operators.pk]))
    text = page.content.decode()
    assert page.context["subtitle"] == "运营"
    assert "主体与公众号 | 公众号 | 可查看" in text  # not "Can view official account"
    assert "Can view" not in text


def active_links(client, url) -> list[str]:
    groups = client.get(url).context["sidebar_navigation"]
    return [item["link"] for group in groups for item in group["items"] if item.get("active")]


def test_one_sidebar_item_is_highlighted_on_a_page_under_another_items_link(admin_client):
    """issue 29 §5: the conversations page (…/outboundmessage/conversations/) lit up
    "outgoing messages" too; the longest matching link alone is active now."""
    for page in ("admin:messaging_workspace", "admin:messaging_outboundmessage_changelist"):
        assert active_links(admin_client, reverse(page)) == [reverse(page)]


def test_the_filter_button_says_the_same_word_as_every_other_list(admin_client):
    """issue 29 §5: Django's "过滤器" on the conversations page, "筛选" everywhere else."""
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = admin_client.get(reverse("admin:messaging_workspace")).content.decode()
    assert "筛选" in page and "过滤器" not in page


def test_staff_names_read_in_chinese_order():
    """issue 29 §8: 李娜, not "娜 李"; a Latin name keeps its order."""
    assert UserFactory(first_name="娜", last_name="李").get_full_name() == "李娜"
    assert UserFactory(first_name="Ada", last_name="Lovelace").get_full_name() == "Ada Lovelace"
    assert UserFactory(first_name="", last_name="").get_full_name() == ""


def test_sidebar_items_start_with_a_capital_in_english(admin_client):
    """issue 29 §8: "Entities", not "entities"."""
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    groups = admin_client.get(reverse("admin:index")).context["sidebar_navigation"]
    titles = [str(item["title"]) for group in groups for item in group["items"]]
    assert "Entities" in titles
    assert [t for t in titles if t[:1].islower()] == []


def test_staff_are_assigned_from_their_own_page_one_by_one_or_by_entity(admin_client):
    """issue 29 §8: the user's page assigns accounts, and every account of an entity at once."""
    from accounts.tests.factories import EntityFactory, OfficialAccountFactory

    entity = EntityFactory()
    of_entity = [OfficialAccountFactory(entity=entity), OfficialAccountFactory(entity=entity)]
    alone = OfficialAccountFactory()
    staff = UserFactory(groups=["Operators"], first_name="娜", last_name="李")
    url = reverse("admin:auth_user_change", args=[staff.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        "username": staff.username,
        "first_name": staff.first_name,
        "last_name": staff.last_name,
        "email": staff.email,
        "is_active": "on",
        "is_staff": "on",
        "groups": [g.pk for g in staff.groups.all()],
        "date_joined_0": form.initial["date_joined"].strftime("%Y-%m-%d"),
        "date_joined_1": form.initial["date_joined"].strftime("%H:%M:%S"),
        "assigned_accounts": [alone.pk],
        "assign_entities": [entity.pk],
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert set(staff.assigned_accounts.all()) == {alone, *of_entity}
    data.update(assigned_accounts=[of_entity[0].pk], assign_entities=[])
    assert admin_client.post(url, data).status_code == 302
    assert list(staff.assigned_accounts.all()) == [of_entity[0]]  # what the page says, nothing more


def test_the_sidebar_is_built_once_and_each_user_sees_only_their_entries(admin_user, monkeypatch):
    """issue 21: the entries (links, titles) are built once per language and kept; which of
    them a user sees is decided on every request, so a cached sidebar shows one user nothing
    another's permissions opened."""
    calls = []
    original = navigation.reverse

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(navigation, "reverse", counting)
    navigation._BUILT.clear()
    operator = UserFactory(groups=["Operators"])
    nobody = UserFactory()  # staff without a permission
    users = reverse("admin:auth_user_changelist")
    menus = reverse("admin:menus_menu_changelist")
    root = _links(navigation.sidebar(_request(admin_user)))
    built = len(calls)
    assert built > 50  # every entry's link, once
    for _ in range(2):
        assert users not in _links(navigation.sidebar(_request(operator)))
        assert menus in _links(navigation.sidebar(_request(operator)))
        assert not {users, menus} & set(_links(navigation.sidebar(_request(nobody))))
        assert _links(navigation.sidebar(_request(admin_user))) == root
    assert users in root and len(calls) == built  # nothing reversed again


def test_the_kept_sidebar_follows_the_language(admin_user):
    from django.utils import translation

    with translation.override("en"):
        english = navigation.sidebar(_request(admin_user))
    with translation.override("zh-hans"):
        chinese = navigation.sidebar(_request(admin_user))
    with translation.override("en"):
        again = navigation.sidebar(_request(admin_user))
    assert english[0]["title"] == again[0]["title"] == "Accounts"
    assert chinese[0]["title"] != "Accounts" and _links(chinese) == _links(english)


def test_an_admin_page_builds_djangos_app_list_only_where_it_shows_it(admin_client, client):
    """issue 21: `available_apps` (every model's permissions and URLs) is lazy: a page whose
    sidebar is ours never builds it; a user with an empty sidebar still gets unfold's list."""
    from django.contrib.admin.sites import AdminSite

    built = []
    original = AdminSite._build_app_dict

    def counting(self, request, label=None):
        built.append(label)
        return original(self, request, label)

    AdminSite._build_app_dict = counting
    try:
        page = admin_client.get(reverse("admin:menus_menu_changelist"))
        assert page.status_code == 200 and built == []
        apps = page.context["available_apps"]
        assert [app["app_label"] for app in apps] == [
            app["app_label"] for app in admin.site.get_app_list(page.wsgi_request)
        ]
        built.clear()
        assert admin_client.get(reverse("admin:index")).status_code == 200
        assert built == [None]  # the index lists the apps itself
    finally:
        AdminSite._build_app_dict = original
