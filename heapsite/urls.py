from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from heapsite import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("e/<str:schema>/", views.environment_home, name="environment_home"),
    path("e/<str:schema>/server-key/", views.environment_server_key_rotate, name="environment_server_key_rotate"),
    path(
        "e/<str:schema>/keyless-server-api/",
        views.environment_keyless_server_api,
        name="environment_keyless_server_api",
    ),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/rq/", include("django_rq.urls")),
    path("admin/", admin.site.urls),
    path("", include("warehouse.urls")),
    path("", include("definitions.urls")),
    path("demo/", include("heapsite.demo_site.urls")),
]
