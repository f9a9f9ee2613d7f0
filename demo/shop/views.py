"""The demo product site: public pages that carry the snippet for the demo environment."""

from csp.constants import UNSAFE_INLINE
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .forms import PLANS, LoginForm, NewsletterForm, SignupForm
from .posts import POSTS, post_by_slug
from .selectors import ENVIRONMENT_COOKIE, demo_environment, demo_environment_name

COLLECT_PATH = "/api/collect"


def render_demo(request: HttpRequest, template: str, context: dict | None = None) -> HttpResponse:
    """Render a demo page with the snippet for the chosen environment (or a friendly notice)."""
    schema = demo_environment_name(request)
    environment = demo_environment(schema=schema, user=request.user)
    snippet = None
    # Where heap.js comes from and sends to: HEAPSITE_URL makes the demo a site of its own origin, as a
    # customer's is (its CSP then names heapsite, as docs/labeler.md tells customers to).
    heapsite = settings.HEAPSITE_URL
    if environment is not None:
        snippet = {
            "app_id": environment.app_id,
            "endpoint": heapsite + COLLECT_PATH if heapsite else request.build_absolute_uri(COLLECT_PATH),
            "script": heapsite + static("heap.js") if heapsite else request.build_absolute_uri(static("heap.js")),
        }
    response = render(request, template, {"schema": schema, "snippet": snippet, **(context or {})})
    # The demo stands for a customer's website, whose snippet is an inline script (the app's own pages refuse those).
    response._csp_update = {"script-src": [UNSAFE_INLINE, *([heapsite] if heapsite else [])]}
    if heapsite:
        response._csp_update["connect-src"] = [heapsite]
    if environment is not None and request.GET.get("env"):
        response.set_cookie(ENVIRONMENT_COOKIE, schema, samesite="Lax", httponly=True)
    return response


@login_not_required
@require_GET
def home(request):
    subscribed = request.session.pop("demo_newsletter", False)
    return render_demo(request, "demo/home.html", {"posts": POSTS[:2], "subscribed": subscribed})


@login_not_required
@require_POST
def newsletter(request):
    # A POST, so the address never lands in a URL (and from there in pageviews.query); nothing is stored.
    if NewsletterForm(request.POST).is_valid():
        request.session["demo_newsletter"] = True
    return redirect(reverse("demo:home") + "#newsletter")


@login_not_required
@require_GET
def pricing(request):
    return render_demo(request, "demo/pricing.html")


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            # Nothing is stored: the welcome page only needs who signed up, to identify them.
            request.session["demo_signup"] = {"email": form.cleaned_data["email"], "plan": form.cleaned_data["plan"]}
            return redirect("demo:welcome")
    else:
        plan = request.GET.get("plan")
        form = SignupForm(initial={"plan": plan if plan in dict(PLANS) else "pro"})
    return render_demo(request, "demo/signup.html", {"form": form})


@login_not_required
@require_http_methods(["GET", "POST"])
def login(request):
    """Any email and password log in (the demo has no accounts): the app then identifies that person."""
    if request.method == "POST":
        form = LoginForm(request.POST)
        if form.is_valid():
            request.session["demo_login"] = form.cleaned_data["email"]
            return redirect("demo:app")
    else:
        form = LoginForm()
    return render_demo(request, "demo/login.html", {"form": form})


@login_not_required
@require_GET
def welcome(request):
    signup = request.session.pop("demo_signup", None)
    if signup is None:
        return redirect("demo:signup")
    return render_demo(request, "demo/welcome.html", {"signup": signup})


@login_not_required
@require_GET
def blog_list(request):
    return render_demo(request, "demo/blog_list.html", {"posts": POSTS})


@login_not_required
@require_GET
def blog_post(request, slug: str):
    post = post_by_slug(slug)
    if post is None:
        raise Http404("no such post")
    related = [other for other in POSTS if other.slug != slug]
    return render_demo(request, "demo/blog_post.html", {"post": post, "related": related})


@login_not_required
@require_GET
def spa(request):
    # Who just logged in, to identify them once (nothing is stored).
    return render_demo(request, "demo/app.html", {"login": request.session.pop("demo_login", None)})
