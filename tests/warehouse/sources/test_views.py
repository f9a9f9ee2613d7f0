import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from warehouse.models import AttachedSchema, CsvUpload, Membership, Role

pytestmark = pytest.mark.usefixtures("drop_schemas")


def test_upload_preview_override_and_load_through_the_page(environment, admin_client):
    page = admin_client.get("/e/main_production/sources/")
    assert page.status_code == 200 and b"No uploaded tables yet" in page.content
    csv_file = SimpleUploadedFile("Deals 2024.csv", b"email,amount,zip\nann@example.com,10,01234\n", "text/csv")
    response = admin_client.post("/e/main_production/sources/upload", {"file": csv_file})
    upload = CsvUpload.objects.get()
    assert response.status_code == 302 and response.url == f"/e/main_production/sources/uploads/{upload.pk}/"
    preview = admin_client.get(response.url)
    assert b'value="deals_2024"' in preview.content
    assert b"ann@example.com" in preview.content and b"integer (inferred)" in preview.content
    assert b"Inferred types come from a sample (the first 10,000 rows" in preview.content
    loaded = admin_client.post(
        response.url, {"table_name": "deals", "type_email": "text", "type_amount": "numeric", "type_zip": "text"}
    )
    assert loaded.status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT email, amount, zip FROM main_production_uploads.deals")
        assert cursor.fetchall() == [("ann@example.com", 10, "01234")]
    page = admin_client.get("/e/main_production/sources/")
    assert b"main_production_uploads.deals" in page.content and b"Deals 2024.csv: 1 row<" in page.content
    # Right after the load (never analyzed, reltuples = -1) the count is exact, not "0".
    assert b'<code>main_production_uploads.deals</code></td><td class="num">1</td>' in page.content


def test_bad_file_error_is_shown(environment, admin_client):
    csv_file = SimpleUploadedFile("bad.csv", b"a,b\n1,2\n3\n", "text/csv")
    response = admin_client.post("/e/main_production/sources/upload", {"file": csv_file}, follow=True)
    assert "bad.csv: line 3, column &#x27;b&#x27;: the row has fewer fields" in response.content.decode()


def test_viewers_read_sources_and_only_superusers_attach(environment, client, django_user_model):
    viewer = django_user_model.objects.create_user("analyst")
    Membership.objects.create(user=viewer, environment=environment, role=Role.VIEWER)
    admin = django_user_model.objects.create_user("env-admin", is_staff=True)
    Membership.objects.create(user=admin, environment=environment, role=Role.ADMIN)
    client.force_login(viewer)
    page = client.get("/e/main_production/sources/")
    assert page.status_code == 200 and b"Upload and preview" not in page.content
    csv_file = SimpleUploadedFile("people.csv", b"email\nann@example.com\n", "text/csv")
    assert client.post("/e/main_production/sources/upload", {"file": csv_file}).status_code == 403
    client.force_login(admin)
    page = client.get("/e/main_production/sources/")
    assert b"Upload and preview" in page.content and b'name="schema_name"' not in page.content
    # Attaching opens a schema of the whole database to the environment: beyond an environment's admin.
    assert client.post("/e/main_production/sources/attach", {"schema_name": "public"}).status_code == 403
    assert not CsvUpload.objects.exists() and not AttachedSchema.objects.exists()
