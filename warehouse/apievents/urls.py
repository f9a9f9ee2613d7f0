from django.urls import path

from . import views

urlpatterns = [
    path("e/<str:schema>/api-events/<int:api_event_id>/", views.api_event_page, name="warehouse_api_event"),
    path("e/<str:schema>/api-events/<int:api_event_id>/sync", views.api_event_sync, name="warehouse_api_event_sync"),
]
