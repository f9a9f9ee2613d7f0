"""Every curl example in docs/api.md works against the real endpoints."""

import json
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
EXAMPLE = re.compile(r"curl -X POST http://127\.0\.0\.1:8000(/api/\w+).*?-d '(\{.*?\})'", re.DOTALL)
EXAMPLES = EXAMPLE.findall(DOC.read_text())


def test_the_docs_have_examples_for_every_endpoint():
    assert {path for path, _ in EXAMPLES} == {"/api/collect", "/api/track", "/api/identify", "/api/add_user_properties"}


@pytest.mark.parametrize(("path", "body"), EXAMPLES, ids=[f"{path}-{i}" for i, (path, _) in enumerate(EXAMPLES)])
def test_doc_example_is_accepted(path, body, post, environment):
    payload = json.loads(body.replace('"1234567890"', json.dumps(environment.app_id)))
    response = post(path, payload)
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True


SEGMENT_EXAMPLE = re.compile(
    r"curl -X POST http://127\.0\.0\.1:8000(/v1/\w+) -u \"\$KEY:\".*?-d '(\{.*?\})'", re.DOTALL
)
SEGMENT_EXAMPLES = SEGMENT_EXAMPLE.findall(DOC.read_text())


def test_the_docs_have_a_segment_example():
    assert [path for path, _ in SEGMENT_EXAMPLES] == ["/v1/batch"]


@pytest.mark.parametrize(("path", "body"), SEGMENT_EXAMPLES)
def test_segment_doc_example_is_accepted(path, body, client, environment):
    import base64

    auth = "Basic " + base64.b64encode(b"test-server-key:").decode()
    response = client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "messages": 2, "inserted": 1}
