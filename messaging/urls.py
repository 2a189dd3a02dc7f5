from django.conf import settings
from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("simulate/<int:account_pk>/", views.simulate, name="simulate"),
    path("<str:appid>/", views.callback, name="callback"),
]

if settings.WXADMIN_BENCH_VIEWS:
    urlpatterns.insert(0, path("_bench/plain/", views.bench_plain, name="bench_plain"))
