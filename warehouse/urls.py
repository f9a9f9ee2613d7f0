from django.urls import include, path

urlpatterns: list = [
    path("", include("warehouse.sqlpage.urls")),
]
