"""The feed directory SMTP asks at RCPT: which feed an address is, its posting policy, a forged tag.

Cached for a couple of seconds so most RCPTs never touch the database; the
SMTP handler (smtp.py) decides what to answer.
"""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from gateway import keys
from gateway.commit import to_postmaster
from gateway.config import Settings
from gateway.policy import Policy
from gateway.store import digest_writes
from gateway.store.db import Store
from gateway.store.models import Feed
from gateway.store.policies import feed_policies

FEED_CACHE_SECONDS = 2.0


class FeedDirectory:
    """Feed addresses → ids, re-read at most every couple of seconds (`feed add` shows up live).

    A feed address with a tag (team+r-12-…@example.com, see gateway/keys.py)
    is that feed's; a tag that looks like ours but does not verify is forged.
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.secret_key = settings.secret_key
        self._at = 0.0
        self._map: dict[str, int] = {}
        self._policies: dict[int, Policy] = {}
        self._key = ""
        self._lock = threading.Lock()

    def lookup(self, address: str) -> int | None:
        base, _ = keys.split_sub_address(address)
        with self._lock:
            self._refresh()
            return self._map.get(base)

    def postmaster_feed(self, address: str) -> int | None:
        """The feed that keeps mail to this postmaster: the oldest at its domain, or of all for a bare
        `postmaster`; None when the address is no postmaster of ours."""
        if not to_postmaster(address):
            return None
        domain = address.lower().rpartition("@")[2] if "@" in address else None
        with self._lock:
            self._refresh()
            ids = [i for a, i in self._map.items() if domain is None or a.rpartition("@")[2] == domain]
        return min(ids, default=None)

    def fresh(self) -> bool:
        return time.monotonic() - self._at <= FEED_CACHE_SECONDS

    def policy(self, feed_id: int) -> Policy:
        with self._lock:
            self._refresh()
            return self._policies.get(feed_id, Policy(self.settings.allowed, self.settings.unknown_senders))

    def _refresh(self) -> None:
        if time.monotonic() - self._at > FEED_CACHE_SECONDS:
            with self.store.read() as session:
                self._map = {a: i for a, i in session.execute(sa.select(Feed.address, Feed.id))}
                self._policies = feed_policies(session, self.settings)
            self._at = time.monotonic()

    def forged(self, address: str) -> bool:
        """True when the address carries a token of ours that does not verify."""
        _, tag = keys.split_sub_address(address)
        if tag is None or not keys.looks_signed(tag):
            return False
        if not self._key:
            with self.store.write() as session, session.begin():
                self._key = digest_writes.signing_key(session, self.secret_key)
        return keys.parse(self._key, tag) is None
