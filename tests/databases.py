"""URLs of the test server's databases, for processes the tests start (workers, `manage.py up`)."""

from urllib.parse import quote

from django.conf import settings


def database_url(name: str) -> str:
    """postgres:// URL of database `name` on the test server; a unix-socket host (embedded PostgreSQL) is quoted."""
    db = settings.DATABASES["default"]
    credentials = quote(db["USER"], safe="") + (":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else "")
    host = quote(db["HOST"] or "", safe="") + (f":{db['PORT']}" if db["PORT"] else "")
    return f"postgres://{credentials}@{host}/{name}"
