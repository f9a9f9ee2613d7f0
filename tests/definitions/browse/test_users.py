import re

from django.db.models import Count

from warehouse.models import IdentityMerge, RawEvent, RawSession, RawUser

from .conftest import SCHEMA


def user_links(response) -> list[int]:
    return [int(i) for i in re.findall(rf'<tr><td><a href="/e/{SCHEMA}/users/(\d+)/">', response.content.decode())]


def test_users_search_by_identity_id_and_property(admin_client, demo_environment, django_assert_num_queries):
    # Login session, user, access, switcher, users, their merged ids, session write (3): no query per user.
    with django_assert_num_queries(9):
        everyone = admin_client.get(f"/e/{SCHEMA}/users/")
    assert len(user_links(everyone)) == 50 and "More →" in everyone.content.decode()
    person = RawUser.objects.filter(environment=demo_environment, identity__isnull=False).first()
    by_identity = admin_client.get(f"/e/{SCHEMA}/users/", {"q": person.identity.split("@")[0]})
    assert person.user_id in user_links(by_identity)
    assert user_links(admin_client.get(f"/e/{SCHEMA}/users/", {"q": str(person.user_id)})) == [person.user_id]
    plan = person.properties["plan"]
    by_property = user_links(admin_client.get(f"/e/{SCHEMA}/users/", {"q": f"plan={plan}"}))
    assert person.user_id in by_property
    assert all(RawUser.objects.get(user_id=u).properties["plan"] == plan for u in by_property)
    # Keys are data, not lookups; numbers and booleans match as typed.
    assert admin_client.get(f"/e/{SCHEMA}/users/", {"q": "plan__contains=pro"}).status_code == 200
    RawUser.objects.filter(pk=person.pk).update(properties={**person.properties, "seats": 5, "trial": True})
    assert person.user_id in user_links(admin_client.get(f"/e/{SCHEMA}/users/", {"q": "seats=5"}))
    assert person.user_id in user_links(admin_client.get(f"/e/{SCHEMA}/users/", {"q": "trial=true"}))
    nobody = admin_client.get(f"/e/{SCHEMA}/users/", {"q": "no-such-person"})
    assert "No user matches" in nobody.content.decode()


def test_users_pages_do_not_repeat(admin_client, demo_environment):
    seen, url = [], f"/e/{SCHEMA}/users/"
    while url:
        response = admin_client.get(url)
        seen += user_links(response)
        match = re.search(r'href="\?q=&amp;cursor=([^"]+)">More', response.content.decode())
        url = f"/e/{SCHEMA}/users/?q=&cursor={match.group(1)}" if match else None
    merged = IdentityMerge.objects.filter(environment=demo_environment).values_list("from_user_id", flat=True)
    people = RawUser.objects.filter(environment=demo_environment).exclude(user_id__in=merged)
    assert len(seen) == len(set(seen)) == people.count()


def test_user_page_shows_properties_merged_ids_and_session_timeline(
    admin_client, demo_environment, django_assert_num_queries
):
    merge = IdentityMerge.objects.filter(environment=demo_environment).first()
    person = RawUser.objects.get(environment=demo_environment, user_id=merge.to_user_id)
    # Fixed: user, merges, the person (2), sessions page, event count, events of the page's sessions (one query),
    # people (merges, users), definitions (2) + login/access/switcher/session write — not one per session or event.
    with django_assert_num_queries(18):
        response = admin_client.get(f"/e/{SCHEMA}/users/{person.user_id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert person.identity in body and f"{merge.from_user_id}</a>" in body
    for key in person.properties:
        assert f"<th>{key}</th>" in body
    ids = [
        person.user_id,
        *IdentityMerge.objects.filter(to_user_id=person.user_id).values_list("from_user_id", flat=True),
    ]
    sessions = RawSession.objects.filter(environment=demo_environment, user_id__in=ids)
    assert body.count('<section class="card session">') == min(sessions.count(), 20)
    # Sessions newest first; each lists its events in order with their source and landing page.
    starts = re.findall(r"<header><strong>([^<]+)</strong>", body)
    assert starts == sorted(starts, reverse=True)
    newest = sessions.order_by("-time").first()
    assert newest.landing_page in body
    assert RawEvent.objects.filter(user_id__in=ids).count() == int(
        re.search(r"<th>events</th><td><a [^>]*>(\d+)</a>", body).group(1)
    )
    anonymous = admin_client.get(f"/e/{SCHEMA}/users/{merge.from_user_id}/")
    assert "merged into" in anonymous.content.decode()
    assert admin_client.get(f"/e/{SCHEMA}/users/12345/").status_code == 404


def test_a_busy_users_timeline_pages_through_sessions(admin_client, demo_environment):
    busiest = (
        RawSession.objects.filter(environment=demo_environment)
        .values("user_id")
        .order_by()
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    url, seen = f"/e/{SCHEMA}/users/{busiest['user_id']}/", []
    while url:
        response = admin_client.get(url)
        seen += re.findall(r'\?session=(\d+)">\d+ events', response.content.decode())
        match = re.search(r'href="\?cursor=([^"]+)">Older sessions', response.content.decode())
        url = f"/e/{SCHEMA}/users/{busiest['user_id']}/?cursor={match.group(1)}" if match else None
    assert len(seen) == len(set(seen)) >= busiest["n"]


def test_merged_anonymous_ids_are_listed_under_their_person_not_apart(admin_client, demo_environment):
    merge = IdentityMerge.objects.filter(environment=demo_environment).first()
    seen, url, bodies = [], f"/e/{SCHEMA}/users/", []
    while url:
        response = admin_client.get(url)
        bodies.append(response.content.decode())
        seen += user_links(response)
        match = re.search(r'href="\?q=&amp;cursor=([^"]+)">More', bodies[-1])
        url = f"/e/{SCHEMA}/users/?q=&cursor={match.group(1)}" if match else None
    merged = set(IdentityMerge.objects.filter(environment=demo_environment).values_list("from_user_id", flat=True))
    assert merge.to_user_id in seen and not merged & set(seen)
    # One row per person, as many as the warehouse's users table will have.
    assert len(seen) == RawUser.objects.filter(environment=demo_environment).exclude(user_id__in=merged).count()
    assert any(f'href="/e/{SCHEMA}/users/{merge.from_user_id}/" title="an anonymous id' in body for body in bodies)
    # Searching by a merged id finds the person.
    found = admin_client.get(f"/e/{SCHEMA}/users/", {"q": str(merge.from_user_id)})
    assert user_links(found) == [merge.to_user_id]
    anonymous = admin_client.get(f"/e/{SCHEMA}/users/{merge.from_user_id}/").content.decode()
    person = RawUser.objects.get(environment=demo_environment, user_id=merge.to_user_id)
    assert f"<h1>{person.identity}" in anonymous and 'id="merged-notice"' in anonymous
