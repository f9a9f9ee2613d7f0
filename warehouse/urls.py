from django.urls import include, path

from warehouse import views
from warehouse.ingest import script
from warehouse.ingest.urls import segment_urlpatterns

urlpatterns: list = [
    path("api/", include("warehouse.ingest.urls")),
    path("v1/", include(segment_urlpatterns)),
    # Heap's classic snippet loads heap-<app id>.js: change its host to this server and it works.
    path("js/heap-<str:app_id>.js", script.heap_script, name="heap-script"),
    path("", include("warehouse.sources.urls")),
    path("", include("warehouse.sqlpage.urls")),
    path("", include("warehouse.privacy.urls")),
    path("", include("warehouse.members.urls")),
    path("", include("warehouse.apievents.urls")),
    path("e/<str:schema>/sync/", views.sync_status_page, name="warehouse_sync_status"),
    path("e/<str:schema>/sync/progress.json", views.sync_progress, name="warehouse_sync_progress"),
    path("e/<str:schema>/sync/run", views.sync_now, name="warehouse_sync_now"),
    path("e/<str:schema>/sync/settings", views.sync_settings, name="warehouse_sync_settings"),
]
