from django.urls import include, path

from warehouse import views

urlpatterns: list = [
    path("api/", include("warehouse.ingest.urls")),
    path("", include("warehouse.sources.urls")),
    path("", include("warehouse.sqlpage.urls")),
    path("", include("warehouse.apievents.urls")),
    path("e/<str:schema>/sync/", views.sync_status_page, name="warehouse_sync_status"),
    path("e/<str:schema>/sync/progress.json", views.sync_progress, name="warehouse_sync_progress"),
    path("e/<str:schema>/sync/run", views.sync_now, name="warehouse_sync_now"),
    path("e/<str:schema>/sync/settings", views.sync_settings, name="warehouse_sync_settings"),
]
