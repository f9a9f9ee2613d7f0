from django.urls import include, path

urlpatterns: list = [
    path("", include("definitions.browse.urls")),
]
