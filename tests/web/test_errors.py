"""Requests the routes cannot take: ids no row can have, malformed parameters. Each is a 400,
or a 404 when the path names nothing, with a message (a page for a browser, JSON for anyone
else) and the security headers; never FastAPI's 422 list of pydantic errors, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.store.db import Store
from tests.web.common import HTML, answered, three_topics


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return three_topics(settings, store)


BIG = "9223372036854775808"
PATHS = [
    (f"/t/{BIG}", f"no thread {BIG}"),
    ("/t/abc", "no thread 'abc'"),
    ("/t/-1", "no thread -1"),
    (f"/e/{BIG}", f"no entry {BIG}"),
    (f"/t/{'9' * 5000}", "no thread 999"),
    (f"/api/threads/{BIG}", f"no thread {BIG}"),
    ("/api/threads/abc", "no thread 'abc'"),
    (f"/e/{BIG}/raw.eml", f"no entry {BIG}"),
    (f"/t/{BIG}/feed.atom", f"no thread {BIG}"),
    (f"/attachments/{BIG}/0/x", f"no entry {BIG}"),
    ("/attachments/3/-1/x", "no attachment -1"),
    (f"/attachments/3/{BIG}/x", f"no attachment {BIG}"),
    (f"/admin/raw/{BIG}.eml", f"no raw message {BIG}"),
]


@pytest.mark.parametrize(("path", "words"), PATHS)
def test_a_path_naming_no_possible_row_is_a_404_with_a_message(client: TestClient, path: str, words: str) -> None:
    machine = path.startswith(("/api/", "/attachments/")) or path.endswith((".eml", ".atom"))
    answered(client.get(path, headers=HTML), 404, words, page=not machine)
    answered(client.get(path), 404, words, page=False)


def test_a_malformed_parameter_is_a_400_naming_it(client: TestClient) -> None:
    tid = client.get("/api/feeds/team/threads").json()["threads"][0]["id"]
    answered(client.get(f"/t/{tid}?images=abc", headers=HTML), 400, "invalid images 'abc'", page=True)
    answered(client.get("/attachments/4/0/x?inline=abc", headers=HTML), 400, "invalid inline 'abc'", page=False)
    answered(client.get("/api/feeds/team/threads?limit=0"), 400, "invalid limit 0", page=False)
    answered(client.get("/api/feeds/team/threads?limit=x"), 400, "invalid limit 'x'", page=False)
    answered(client.get("/api/search"), 400, "q is required", page=False)
    answered(client.get("/api/search", params={"q": "x" * 501}), 400, "invalid q", page=False)
    answered(client.get("/search", params={"q": "x" * 501}, headers=HTML), 400, "invalid q", page=True)


def test_openapi_lists_the_errors_the_app_answers(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, item in schema["paths"].items():
        for op in item.values():
            assert "422" not in op["responses"], path
    thread = schema["paths"]["/api/threads/{thread_id}"]["get"]["responses"]
    assert {"400", "404"} <= set(thread)
    assert "HTTPValidationError" not in schema["components"]["schemas"]
