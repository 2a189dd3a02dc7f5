from django.urls import path

from . import views

app_name = "certification"
urlpatterns = [
    path("documents/<int:pk>/", views.document_download, name="document_download"),
    path("orders/<int:pk>/deposit-receipt/", views.deposit_download, name="deposit_download"),
]
