"""Threading does not depend on the order mail arrives in: random reply trees, shuffled.

Each case builds a random tree of messages, each naming its parent one of four
ways real clients do (full References, In-Reply-To alone, Outlook's Thread-Index
alone, or a mix of Thread-Index with and without References), delivers them in a
random order (processed one at a time, or all as one batch) and checks that the
feed holds one thread whose every entry has its true parent.
"""

from __future__ import annotations

import base64
import hashlib
import random

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.pipeline import deliver, process_pending
from gateway.store.db import Store
from gateway.store.models import Entry
from tests.helpers import add_feed, make_mail

SIZE = 7  # messages per tree
SEEDS = range(25)  # trees per way of naming the parent
WAYS = ("references", "in-reply-to", "thread-index", "mixed")

Tree = dict[int, int | None]


def _tree(rng: random.Random) -> Tree:
    return {0: None} | {i: rng.randrange(i) for i in range(1, SIZE)}


def _ancestors(tree: Tree, i: int) -> list[int]:
    """Nearest first."""
    out: list[int] = []
    node = tree[i]
    while node is not None:
        out.append(node)
        node = tree[node]
    return out


def _thread_index(tree: Tree, i: int, case: str) -> str:
    """An Outlook conversation index: 22 bytes for the root, 5 more for each reply down to `i`."""
    index = b"\x01" + hashlib.sha256(case.encode()).digest()[:21]
    for node in reversed([i, *_ancestors(tree, i)][:-1]):
        index += hashlib.sha256(f"{case}/{node}".encode()).digest()[:5]
    return base64.b64encode(index).decode()


def _mails(tree: Tree, way: str, case: str, to: str, rng: random.Random) -> dict[int, bytes]:
    def mid(i: int) -> str:
        return f"<{case}.{i}@example.com>"

    mails = {}
    for i in tree:
        up = _ancestors(tree, i)
        headers: dict[str, str] = {}
        if up and (way == "references" or (way == "mixed" and rng.random() < 0.5)):
            headers = {"in_reply_to": mid(up[0]), "references": " ".join(mid(k) for k in reversed(up))}
        elif up and way == "in-reply-to":
            headers = {"in_reply_to": mid(up[0])}
        raw = make_mail(
            message_id=mid(i).strip("<>"), subject=("RE: " if i else "") + "Plan", to=to, minutes=i, **headers
        )
        if way in ("thread-index", "mixed"):
            raw = f"Thread-Index: {_thread_index(tree, i, case)}\n".encode() + raw
        mails[i] = raw
    return mails


@pytest.mark.parametrize("way", WAYS)
def test_any_arrival_order_gives_every_reply_its_true_parent(store: Store, settings: Settings, way: str) -> None:
    for seed in SEEDS:
        case = f"{way}-{seed}"
        rng = random.Random(case)
        tree = _tree(rng)
        address = f"{case}@example.com"
        feed_id = add_feed(store, slug=case, address=address)
        mails = _mails(tree, way, case, address, rng)
        order = list(tree)
        rng.shuffle(order)
        one_at_a_time = seed % 2 == 0
        for i in order:
            deliver(
                store=store, data=mails[i], feed_ids=[feed_id], source="import", max_bytes=settings.max_message_bytes
            )
            if one_at_a_time:
                process_pending(store=store, settings=settings)
        process_pending(store=store, settings=settings)
        with store.read() as session:
            rows = session.execute(
                sa.select(Entry.message_id, Entry.parent_message_id, Entry.thread_id).where(Entry.feed_id == feed_id)
            ).all()

        def node(message_id: str | None) -> int | None:
            return None if message_id is None else int(message_id.split("@")[0].rsplit(".", 1)[1])

        got = {node(m): node(p) for m, p, _ in rows}
        assert (got, len({t for *_, t in rows})) == (tree, 1), f"{case}: arrival order {order}"
