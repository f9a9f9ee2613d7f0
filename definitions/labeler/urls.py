from django.urls import path

from . import views

urlpatterns = [
    path("e/<str:schema>/labeler/launch", views.labeler_launch_page, name="labeler_launch"),
    path("api/labeler/<str:schema>/session", views.session, name="labeler_session"),
    path("api/labeler/<str:schema>/count", views.count, name="labeler_count"),
    path("api/labeler/<str:schema>/clickmap", views.clickmap, name="labeler_clickmap"),
    path("api/labeler/<str:schema>/definitions", views.definitions, name="labeler_definitions"),
]
