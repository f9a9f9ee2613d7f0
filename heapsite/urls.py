from functools import wraps

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.urls import URLPattern, include, path
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

from heapsite import docs, views


def superuser_only(view):
    """The RQ dashboard shows (and empties, requeues) every environment's jobs: superusers only."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied("the RQ dashboard shows every environment's jobs: superusers only")
        return view(request, *args, **kwargs)

    # Its templates carry inline scripts (the bulk-action checkboxes) and styles.
    return csp_update({"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE]})(wrapper)


rq_urlpatterns = [
    URLPattern(pattern.pattern, superuser_only(pattern.callback), pattern.default_args, pattern.name)
    for pattern in [*get_api_urlpatterns(), *get_admin_urlpatterns()]
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, the RQ dashboard's).
    path("favicon.ico", views.favicon, name="favicon"),
    path("js/labeler.js", views.labeler_script, name="labeler_script"),
    path("environments/new", views.environment_new, name="environment_new"),
    path("account/", views.account, name="account"),
    path("docs/", docs.docs_page, name="docs_index"),
    path("docs/<str:name>/", docs.docs_page, name="docs"),
    path("e/<str:schema>/", views.environment_home, name="environment_home"),
    path("e/<str:schema>/settings", views.environment_settings, name="environment_settings"),
    path("e/<str:schema>/delete", views.environment_delete_page, name="environment_delete"),
    path("e/<str:schema>/server-key/", views.environment_server_key_rotate, name="environment_server_key_rotate"),
    path(
        "e/<str:schema>/keyless-server-api/",
        views.environment_keyless_server_api,
        name="environment_keyless_server_api",
    ),
    path("e/<str:schema>/labeler-sites/", views.environment_labeler_sites, name="environment_labeler_sites"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/rq/", include((rq_urlpatterns, "django_rq"))),
    path("admin/", admin.site.urls),
    path("", include("warehouse.urls")),
    path("", include("definitions.urls")),
    path("demo/", include("demo.shop.urls")),
]
