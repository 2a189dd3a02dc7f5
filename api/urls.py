from django.conf import settings
from django.urls import path

from .views import api

urlpatterns: list = [path("v1/", api.urls)]

if settings.WXADMIN_BENCH_VIEWS:  # the baseline of bench/api_token.py: a bare view, a constant
    from django.http import JsonResponse

    def constant(request, appid):
        return JsonResponse({"access_token": "constant", "expires_in": 7200, "source": "classic"})

    urlpatterns.insert(0, path("_bench/constant/<str:appid>/", constant, name="api_bench_constant"))
