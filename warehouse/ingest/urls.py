from django.urls import path

from . import views

urlpatterns = [
    path("collect", views.collect, name="ingest-collect"),
    path("track", views.track, name="ingest-track"),
    path("identify", views.identify, name="ingest-identify"),
    path("add_user_properties", views.add_user_properties, name="ingest-add-user-properties"),
]
