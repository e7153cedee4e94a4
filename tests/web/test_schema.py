"""schemathesis drives every operation in /openapi.json: no server error, responses match the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings

from gateway.config import Settings
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed, make_mail
from tests.web.common import mail_with_attachments, put


@pytest.fixture
def api_schema(settings: Settings, store: Store) -> Iterator[Any]:
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        make_mail(message_id="a@x"),
        mail_with_attachments(message_id="b@x"),
        make_mail(message_id="c@x", subject="Re: Quarterly plan", in_reply_to="<a@x>", minutes=4),
    )
    app = create_app(settings, store)
    assert TestClient(app).get("/api/feeds").status_code == 200
    yield schemathesis.openapi.from_asgi("/openapi.json", app)


def test_api_conforms_to_its_schema(api_schema: Any) -> None:
    # Each operation by hand: schemathesis' pytest plugin does not run under pytest 9 yet.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate()

        check()
