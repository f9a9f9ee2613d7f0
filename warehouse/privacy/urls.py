from django.urls import path

from . import api, views

urlpatterns = [
    path("api/public/v0/user_deletion", api.user_deletion, name="privacy-user-deletion"),
    path("api/public/v0/deletion_status/<str:request_id>", api.deletion_status, name="privacy-deletion-status"),
    path("e/<str:schema>/users/<int:user_id>/delete", views.user_delete, name="privacy_user_delete"),
    path("e/<str:schema>/privacy/settings", views.privacy_settings, name="privacy_settings"),
]
