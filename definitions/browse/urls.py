from django.urls import path

from . import views

urlpatterns = [
    path("e/<str:schema>/raw/", views.raw_events, name="raw_events"),
    path("e/<str:schema>/raw/export.csv", views.raw_events_csv, name="raw_events_csv"),
    path("e/<str:schema>/raw/top/", views.raw_top, name="raw_top"),
    path("e/<str:schema>/raw/<int:event_id>/", views.raw_event, name="raw_event"),
    path("e/<str:schema>/users/", views.users, name="users"),
    path("e/<str:schema>/users/<int:user_id>/", views.user, name="user"),
]
