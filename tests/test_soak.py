"""Soak on loopback: 32 clients, two instances on one PostgreSQL, one killed halfway.

Every 250 ends in the feed exactly once; every refusal is a proper 4xx/5xx.
The rates it prints are reported, not asserted (bench/soak.py has the figures).
"""

from __future__ import annotations

import os

import pytest

from bench.soak import soak
from tests.servers import Postgres

# The full count; MAILFEED_SOAK_MESSAGES runs fewer on a slow machine (the bench
# figures come from `python -m bench.soak`).
MESSAGES = int(os.environ.get("MAILFEED_SOAK_MESSAGES", "20000"))


@pytest.mark.slow
def test_two_instances_kill_9_every_250_once(postgres: Postgres) -> None:
    from tests.conftest import new_postgres_db

    url = new_postgres_db(postgres)
    db = url.rsplit("/", 1)[1]

    class One(Postgres):
        def url(self, database: str = db) -> str:  # the soak's own database on the shared server
            return super().url(database)

    r = soak(One(postgres.directory, postgres.port, postgres.bindir), MESSAGES, 32, kill=True, timeout=600)
    print(
        f"soak: one instance {r.one_rate:.0f} msg/s, two {r.two_rate:.0f} msg/s ({r.two_rate / r.one_rate:.2f}x; "
        f"{r.both_up_rate:.0f} msg/s while both were up, one was down {r.down:.1f} s); "
        f"interrupted sessions {r.interrupted}, refusals {dict(r.refusals)}"
    )
    assert r.bad == []
    assert r.acked == MESSAGES
    assert r.in_feed == MESSAGES and r.duplicates == 0
