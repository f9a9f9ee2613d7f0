from django.urls import path, re_path

from . import views

app_name = "demo"

urlpatterns = [
    path("", views.home, name="home"),
    path("newsletter/", views.newsletter, name="newsletter"),
    path("pricing/", views.pricing, name="pricing"),
    path("signup/", views.signup, name="signup"),
    path("signup/welcome/", views.welcome, name="welcome"),
    path("login/", views.login, name="login"),
    path("blog/", views.blog_list, name="blog"),
    path("blog/<slug:slug>/", views.blog_post, name="post"),
    # The single-page app routes on the client; every path under app/ serves the same shell.
    path("app/", views.spa, name="app"),
    re_path(r"^app/(?:.+)$", views.spa, name="app_route"),
]
