"""The editor's JSON endpoints (mounted at /menus/)."""

from django.urls import path

from . import views

app_name = "menus"
urlpatterns = [
    path("<int:account_pk>/state/", views.state, name="state"),
    path("<int:account_pk>/validate/", views.validate, name="validate"),
    path("<int:account_pk>/draft/", views.save_draft, name="save_draft"),
    path("<int:account_pk>/discard/", views.discard_draft, name="discard_draft"),
    path("<int:account_pk>/publish/", views.publish, name="publish"),
    path("<int:account_pk>/latest/", views.latest_version, name="latest_version"),
    path("<int:account_pk>/pull/", views.pull, name="pull"),
    path("<int:account_pk>/delete-remote/", views.delete_remote, name="delete_remote"),
    path("<int:account_pk>/remote/", views.remote, name="remote"),
    path("<int:account_pk>/export.json", views.export_json, name="export"),
    path("<int:account_pk>/import/", views.import_json, name="import"),
    path("<int:account_pk>/copy/", views.copy_to, name="copy"),
    path("fanouts/<int:pk>/progress/", views.fanout_progress, name="fanout_progress"),
]

# Conditional (personalised) menus: try a user, list and delete WeChat's copies.
from . import views_conditional  # noqa: E402

urlpatterns += [
    path("<int:account_pk>/trymatch/", views_conditional.try_match, name="trymatch"),
    path(
        "<int:account_pk>/conditional/remote/",
        views_conditional.remote_conditional,
        name="conditional_remote",
    ),
    path(
        "<int:account_pk>/conditional/delete/",
        views_conditional.delete_conditional,
        name="conditional_delete",
    ),
]
