from django.urls import include, path

from . import api, views

app_name = "definitions"

urlpatterns = [
    path("", include("definitions.browse.urls")),  # the raw data browser: /e/<schema>/raw/, /e/<schema>/users/
    path("", include("definitions.labeler.urls")),  # the visual labeler (docs/labeler.md)
    path("e/<str:schema>/definitions/", views.definition_index, name="index"),
    path("e/<str:schema>/definitions/new", views.definition_new, name="new"),
    path("e/<str:schema>/definitions/preview", views.definition_preview_fragment, name="preview"),
    path("e/<str:schema>/definitions/export", views.definition_export, name="export"),
    path("e/<str:schema>/definitions/import", views.definition_import, name="import"),
    path("e/<str:schema>/definitions/copy", views.definition_copy, name="copy"),
    path("e/<str:schema>/definitions/<int:pk>/", views.definition_edit, name="edit"),
    path("e/<str:schema>/definitions/<int:pk>/delete", views.definition_remove, name="delete"),
    path("e/<str:schema>/definitions/<int:pk>/sync", views.definition_sync, name="sync"),
    path("e/<str:schema>/definitions/<int:pk>/history", views.definition_history, name="history"),
    path(
        "e/<str:schema>/definitions/<int:pk>/history/<int:number>/restore",
        views.definition_restore_version,
        name="restore",
    ),
    path("api/definitions/<str:schema>/", api.collection, name="api-collection"),
    path("api/definitions/<str:schema>/validate", api.validate, name="api-validate"),
    path("api/definitions/<str:schema>/preview", api.preview, name="api-preview"),
    path("api/definitions/<str:schema>/export", api.export, name="api-export"),
    path("api/definitions/<str:schema>/import", api.import_, name="api-import"),
    path("api/definitions/<str:schema>/copy", api.copy, name="api-copy"),
    path("api/definitions/<str:schema>/<int:pk>", api.item, name="api-item"),
]
