"""Production serving through the shipped gunicorn.conf.py: ingestion answers while a long CSV streams, and a
CSV that fails mid-stream ends as a broken transfer, never as a complete-looking file."""

import http.client
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from tests.databases import database_url
from warehouse.models import Environment, Project
from warehouse.roles import sql_role_drop

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gunicorn(free_port, django_user_model):
    project = Project.objects.create(name="serving")
    environment = Environment(project=project, name="prod", warehouse_schema="serving_prod")
    environment.set_api_key("serving-key")
    environment.save()
    django_user_model.objects.create_superuser("server", "server@example.com")
    env = os.environ | {
        "DATABASE_URL": database_url(connection.settings_dict["NAME"]),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "GUNICORN_BIND": f"127.0.0.1:{free_port}",
        "GUNICORN_WORKERS": "1",  # one worker: only its threads keep ingestion going
        "GUNICORN_THREADS": "4",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", free_port, timeout=2)
            probe.request("GET", "/login/")
            if probe.getresponse().status == 200:
                break
        except OSError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()[-3000:]
        time.sleep(0.2)
    try:
        yield free_port, environment
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:  # a stuck download would hold the graceful stop for minutes
            process.kill()
            process.wait()
        sql_role_drop(environment)


def _logged_in(port: int, client) -> dict[str, str]:
    """A superuser's session (made here: the server shares the database) and the CSRF cookie the server sets."""
    client.force_login(get_user_model().objects.get(username="server"))
    session = client.cookies["sessionid"].value
    page = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    page.request("GET", "/e/serving_prod/sql/", headers={"Cookie": f"sessionid={session}"})
    response = page.getresponse()
    response.read()
    assert response.status == 200, response.status
    return {"session": session, "csrf": re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)}


def _start_csv(
    port: int, cookies: dict[str, str], sql: str
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    token = cookies["csrf"]
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = f"csrfmiddlewaretoken={token}&sql=" + sql.replace(" ", "+").replace("=", "%3D")
    connection_.request(
        "POST",
        "/e/serving_prod/sql/csv",
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"sessionid={cookies['session']}; csrftoken={token}",
        },
    )
    return connection_, connection_.getresponse()


def test_ingestion_answers_within_a_second_while_a_long_csv_streams(gunicorn, client):
    port, environment = gunicorn
    cookies = _logged_in(port, client)
    _, download = _start_csv(port, cookies, "SELECT g, repeat('x', 500) AS filler FROM generate_series(1, 2000000) g")
    assert download.status == 200 and download.getheader("Transfer-Encoding") == "chunked"
    download.read(100_000)  # the stream is running; it now stalls on a reader that does not read
    body = json.dumps(
        {
            "app_id": environment.app_id,
            "library": "web",
            "sent_at": int(time.time() * 1000),
            "user_id": 4503599627370495,
            "session": {"id": 123456789012, "start_time": int(time.time() * 1000) - 5000},
            "events": [{"id": "serving-1", "type": "pageview", "time": int(time.time() * 1000), "path": "/"}],
        }
    )
    timings = []
    for _ in range(3):
        started = time.monotonic()
        collect = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        collect.request("POST", "/api/collect", body, {"Content-Type": "application/json"})
        response = collect.getresponse()
        response.read()
        timings.append(time.monotonic() - started)
        assert response.status == 200
    assert max(timings) < 1.0, timings
    download.close()


def test_a_csv_failing_mid_stream_breaks_the_transfer(gunicorn, client):
    port, _ = gunicorn
    cookies = _logged_in(port, client)
    _, download = _start_csv(port, cookies, "SELECT g, 1 / (g - 5000) AS x FROM generate_series(1, 10000) g")
    assert download.status == 200
    with pytest.raises(http.client.IncompleteRead) as broken:
        download.read()
    assert broken.value.partial.count(b"\n") == 4001  # the header and two batches; no end of the chunked body
