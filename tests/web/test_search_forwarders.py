"""Search finds a forwarded post by its forwarders' names and addresses, later forwarders' too."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.pipeline import process_pending, requeue
from gateway.store.db import Store
from gateway.web.app import create_app
from tests.helpers import add_feed
from tests.web.common import put
from tests.web.test_feeds_forwards import NEWER, cy, dee, mail


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return TestClient(create_app(settings, store))


@pytest.mark.parametrize("later_batch", [False, True])
def test_search_finds_a_post_by_each_of_its_forwarders(
    client: TestClient, store: Store, settings: Settings, later_batch: bool
) -> None:
    """Cy's name and address, and Dee's (a later forward of the same original, in the same batch or a
    later one, indexed then), find the post; so they do after `reprocess --all`."""
    feed_id = add_feed(store)
    if later_batch:
        put(store, settings, feed_id, cy(), mail(1, NEWER))
        put(store, settings, feed_id, dee())
    else:
        put(store, settings, feed_id, cy(), mail(1, NEWER), dee())

    def hits(q: str) -> list[str]:
        r = client.get("/api/search", params={"q": q})
        assert r.status_code == 200
        return [h["subject"] for h in r.json()["results"]]

    for _ in range(2):
        for q in ("Cy Chan", "cy@example.com", "Dee", "dee@example.com", "Ann Author", "floor"):
            assert hits(q) == ["Office move"], q
        assert hits("Bob") == ["Topic 1"]
        assert requeue(store=store, which="all") == 3
        process_pending(store=store, settings=settings)
