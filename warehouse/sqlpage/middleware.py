"""Oversized SQL page posts are read within the page's own limit, so the page audits and explains them.

Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE with a bare "Bad Request (400)" as soon as
anything reads ``request.POST`` — the CSRF check does, before any view runs, and nothing is audited.
For the SQL page's posts, a body over ``sql_body_limit()`` is not parsed: only its first bytes are
read, for the CSRF token (the page's forms send it first), and the view then records the attempt
and answers with the page's own message (``request.sql_body_oversized`` holds the size).
"""

import re

from django.conf import settings
from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, resolve
from django.utils.datastructures import MultiValueDict

SQL_POST_VIEWS = {"sql_run", "sql_csv", "sql_saved_create"}
TOKEN_PREFIX_BYTES = 64 * 1024
_TOKEN = re.compile(
    rb'(?:^|&)csrfmiddlewaretoken=([A-Za-z0-9]{32,64})(?:&|$)|name="csrfmiddlewaretoken"\r\n\r\n([A-Za-z0-9]{32,64})\r\n'
)


def sql_body_limit() -> int:
    """Largest SQL page body parsed: a form-encoded query can take three bytes per byte of SQL, plus the
    other fields. settings.DATA_UPLOAD_MAX_MEMORY_SIZE is at least this, so parsing never trips Django's."""
    return 3 * settings.SQLPAGE_MAX_QUERY_BYTES + 64 * 1024


class OversizedSqlBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.method == "POST":
            try:
                size = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                size = 0
            if size > sql_body_limit() and _is_sql_post(request):
                _read_only_the_token(request, size)
        return self.get_response(request)


def _is_sql_post(request: HttpRequest) -> bool:
    try:
        return resolve(request.path_info).url_name in SQL_POST_VIEWS
    except Resolver404:
        return False


def _read_only_the_token(request: HttpRequest, size: int) -> None:
    match = _TOKEN.search(request.read(TOKEN_PREFIX_BYTES))
    post = QueryDict(mutable=True)
    if match:
        post["csrfmiddlewaretoken"] = (match.group(1) or match.group(2)).decode()
    post._mutable = False
    # What request.POST/FILES return from now on: the body is never parsed.
    request._post, request._files = post, MultiValueDict()
    request.sql_body_oversized = size
