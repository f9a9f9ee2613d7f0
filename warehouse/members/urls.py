from django.urls import path

from . import views

urlpatterns = [
    path("e/<str:schema>/members/", views.members_page, name="members"),
    path("e/<str:schema>/members/add", views.members_add, name="members_add"),
    path("e/<str:schema>/members/<int:membership_id>/", views.members_update, name="members_update"),
    path("e/<str:schema>/members/<int:membership_id>/remove", views.members_remove, name="members_remove"),
]
