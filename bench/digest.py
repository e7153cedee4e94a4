"""Digest throughput: collect + render + send for many readers vs sending pre-rendered mail.

    python -m bench.digest [--readers 10000] [--entries 300] [--feeds 5]

Both runs send to the same local SMTP sink (aiosmtpd in its own process, answering
250 and keeping nothing) with the same client (gateway.digest.send.send_parallel,
a few connections at once) in the same batches. The baseline sends `--readers`
copies of one rendered digest of the same size; mailfeed runs `send_due` (claim,
collect, render, send, and record each digest before its connection sends the
next) for every reader. Target: mailfeed ≥ 0.5× the baseline's messages/s. Also
prints peak RSS of this process.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from gateway.config import Settings
from gateway.digest.dispatch import BATCH, send_due
from gateway.digest.send import Outgoing, relay_from_url, send_parallel
from gateway.digest.subscribe import Schedule
from gateway.pipeline import deliver, process_pending
from gateway.store import writes
from gateway.store.db import open_store
from gateway.store.models import Entry
from gateway.store.models_digest import Reader, Subscription
from tests.helpers import make_mail
from tests.servers import free_port, wait_for_port

TARGET = 0.5
SINK = """
import asyncio, sys
from aiosmtpd.controller import Controller
class H:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
c = Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1]), server_hostname="sink")
c.start()
sys.stdin.read()
"""


def build(url: str, settings: Settings, readers: int, entries: int, feeds: int) -> None:
    store = open_store(url, synchronous="NORMAL")
    feed_ids = []
    with store.write() as session, session.begin():
        for f in range(feeds):
            feed = writes.add_feed(session=session, slug=f"team{f}", address=f"team{f}@example.com", title=f"Team {f}")
            feed_ids.append(feed.id)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    with store.write() as session, session.begin():
        session.execute(
            sa.insert(Reader),
            [
                {
                    "email": f"r{i}@example.org",
                    "created_at": created,
                    "disabled": False,
                    "disabled_reason": "",
                    "hard_bounces": 0,
                }
                for i in range(readers)
            ],
        )
        ids = list(session.scalars(sa.select(Reader.id).order_by(Reader.id)))
        s = Schedule()
        session.execute(
            sa.insert(Subscription),
            [
                {
                    "reader_id": rid,
                    "feed_id": feed_ids[i % feeds],
                    "every": s.every,
                    "weekday": 0,
                    "at": s.at,
                    "tz": s.tz,
                    "skip_empty": True,
                    "only_mine": False,
                    "cursor": 0,
                    "created_at": created,
                }
                for i, rid in enumerate(ids)
            ],
        )
    for n in range(entries):
        fid = feed_ids[n % feeds]
        thread = n // (feeds * 3)
        reply = n % 3 != 0
        mail = make_mail(
            message_id=f"e{n}@x",
            subject=f"{'Re: ' if reply else ''}Topic {thread}-{fid}",
            sender=f"Author {n % 17} <a{n % 17}@example.com>",
            minutes=n,
            in_reply_to=f"<e{n - feeds}@x>" if reply else None,
            body="Some news for the team.\n" * 20,
        )
        deliver(store=store, data=mail, feed_ids=[fid], source="import", max_bytes=settings.max_message_bytes)
    process_pending(store=store, settings=settings)
    with store.read() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Entry)) == entries
    store.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readers", type=int, default=10_000)
    ap.add_argument("--entries", type=int, default=300)
    ap.add_argument("--feeds", type=int, default=5)
    args = ap.parse_args()
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)], stdin=subprocess.PIPE)
    try:
        wait_for_port(port)
        tmp = Path(tempfile.mkdtemp(prefix="mailfeed-bench-digest-"))
        url = f"sqlite:///{tmp}/bench.sqlite3"
        settings = Settings(
            data_dir=tmp,
            database_url=url,
            relay_url=f"smtp://127.0.0.1:{port}",
            base_url="https://feeds.example.com",
            sqlite_synchronous="NORMAL",
            workers=1,
        )
        t = time.perf_counter()
        build(url, settings, args.readers, args.entries, args.feeds)
        print(
            f"setup: {args.readers} readers, {args.entries} entries in {args.feeds} feeds "
            f"({time.perf_counter() - t:.1f} s)"
        )
        store = open_store(url, synchronous="NORMAL")
        now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

        # one real digest, to size the baseline's messages like mailfeed's
        sample = send_due(
            store=store, settings=settings, now=now, instance="sample", dry_run=True, only="r0@example.org", force=True
        ).previews[0]
        size = len(sample)
        relay = relay_from_url(settings.relay_url)
        copies = [
            Outgoing(
                sample.replace(b"To: r0@example.org", f"To: r{i}@example.org".encode()),
                "bounces@example.com",
                f"r{i}@example.org",
            )
            for i in range(args.readers)
        ]
        t = time.perf_counter()
        for start in range(0, len(copies), BATCH):
            outcomes = asyncio.run(send_parallel(relay, copies[start : start + BATCH]))
            assert all(o.status == "sent" for o in outcomes)
        base_s = time.perf_counter() - t
        base_rate = args.readers / base_s

        t = time.perf_counter()
        report = send_due(store=store, settings=settings, now=now, instance="bench")
        ours_s = time.perf_counter() - t
        sent = report.counts["sent"]
        ours_rate = sent / ours_s
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ratio = ours_rate / base_rate
        print(f"digest size: {size} bytes")
        print(f"baseline: send {args.readers} pre-rendered messages: {base_s:.1f} s, {base_rate:.0f} msg/s")
        print(f"mailfeed: claim+collect+render+send+mark {sent} digests: {ours_s:.1f} s, {ours_rate:.0f} msg/s")
        print(
            f"ratio: {ratio:.2f}x (target >= {TARGET}x) "
            f"{'PASS' if ratio >= TARGET and sent == args.readers else 'FAIL'}"
        )
        print(f"peak RSS (this process): {rss:.0f} MB")
        store.dispose()
        return 0 if ratio >= TARGET and sent == args.readers else 1
    finally:
        sink.stdin.close()  # type: ignore[union-attr]
        sink.terminate()
        sink.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
