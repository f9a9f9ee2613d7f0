"""Server APIs: /api/track, /api/identify, /api/add_user_properties."""

from datetime import UTC, datetime, timedelta

from warehouse.identity import ANONYMOUS_ID_LIMIT, user_id_for_identity
from warehouse.models import IdentityMerge, RawEvent, RawSession, RawUser

from .conftest import pageview, raw_counts

ALICE = "alice@example.com"


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_track_single_event(post, environment):
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    body = {
        "app_id": environment.app_id,
        "identity": ALICE,
        "event": "Purchase",
        "properties": {"amount": 49.5, "currency": "EUR", "gift": False},
        "timestamp": iso(moment),
        "idempotency_key": "order-1001",
    }
    response = post("/api/track", body)

    assert response.status_code == 200
    assert response.json() == {"ok": True, "events": 1, "inserted": 1}
    event = RawEvent.objects.get()
    alice = user_id_for_identity(ALICE)
    assert (event.event_id, event.type, event.event_name, event.user_id) == (
        "srv-order-1001",
        "custom",
        "Purchase",
        alice,
    )
    assert event.properties == {"amount": 49.5, "currency": "EUR", "gift": False}
    assert (event.time, event.library, event.hierarchy, event.domain) == (moment, "server", [], "")
    session = RawSession.objects.get()
    assert (session.session_id, session.user_id, session.time, session.last_event_time) == (
        event.session_id,
        alice,
        moment,
        moment,
    )
    assert session.session_id >= ANONYMOUS_ID_LIMIT
    assert (session.library, session.browser, session.ip) == ("server", "", None)
    user = RawUser.objects.get()
    assert (user.user_id, user.identity, user.joindate) == (alice, ALICE, moment)


def test_track_without_timestamp_uses_the_receipt_time(post, environment):
    assert post("/api/track", {"app_id": environment.app_id, "identity": ALICE, "event": "Ping"}).status_code == 200
    event = RawEvent.objects.get()
    assert abs((event.time - event.received_at).total_seconds()) < 0.01
    assert event.event_id.startswith("srv-") and len(event.event_id) == 36


def test_track_accepts_millisecond_timestamps(post, environment):
    body = {"app_id": environment.app_id, "identity": ALICE, "event": "Ping", "timestamp": 1764325000123}
    assert post("/api/track", body).status_code == 200
    assert RawEvent.objects.get().time == datetime(2025, 11, 28, 10, 16, 40, 123000, tzinfo=UTC)


def test_an_event_name_is_bounded_in_bytes_as_the_index_holding_it_is(post, environment):
    body = {"app_id": environment.app_id, "identity": ALICE}
    # 512 four-byte characters (2,048 bytes) fit the custom-name index; 1,024 of them would not.
    assert post("/api/track", {**body, "event": "\U0001f600" * 512}).status_code == 200
    response = post("/api/track", {**body, "event": "\U0001f600" * 1024})

    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "event", "message": "is 4,096 bytes in UTF-8; the limit is 2,048"}]
    assert [len(name) for name in RawEvent.objects.values_list("event_name", flat=True)] == [512]


def test_same_idempotency_key_twice_writes_one_row(post, environment):
    body = {"app_id": environment.app_id, "identity": ALICE, "event": "Purchase", "idempotency_key": "k-1"}
    assert post("/api/track", body).json()["inserted"] == 1
    retry = post("/api/track", body)
    assert retry.status_code == 200
    assert retry.json()["inserted"] == 0
    assert raw_counts() == {"users": 1, "sessions": 1, "events": 1, "merges": 0}


def test_a_browser_event_cannot_take_a_server_events_id(post, environment, batch):
    # /api/collect is public: an event stored under "srv-<key>" or "seg-<messageId>" would make the
    # server event sent later with that key a duplicate, never stored.
    squatters = [pageview("srv-order-1001"), pageview("seg-msg-42"), pageview("e-ok")]
    response = post("/api/collect", batch(*squatters), content_type="text/plain")

    assert response.status_code == 200
    assert [(d["field"], d["message"]) for d in response.json()["details"]] == [
        ("events[0].id", "must not start with 'srv-': server events' ids do"),
        ("events[1].id", "must not start with 'seg-': server events' ids do"),
    ]
    assert list(RawEvent.objects.values_list("event_id", flat=True)) == ["e-ok"]
    body = {"app_id": environment.app_id, "identity": ALICE, "event": "Purchase", "idempotency_key": "order-1001"}
    assert post("/api/track", body).json()["inserted"] == 1


def test_bulk_track_sessions_by_30_minutes_of_inactivity(post, environment):
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    minutes = [0, 10, 35, 50, 200]  # gaps of 10, 25, 15 → one session; 150 → a new one
    events = [
        {"identity": ALICE, "event": "Step", "timestamp": iso(start + timedelta(minutes=m)), "idempotency_key": f"s{m}"}
        for m in reversed(minutes)  # order in the request does not matter
    ]
    events.append({"identity": "bob@example.com", "event": "Step", "timestamp": iso(start)})
    response = post("/api/track", {"app_id": environment.app_id, "events": events})

    assert response.json() == {"ok": True, "events": 6, "inserted": 6}
    alice = user_id_for_identity(ALICE)
    by_minute = {
        int((event.time - start).total_seconds() // 60): event.session_id
        for event in RawEvent.objects.filter(user_id=alice)
    }
    assert by_minute[0] == by_minute[10] == by_minute[35] == by_minute[50]
    assert by_minute[200] != by_minute[0]
    sessions = {s.session_id: s for s in RawSession.objects.filter(user_id=alice)}
    assert len(sessions) == 2
    assert sessions[by_minute[0]].time == start
    assert sessions[by_minute[0]].last_event_time == start + timedelta(minutes=50)
    assert RawSession.objects.filter(user_id=user_id_for_identity("bob@example.com")).count() == 1


def test_later_track_reuses_a_recent_session_and_not_an_old_one(post, environment):
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def track(minute: int) -> int:
        body = {
            "app_id": environment.app_id,
            "identity": ALICE,
            "event": "E",
            "timestamp": iso(start + timedelta(minutes=minute)),
        }
        assert post("/api/track", body).status_code == 200
        return RawEvent.objects.latest("id").session_id

    first = track(0)
    assert track(29) == first
    assert track(58) == first  # 29 minutes after the previous event
    assert track(120) != first
    assert RawSession.objects.get(session_id=first).last_event_time == start + timedelta(minutes=58)


def test_track_of_a_browser_session_user_does_not_join_browser_sessions(post, batch, environment):
    # Server events belong to the identified user, browser events to the anonymous id.
    assert post("/api/collect", batch(identity=ALICE)).status_code == 200
    assert post("/api/track", {"app_id": environment.app_id, "identity": ALICE, "event": "Paid"}).status_code == 200
    server_event = RawEvent.objects.get(library="server")
    assert server_event.session_id != 123456789012
    assert server_event.user_id == user_id_for_identity(ALICE)


def test_identify_records_a_merge(post, environment):
    body = {"app_id": environment.app_id, "identity": ALICE, "user_id": 4503599627370495}
    response = post("/api/identify", body)
    alice = user_id_for_identity(ALICE)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "user_id": alice, "merged": True, "merged_into": alice}
    merge = IdentityMerge.objects.get()
    assert (merge.from_user_id, merge.to_user_id) == (4503599627370495, alice)
    assert RawUser.objects.get().identity == ALICE


def test_add_user_properties_single_and_bulk(post, environment):
    single = {"app_id": environment.app_id, "identity": ALICE, "properties": {"plan": "free", "seats": 1}}
    assert post("/api/add_user_properties", single).json() == {"ok": True, "users": 1}
    bulk = {
        "app_id": environment.app_id,
        "users": [
            {"identity": ALICE, "properties": {"plan": "pro"}},
            {"identity": "bob@example.com", "properties": {"company": "Acme"}},
            {"identity": ALICE, "properties": {"vip": True}},
        ],
    }
    assert post("/api/add_user_properties", bulk).json() == {"ok": True, "users": 2}
    users = {user.identity: user for user in RawUser.objects.all()}
    assert users[ALICE].properties == {"plan": "pro", "seats": 1, "vip": True}
    assert users[ALICE].user_id == user_id_for_identity(ALICE)
    assert users["bob@example.com"].properties == {"company": "Acme"}
    assert raw_counts()["events"] == 0


def test_server_key_is_per_environment(post, environment, make_environment):
    other = make_environment(name="staging", api_key="staging-key")
    body = {"app_id": other.app_id, "identity": ALICE, "event": "E"}
    assert post("/api/track", body).status_code == 401  # production's key
    assert post("/api/track", body, key="staging-key").status_code == 200
    assert RawEvent.objects.get().environment_id == other.pk


def test_a_rotated_server_key_stops_working_at_once(post, environment):
    body = {"app_id": environment.app_id, "identity": ALICE, "event": "E"}
    assert post("/api/track", body).status_code == 200
    environment.set_api_key("rotated-key")
    environment.save(update_fields=["api_key_hash", "api_key_prefix"])
    assert post("/api/track", body).status_code == 401
    assert post("/api/track", body, key="rotated-key").status_code == 200
