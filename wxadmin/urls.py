from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# Each app owns its public URLs (the WeChat callback, private downloads, editor APIs).
urlpatterns += [
    path("wechat/", include("messaging.urls")),
    path("menus/", include("menus.urls")),
    path("certification/", include("certification.urls")),
    path("api/", include("api.urls")),
]

# Error pages in the admin's layout, in the user's language, with a way back (wxadmin/errors.py).
handler403 = "wxadmin.errors.permission_denied"
handler404 = "wxadmin.errors.page_not_found"
handler500 = "wxadmin.errors.server_error"
