"""Identity: anonymous ids merge into the id derived from the identity."""

from warehouse.identity import is_identified_user_id, user_id_for_identity
from warehouse.models import IdentityMerge, RawEvent, RawUser

from .conftest import now_ms, pageview

PHONE_ID = 1111111111
LAPTOP_ID = 2222222222


def identify_event(identity: str) -> dict:
    return {"id": f"identify-{identity}", "type": "identify", "time": now_ms(), "identity": identity}


def test_anonymous_user_identifies(post, batch):
    assert post("/api/collect", batch(pageview("before"), user_id=PHONE_ID)).status_code == 200
    assert post("/api/collect", batch(identify_event("carol"), pageview("after"), user_id=PHONE_ID)).status_code == 200

    carol = user_id_for_identity("carol")
    assert is_identified_user_id(carol)
    merge = IdentityMerge.objects.get()
    assert (merge.from_user_id, merge.to_user_id) == (PHONE_ID, carol)
    assert RawUser.objects.get(user_id=carol).identity == "carol"
    assert RawUser.objects.get(user_id=PHONE_ID).identity is None
    # Both events stay under the anonymous id in the raw store; the merge maps them to carol.
    assert sorted(RawEvent.objects.values_list("event_id", "user_id")) == [("after", PHONE_ID), ("before", PHONE_ID)]


def test_two_anonymous_ids_identify_as_the_same_identity(post, batch):
    phone = batch(identify_event("dave"), user_id=PHONE_ID)
    laptop = batch(identify_event("dave"), user_id=LAPTOP_ID)
    laptop["session"]["id"] = 987654321
    assert post("/api/collect", phone).status_code == 200
    assert post("/api/collect", laptop).status_code == 200

    dave = user_id_for_identity("dave")
    assert set(IdentityMerge.objects.values_list("from_user_id", "to_user_id")) == {(PHONE_ID, dave), (LAPTOP_ID, dave)}
    assert RawUser.objects.filter(identity="dave").count() == 1


def test_server_identify_and_snippet_identify_agree(post, batch, environment):
    body = {"app_id": environment.app_id, "identity": "erin", "user_id": PHONE_ID}
    assert post("/api/identify", body).json()["user_id"] == user_id_for_identity("erin")
    assert post("/api/collect", batch(identify_event("erin"), user_id=LAPTOP_ID)).status_code == 200
    assert set(IdentityMerge.objects.values_list("to_user_id", flat=True)) == {user_id_for_identity("erin")}


def test_an_anonymous_id_merges_only_once(post, batch, environment):
    assert post("/api/collect", batch(identify_event("frank"), user_id=PHONE_ID)).status_code == 200
    again = {"app_id": environment.app_id, "identity": "grace", "user_id": PHONE_ID}
    response = post("/api/identify", again)
    assert response.status_code == 200
    frank = user_id_for_identity("frank")
    assert response.json() == {
        "ok": True,
        "user_id": user_id_for_identity("grace"),
        "merged": False,
        "merged_into": frank,
    }
    assert list(IdentityMerge.objects.values_list("to_user_id", flat=True)) == [frank]


def test_add_user_properties_creates_a_new_identity(post, environment):
    body = {"app_id": environment.app_id, "identity": "heidi@example.com", "properties": {"plan": "enterprise"}}
    assert post("/api/add_user_properties", body).status_code == 200
    user = RawUser.objects.get()
    assert (user.user_id, user.identity, user.properties) == (
        user_id_for_identity("heidi@example.com"),
        "heidi@example.com",
        {"plan": "enterprise"},
    )
    assert IdentityMerge.objects.count() == 0


def test_properties_then_identify_keep_the_properties(post, batch, environment):
    body = {"app_id": environment.app_id, "identity": "ivan", "properties": {"tier": "gold"}}
    assert post("/api/add_user_properties", body).status_code == 200
    assert post("/api/collect", batch(identify_event("ivan"), user_id=PHONE_ID)).status_code == 200
    assert RawUser.objects.get(identity="ivan").properties == {"tier": "gold"}
