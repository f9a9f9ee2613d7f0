from django.urls import include, path

urlpatterns: list = [
    path("api/", include("warehouse.ingest.urls")),
    path("", include("warehouse.sources.urls")),
    path("", include("warehouse.sqlpage.urls")),
]
