"""The members page: admins add, change and remove members; what each member then sees."""

import pytest
from django.test import Client

from warehouse.models import Environment, Membership, Project, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(django_user_model, make_environment):
    shop = make_environment(project="shop", name="prod")
    staging = make_environment(project="shop", name="staging")
    other = make_environment(project="other", name="prod")
    users = {name: django_user_model.objects.create_user(name, f"{name}@example.com") for name in ("ann", "bob", "cy")}
    Membership.objects.create(user=users["ann"], environment=shop, role=Role.ADMIN)
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)
    return shop, staging, other, users, clients


def members_url(environment, suffix=""):
    return f"/e/{environment.warehouse_schema}/members/{suffix}"


def test_an_admin_adds_a_viewer_who_then_sees_only_that_environment(team):
    shop, staging, other, users, clients = team
    response = clients["ann"].post(members_url(shop, "add"), {"username": "bob@example.com", "role": "viewer"})
    assert response.status_code == 302
    assert Membership.objects.get(user=users["bob"]).environment == shop
    dashboard = clients["bob"].get("/").content.decode()
    assert "/e/shop_prod/" in dashboard and "shop_staging" not in dashboard and "other_prod" not in dashboard
    assert clients["bob"].get("/e/shop_staging/").status_code == 404
    # A viewer reads definitions but is offered no way to change them, and may not run SQL.
    listing = clients["bob"].get("/e/shop_prod/definitions/").content.decode()
    assert "New definition" not in listing
    assert clients["bob"].get("/e/shop_prod/sql/").status_code == 403


def test_the_admin_changes_a_role_and_the_sql_switch_then_removes_the_member(team):
    shop, _, _, users, clients = team
    bob = Membership.objects.create(user=users["bob"], environment=shop, role=Role.VIEWER)
    clients["ann"].post(members_url(shop, f"{bob.pk}/"), {"role": "editor", "can_run_sql": "on"})
    bob.refresh_from_db()
    assert bob.role == Role.EDITOR and bob.can_run_sql
    assert clients["bob"].get("/e/shop_prod/sql/").status_code == 200
    assert clients["bob"].get(members_url(shop)).status_code == 403  # editors do not manage members
    clients["ann"].post(members_url(shop, f"{bob.pk}/remove"))
    assert not Membership.objects.filter(pk=bob.pk).exists()
    assert clients["bob"].get("/e/shop_prod/").status_code == 404


def test_admins_cannot_change_themselves_nor_grant_a_whole_project(team):
    shop, staging, _, users, clients = team
    ann = Membership.objects.get(user=users["ann"])
    response = clients["ann"].post(members_url(shop, f"{ann.pk}/"), {"role": "viewer"}, follow=True)
    assert "you cannot change your own membership" in response.content.decode()
    ann.refresh_from_db()
    assert ann.role == Role.ADMIN
    response = clients["ann"].post(
        members_url(shop, "add"), {"username": "bob", "role": "admin", "project_wide": "on"}, follow=True
    )
    assert "managed by the project&#x27;s admins and superusers" in response.content.decode()
    assert not Membership.objects.filter(user=users["bob"]).exists()


def test_a_project_admin_gives_a_role_in_every_environment_of_the_project(team):
    shop, staging, other, users, clients = team
    Membership.objects.create(user=users["cy"], project=Project.objects.get(name="shop"), role=Role.ADMIN)
    clients["cy"].post(members_url(shop, "add"), {"username": "bob", "role": "editor", "project_wide": "on"})
    membership = Membership.objects.get(user=users["bob"])
    assert membership.project.name == "shop" and membership.environment is None
    assert clients["bob"].get("/e/shop_staging/definitions/new").status_code == 200
    assert clients["bob"].get("/e/other_prod/").status_code == 404
    # The environment's own admin sees the project-wide membership but cannot change it.
    page = clients["ann"].get(members_url(shop)).content.decode()
    assert "every environment of shop" in page and "managed by the project's admins" in page
    clients["ann"].post(members_url(shop, f"{membership.pk}/remove"))
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_a_membership_of_another_environment_is_not_reachable_from_this_one(team):
    shop, _, other, users, clients = team
    foreign = Membership.objects.create(user=users["bob"], environment=other, role=Role.VIEWER)
    assert clients["ann"].post(members_url(shop, f"{foreign.pk}/remove")).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_the_switcher_lists_what_one_may_see(team):
    shop, staging, other, users, clients = team
    html = clients["ann"].get("/e/shop_prod/").content.decode()
    options = [line for line in html.splitlines() if '<option value="/e/' in line]
    assert len(options) == 1 and "shop / prod" in options[0]
    assert Environment.objects.count() == 3


def test_the_rq_dashboard_is_for_superusers_only(team, django_user_model):
    _, _, _, users, clients = team
    users["ann"].is_staff = True
    users["ann"].save(update_fields=["is_staff"])
    assert clients["ann"].get("/admin/rq/").status_code == 403
    root = Client()
    root.force_login(django_user_model.objects.create_superuser("root", "root@example.com"))
    assert root.get("/admin/rq/").status_code == 200
