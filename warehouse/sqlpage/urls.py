from django.urls import path

from . import views

urlpatterns = [
    path("e/<str:schema>/sql/", views.sql_page, name="sql_page"),
    path("e/<str:schema>/sql/run", views.sql_run, name="sql_run"),
    path("e/<str:schema>/sql/cancel", views.sql_cancel, name="sql_cancel"),
    path("e/<str:schema>/sql/csv", views.sql_csv, name="sql_csv"),
    path("e/<str:schema>/sql/history", views.sql_history, name="sql_history"),
    path("e/<str:schema>/sql/saved/", views.saved_query_create, name="sql_saved_create"),
    path("e/<str:schema>/sql/saved/<int:saved_id>/", views.saved_query_update, name="sql_saved_update"),
    path("e/<str:schema>/sql/saved/<int:saved_id>/delete", views.saved_query_delete, name="sql_saved_delete"),
]
