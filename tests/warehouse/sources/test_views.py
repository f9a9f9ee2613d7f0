import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from warehouse.models import CsvUpload

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
    loaded = admin_client.post(
        response.url, {"table_name": "deals", "type_email": "text", "type_amount": "numeric", "type_zip": "text"}
    )
    assert loaded.status_code == 302
    with connection.cursor() as cursor:
        cursor.execute("SELECT email, amount, zip FROM main_production_uploads.deals")
        assert cursor.fetchall() == [("ann@example.com", 10, "01234")]
    page = admin_client.get("/e/main_production/sources/")
    assert b"main_production_uploads.deals" in page.content and b"Deals 2024.csv: 1 rows" in page.content


def test_bad_file_error_is_shown(environment, admin_client):
    csv_file = SimpleUploadedFile("bad.csv", b"a,b\n1,2\n3\n", "text/csv")
    response = admin_client.post("/e/main_production/sources/upload", {"file": csv_file}, follow=True)
    assert "bad.csv: line 3, column &#x27;b&#x27;: the row has fewer fields" in response.content.decode()


def test_only_staff_change_sources(environment, client, django_user_model):
    user = django_user_model.objects.create_user("analyst", password="pw-for-tests-only")
    client.force_login(user)
    assert client.get("/e/main_production/sources/").status_code == 200
    response = client.post("/e/main_production/sources/attach", {"schema_name": "public"})
    assert response.status_code == 302 and "/admin/login/" in response.url
