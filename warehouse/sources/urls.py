from django.urls import path

from . import views

urlpatterns = [
    path("e/<slug:schema>/sources/", views.sources_page, name="sources"),
    path("e/<slug:schema>/sources/attach", views.attach, name="sources_attach"),
    path("e/<slug:schema>/sources/detach", views.detach, name="sources_detach"),
    path("e/<slug:schema>/sources/upload", views.upload_csv, name="sources_upload"),
    path("e/<slug:schema>/sources/uploads/<int:upload_id>/", views.csv_upload, name="csv_upload"),
    path("e/<slug:schema>/sources/drop", views.drop_upload_table, name="sources_drop"),
]
