from django.urls import path

from . import views
from .segment import views as segment_views

urlpatterns = [
    path("collect", views.collect, name="ingest-collect"),
    path("track", views.track, name="ingest-track"),
    path("identify", views.identify, name="ingest-identify"),
    # Heap's server-side identify API (same body as /api/identify).
    path("v1/identify", views.identify, name="ingest-heap-identify"),
    path("add_user_properties", views.add_user_properties, name="ingest-add-user-properties"),
]

# Segment's HTTP Tracking API (also RudderStack's), mounted at /v1/ by warehouse/urls.py.
segment_urlpatterns = [
    path("batch", segment_views.batch, name="segment-batch"),
    *(
        path(kind, segment_views.single(kind), name=f"segment-{kind}")
        for kind in ("track", "identify", "page", "screen", "group", "alias")
    ),
]
