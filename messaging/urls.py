from django.conf import settings
from django.urls import path

from . import views

app_name = "messaging"
urlpatterns = [
    path("simulate/<int:account_pk>/", views.simulate, name="simulate"),
    path("<str:appid>/", views.callback, name="callback"),
]

if settings.WXADMIN_BENCH_VIEWS:  # the baselines of bench/callback_throughput.py
    from . import bench_views

    urlpatterns[:0] = [
        path("_bench/crypto-only/<str:appid>/", bench_views.crypto_only, name="bench_crypto_only"),
        path(
            "_bench/straightforward/<str:appid>/", bench_views.straightforward, name="bench_straightforward"
        ),
    ]
