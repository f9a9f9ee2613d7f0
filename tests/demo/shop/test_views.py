"""The demo site: public pages carrying the snippet for the chosen environment."""

import pytest

from demo.shop.posts import POSTS
from warehouse.models import Membership, Role

pytestmark = pytest.mark.django_db

PAGES = [
    "/demo/",
    "/demo/pricing/",
    "/demo/signup/",
    "/demo/blog/",
    f"/demo/blog/{POSTS[0].slug}/",
    "/demo/app/",
    "/demo/app/boards/1",
    "/demo/app/settings",
]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_is_public_and_carries_the_snippet(client, environment, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'heap.load("{environment.app_id}",{{endpoint:"http://testserver/api/collect"' in html
    assert 'script:"http://testserver/static/heap.js"' in html
    assert "does not exist yet" not in html


def test_missing_environment_gets_a_friendly_notice_and_no_snippet(client, db, settings):
    settings.DEMO_ENVIRONMENT = "main_production"
    response = client.get("/demo/pricing/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The demo environment <code>main_production</code> does not exist yet" in html
    assert "heap.load(" not in html
    assert "Choose Pro" in html  # the site itself still works


def test_env_query_parameter_picks_the_environment_and_is_remembered(admin_client, make_environment):
    make_environment("main", "production")
    staging = make_environment("shop", "staging")
    response = admin_client.get("/demo/?env=shop_staging")
    assert f'heap.load("{staging.app_id}"' in response.content.decode()
    # Later pages (no parameter) keep it.
    assert f'heap.load("{staging.app_id}"' in admin_client.get("/demo/blog/").content.decode()
    assert "does not exist yet" in admin_client.get("/demo/?env=nope").content.decode()


def test_a_stranger_points_the_demo_only_at_the_demo_environment(client, make_environment, django_user_model):
    # The demo is public: anyone guessing a schema name would otherwise get its environment's app id.
    production = make_environment("main", "production")
    staging = make_environment("shop", "staging")
    hidden = client.get("/demo/?env=shop_staging").content.decode()
    assert staging.app_id not in hidden and "does not exist yet" in hidden
    assert f'heap.load("{production.app_id}"' in client.get("/demo/?env=main_production").content.decode()
    member = django_user_model.objects.create_user("member")
    Membership.objects.create(environment=staging, user=member, role=Role.VIEWER)
    client.force_login(member)
    assert f'heap.load("{staging.app_id}"' in client.get("/demo/?env=shop_staging").content.decode()


def test_demo_environment_setting(client, make_environment, settings):
    make_environment("main", "production")
    development = make_environment("main", "development")
    settings.DEMO_ENVIRONMENT = "main_development"
    assert f'heap.load("{development.app_id}"' in client.get("/demo/").content.decode()


def test_signup_shows_errors_then_welcomes_and_identifies(client, environment):
    response = client.post("/demo/signup/", {"name": "", "email": "not-an-email", "password": "short"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "Please accept the terms to continue." in html
    assert 'value="not-an-email"' in html
    assert "short" not in html  # passwords are never echoed back

    data = {
        "name": "Alice",
        "email": "alice@example.com",
        "password": "long enough",
        "team_size": "1-10",
        "plan": "enterprise",
        "terms": "on",
    }
    response = client.post("/demo/signup/", data)
    assert response.status_code == 302
    assert response["Location"] == "/demo/signup/welcome/"
    welcome = client.get("/demo/signup/welcome/").content.decode()
    assert '{"email": "alice@example.com", "plan": "enterprise"}' in welcome
    assert "heap.identify(signup.email)" in welcome
    # The welcome is shown once; coming back without signing up goes to the form.
    assert client.get("/demo/signup/welcome/")["Location"] == "/demo/signup/"


def test_plan_from_the_pricing_page_is_preselected(client, environment):
    html = client.get("/demo/signup/?plan=starter").content.decode()
    assert '<option value="starter" selected>' in html
    html = client.get("/demo/signup/?plan=bogus").content.decode()
    assert '<option value="pro" selected>' in html


def test_unknown_post_is_404(client, environment):
    assert client.get("/demo/blog/no-such-post/").status_code == 404


def test_the_newsletter_form_posts_so_the_email_stays_out_of_urls(client, environment):
    html = client.get("/demo/").content.decode()
    assert 'id="newsletter-form" action="/demo/newsletter/" method="post"' in html
    assert "you're subscribed" not in html
    assert client.get("/demo/newsletter/?newsletter_email=a@b.example").status_code == 405
    answer = client.post("/demo/newsletter/", {"newsletter_email": "nina@example.com"})
    assert (answer.status_code, answer["Location"]) == (302, "/demo/#newsletter")
    assert "Thanks, you're subscribed." in client.get("/demo/").content.decode()
    assert "you're subscribed" not in client.get("/demo/").content.decode(), "said once"
    client.post("/demo/newsletter/", {"newsletter_email": "not an email"})
    assert "you're subscribed" not in client.get("/demo/").content.decode()
