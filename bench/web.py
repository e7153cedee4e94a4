"""Web benchmark: mailfeed's pages and Atom feed against a plain sqlite3/psycopg + Jinja2 baseline.

Run `python -m bench.web` (`--quick` for a small smoke run, `--pg` to add
PostgreSQL). With 10,000 threads and ~100,000 entries in a fresh database,
three URLs are loaded with 16 concurrent connections (wrk when installed,
else an asyncio/httpx load generator) against:

- mailfeed: `create_app(settings)` under uvicorn, one worker (subprocess),
  `MAILFEED_AUTH=open` (every visitor is the local admin);
- the baseline: a bare ASGI app under the same uvicorn (one worker, same
  loop and HTTP parser) that reads the same rows with the DB-API driver
  directly (sqlite3 or psycopg) and renders them with the same Jinja2
  environment and templates (the Atom feed with the same
  `gateway.feed.render_atom`) — i.e. everything but FastAPI, SQLAlchemy,
  the access checks, security headers and ETags. It serves byte-for-byte
  the same bodies as mailfeed (CSRF tokens aside); the bench checks that
  before it measures, so the baseline can never quietly render less.

Pages: the feed page `/f/bench` (50 threads with repliers and attachment
counts), a 50-comment thread `/t/1`, the Atom feed `/f/bench/feed.atom`.
Target: mailfeed >= 0.8 x baseline requests/s for each. Exit status 1 when
a target fails. Both servers are up together but loaded one at a time, in
alternating short runs, so they never share a core and both see the same
background load; the reported ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

THREADS = 10_000
PER_THREAD = 10  # entries per thread; thread 1 has a post and 50 comments
TARGET = 0.8
URLS = ("/f/bench", "/t/1", "/f/bench/feed.atom")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --- data -------------------------------------------------------------------------


def populate(url: str, threads: int) -> None:
    """Bulk rows straight into a migrated database (pages only read; no pipeline needed)."""
    import sqlalchemy as sa

    from gateway.store.db import open_store
    from gateway.store.models import Attachment, Blob, Entry, Feed, RawMessage, Thread

    store = open_store(url, synchronous="OFF" if url.startswith("sqlite") else "FULL")
    with store.write() as s, s.begin():
        s.execute(
            sa.insert(Feed), [{"slug": "bench", "address": "bench@example.com", "title": "Bench", "created_at": T0}]
        )
        fid = s.scalar(sa.select(Feed.id))
        s.execute(sa.insert(Blob), [{"sha256": "0" * 64, "data": b"%PDF-1.4 x", "size": 10}])
    eid = 0
    for start in range(1, threads + 1, 500):
        raws, entries, thr, atts = [], [], [], []
        for t in range(start, min(start + 500, threads + 1)):
            n = 51 if t == 1 else PER_THREAD
            first = eid + 1
            for k in range(n):
                eid += 1
                when = T0 + timedelta(minutes=t * 7 + k)
                raws.append(
                    {
                        "id": eid,
                        "feed_id": fid,
                        "sha256": f"{eid:064x}",
                        "data": b"x",
                        "size": 1,
                        "source": "import",
                        "envelope_from": "",
                        "envelope_to": "",
                        "received_at": when,
                        "status": "posted",
                        "reason": "",
                        "message_id": f"m{eid}@bench",
                    }
                )
                author = k % 7
                entries.append(
                    {
                        "id": eid,
                        "feed_id": fid,
                        "thread_id": first,
                        "raw_id": eid,
                        "message_id": f"m{eid}@bench",
                        "parent_message_id": None if k == 0 else f"m{eid - 1}@bench",
                        "chain": "",
                        "author_name": f"Person {author}",
                        "author_address": f"p{author}@example.com",
                        "date": when,
                        "tz_offset": 60,
                        "subject": f"Topic {t}" if k == 0 else f"Re: Topic {t}",
                        "text": f"Message {eid} about topic {t}.\n\nSome words for the body, line two.\n" * 3,
                        "quoted_text": "> earlier words\n" * 4 if k else "",
                        "signature": "-- \nPerson",
                        "html": None,
                        "snippet": f"Message {eid} about topic {t}.",
                        "forwarded_by_name": None,
                        "forwarded_by_address": None,
                    }
                )
                if k == 0 and t % 5 == 0:
                    atts.append(
                        {
                            "entry_id": eid,
                            "position": 0,
                            "filename": "report.pdf",
                            "content_type": "application/pdf",
                            "size": 10,
                            "sha256": "0" * 64,
                            "content_id": "",
                            "inline": False,
                        }
                    )
            thr.append(
                {
                    "id": first,
                    "feed_id": fid,
                    "subject": f"Topic {t}",
                    "subject_key": f"topic {t}",
                    "post_entry_id": first,
                    "created_at": T0 + timedelta(minutes=t * 7),
                    "last_activity_at": T0 + timedelta(minutes=t * 7 + n - 1),
                    "entry_count": n,
                }
            )
        with store.write() as s, s.begin():
            s.execute(sa.insert(RawMessage), raws)
            s.execute(sa.insert(Entry), entries)
            s.execute(sa.insert(Thread), thr)
            if atts:
                s.execute(sa.insert(Attachment), atts)
    store.dispose()


# --- the baseline app ---------------------------------------------------------------


def baseline_app(url: str) -> Any:
    """A bare ASGI app: DB-API reads of the same rows, the same Jinja2 templates, the same HTML out.

    It renders exactly what mailfeed serves in the bench's `open` mode (every visitor is
    the local admin, so thread pages carry the admin forms with a CSRF token), and the
    Atom feed with the same items; `measure` checks that the bodies are equal.
    """
    import base64
    import secrets
    import threading

    from gateway import feed as fmt
    from gateway.web.auth import Viewer
    from gateway.web.render import templates

    env = templates.env
    local = threading.local()
    pg = not url.startswith("sqlite")
    admin = Viewer(email=None, admin=True)

    def conn() -> Any:
        c = getattr(local, "c", None)
        if c is None:
            if pg:
                import psycopg

                c = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
            else:
                import sqlite3

                c = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
            local.c = c
        return c

    def q(sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        return conn().execute(sql.replace("?", "%s") if pg else sql, args).fetchall()

    def dt(v: Any) -> datetime:
        return (v if isinstance(v, datetime) else datetime.fromisoformat(v)).replace(tzinfo=UTC)

    def feed_row(slug: str) -> SimpleNamespace:
        r = q("SELECT id, slug, title, address FROM feed WHERE slug = ?", (slug,))[0]
        return SimpleNamespace(id=r[0], slug=r[1], title=r[2], address=r[3])

    def threads(feed_id: int) -> tuple[list[SimpleNamespace], str | None]:
        rows = q(
            "SELECT t.id, t.feed_id, t.subject, t.created_at, t.last_activity_at, t.entry_count - 1, "
            "t.post_entry_id, e.author_name, e.author_address, e.snippet, e.html, e.text FROM thread t "
            "LEFT JOIN entry e ON e.id = t.post_entry_id WHERE t.feed_id = ? AND t.post_entry_id NOT IN "
            "(SELECT entry_id FROM moderation) ORDER BY t.last_activity_at DESC, t.id DESC LIMIT 51",
            (feed_id,),
        )
        ts = [
            SimpleNamespace(
                id=r[0],
                feed_id=r[1],
                subject=r[2],
                created_at=dt(r[3]),
                last_activity_at=dt(r[4]),
                comment_count=r[5],
                post_id=r[6],
                author_name=r[7],
                author_address=r[8],
                snippet=r[9],
                html=r[10],
                text=r[11],
                repliers=[],
                attachments=0,
            )
            for r in rows[:50]
        ]
        nxt = None
        if len(rows) > 50:
            raw = f"{ts[-1].last_activity_at.isoformat()}|{ts[-1].id}".encode()
            nxt = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return ts, nxt

    def feed_page(slug: str) -> str:
        feed = feed_row(slug)
        ts, nxt = threads(feed.id)
        by = {t.id: t for t in ts}
        marks = ",".join("?" * len(by))
        for tid, name, addr, _ in q(
            f"SELECT thread_id, author_name, author_address, min(date) FROM entry WHERE thread_id IN ({marks}) "
            "AND id NOT IN (SELECT entry_id FROM moderation) GROUP BY thread_id, author_name, author_address "
            "ORDER BY min(date)",
            tuple(by),
        ):
            if addr != by[tid].author_address:
                by[tid].repliers.append(name or addr)
        for tid, n in q(
            f"SELECT e.thread_id, count(a.id) FROM entry e JOIN attachment a ON a.entry_id = e.id "
            f"WHERE e.thread_id IN ({marks}) AND a.inline = ? GROUP BY e.thread_id",
            (*by, False),
        ):
            by[tid].attachments = n
        token = secrets.token_urlsafe(24)
        return env.get_template("feed.html").render(
            feed=feed,
            threads=ts,
            next_cursor=nxt,
            cursor=None,
            now=datetime.now(UTC),
            viewer=admin,
            auth="open",
            csrf_token=lambda: token,
        )

    def thread_page(tid: int) -> str:
        t = q("SELECT id, feed_id, subject, post_entry_id FROM thread WHERE id = ?", (tid,))[0]
        f = q("SELECT id, slug, title FROM feed WHERE id = ?", (t[1],))[0]
        cols = (
            "id, feed_id, thread_id, raw_id, message_id, parent_message_id, chain, author_name, author_address, "
            "date, tz_offset, subject, text, quoted_text, signature, html, snippet, forwarded_by_name, "
            "forwarded_by_address"
        )
        names = [c.strip() for c in cols.split(",")]
        entries = [
            SimpleNamespace(**dict(zip(names, r, strict=True)))
            for r in q(f"SELECT {cols} FROM entry WHERE thread_id = ? ORDER BY date, id", (tid,))
        ]
        for e in entries:
            e.date = dt(e.date)
        ids = tuple(e.id for e in entries)
        marks = ",".join("?" * len(ids))
        hidden = {r[0] for r in q(f"SELECT entry_id FROM moderation WHERE entry_id IN ({marks})", ids)}
        atts: dict[int, list[Any]] = {}
        for r in q(
            f"SELECT entry_id, position, filename, content_type, size, content_id FROM attachment "
            f"WHERE entry_id IN ({marks}) ORDER BY position",
            ids,
        ):
            atts.setdefault(r[0], []).append(
                SimpleNamespace(
                    entry_id=r[0], position=r[1], filename=r[2], content_type=r[3], size=r[4], content_id=r[5]
                )
            )
        q(f"SELECT id FROM forward WHERE entry_id IN ({marks})", ids)
        view = SimpleNamespace(
            thread=SimpleNamespace(id=t[0], subject=t[2]),
            feed=SimpleNamespace(id=f[0], slug=f[1], title=f[2]),
            entries=entries,
            attachments=atts,
            forwards={},
            hidden=hidden,
        )
        token = secrets.token_urlsafe(24)
        return env.get_template("thread.html").render(
            view=view,
            parents={e.message_id: e for e in entries},
            images=False,
            now=datetime.now(UTC),
            viewer=admin,
            auth="open",
            csrf_token=lambda: token,
        )

    def atom(slug: str, base: str) -> bytes:
        from gateway.store.view_rows import ForwardRow
        from gateway.web.render import attachment_url, entry_body, forwards_html

        feed = feed_row(slug)
        ts, _ = threads(feed.id)
        ids = tuple(t.post_id for t in ts)
        atts: dict[int, list[Any]] = {}
        for r in q(
            f"SELECT entry_id, position, filename, content_type, size, content_id FROM attachment "
            f"WHERE entry_id IN ({','.join('?' * len(ids))}) ORDER BY position",
            ids,
        ):
            atts.setdefault(r[0], []).append(
                SimpleNamespace(position=r[1], filename=r[2], content_type=r[3], size=r[4], content_id=r[5])
            )
        forwards: dict[int, list[ForwardRow]] = {}
        for r in q(
            f"SELECT entry_id, by_name, by_address, date, note FROM forward "
            f"WHERE entry_id IN ({','.join('?' * len(ids))}) ORDER BY entry_id, id",
            ids,
        ):
            forwards.setdefault(r[0], []).append(ForwardRow(*r))
        items = []
        for t in ts:
            a = atts.get(t.post_id, [])
            post = SimpleNamespace(id=t.post_id, html=t.html, text=t.text)
            body = str(forwards_html(forwards.get(t.post_id, [])) + entry_body(post, a, base=base, feed=True))  # type: ignore[arg-type]
            if t.comment_count:
                n = t.comment_count
                body += f'<p><a href="{base}/t/{t.id}">{n} comment{"s" if n != 1 else ""}</a></p>'
            items.append(
                fmt.Item(
                    id=fmt.stable_id(slug, "thread", str(t.post_id)),
                    url=f"{base}/t/{t.id}",
                    title=t.subject,
                    author_name=t.author_name,
                    author_email=t.author_address,
                    published=t.created_at,
                    updated=t.last_activity_at,
                    content_html=body,
                    summary=t.snippet,
                    enclosures=[
                        fmt.Enclosure(base + attachment_url(t.post_id, x), x.content_type, x.size, x.filename)
                        for x in a
                    ],
                )
            )
        info = fmt.FeedInfo(
            id=fmt.stable_id(slug),
            title=feed.title,
            home_url=f"{base}/f/{slug}",
            self_url=f"{base}/f/{slug}/feed.atom",
            json_url=f"{base}/f/{slug}/feed.json",
            subtitle=f"Mail to {feed.address}",
        )
        return fmt.render_atom(info, items)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        loop = asyncio.get_running_loop()
        if path.startswith("/f/") and path.endswith("/feed.atom"):
            host = next((v.decode() for k, v in scope["headers"] if k == b"host"), "127.0.0.1")
            body = await loop.run_in_executor(None, atom, path[3:-10], f"http://{host}")
            ctype = b"application/atom+xml; charset=utf-8"
        elif path.startswith("/f/"):
            body, ctype = (await loop.run_in_executor(None, feed_page, path[3:])).encode(), b"text/html; charset=utf-8"
        elif path.startswith("/t/"):
            body = (await loop.run_in_executor(None, thread_page, int(path[3:]))).encode()
            ctype = b"text/html; charset=utf-8"
        else:
            body, ctype = b"not found", b"text/plain"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


def serve(kind: str, url: str, port: int) -> None:
    """Subprocess entry: run one of the two apps under uvicorn on 127.0.0.1:port."""
    import logging

    import uvicorn

    logging.getLogger("alembic").setLevel(logging.WARNING)
    if kind == "mailfeed":
        from gateway.config import Settings
        from gateway.web.app import create_app

        app = create_app(Settings(database_url=url, sqlite_synchronous="NORMAL"))
    else:
        app = baseline_app(url)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- load ---------------------------------------------------------------------------


def load(url: str, seconds: float, connections: int) -> float:
    """Requests per second at `connections` concurrent connections (wrk, else httpx)."""
    if shutil.which("wrk"):
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{int(seconds)}s", url], capture_output=True, text=True, check=True
        ).stdout
        if "Non-2xx" in out:
            raise RuntimeError(f"{url}: errors under load:\n{out}")
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return asyncio.run(_httpx_load(url, seconds, connections))


async def _httpx_load(url: str, seconds: float, connections: int) -> float:
    import httpx

    done = 0
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections)) as client:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                r = await client.get(url)
                r.raise_for_status()
                done += 1

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
    return done / (time.monotonic() - start)


def start(kind: str, url: str) -> tuple[subprocess.Popen[bytes], int]:
    from tests.servers import free_port, wait_for_port

    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "bench.web", "--serve", kind, url, str(port)], start_new_session=True)
    wait_for_port(port, timeout=60)
    return p, port


_CSRF = re.compile(rb'name="csrf" value="[^"]*"')


def fetch(port: int, path: str) -> bytes:
    """One GET; the body with CSRF tokens and the port masked (each server has its own)."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
        assert r.status == 200, (path, r.status)
        return _CSRF.sub(b'name="csrf" value=""', r.read()).replace(f"127.0.0.1:{port}".encode(), b"HOST")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all threads (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(url: str, seconds: float, rounds: int, label: str) -> bool:
    """Both servers up at once but loaded one at a time, alternating, `rounds` times per page.

    The machine may be loaded by other work that comes and goes; alternating short
    runs puts both sides under the same load, and the ratio is taken per round
    (the median is reported). The bodies must be equal first: same rows, same HTML.
    Requests per CPU-second of the server process are shown too: they hardly move
    with the machine's other load, so they show the cost per request when req/s is
    noisy (the database server's own CPU is not in them).
    """
    servers = {kind: start(kind, url) for kind in ("mailfeed", "baseline")}
    rates: dict[str, dict[str, list[float]]] = {k: {p: [] for p in URLS} for k in servers}
    per_cpu: dict[str, dict[str, list[float]]] = {k: {p: [] for p in URLS} for k in servers}
    try:
        for path in URLS:
            bodies = {kind: fetch(port, path) for kind, (_, port) in servers.items()}
            if bodies["mailfeed"] != bodies["baseline"]:
                raise RuntimeError(
                    f"{path}: the baseline does not serve what mailfeed serves "
                    f"({len(bodies['baseline'])} vs {len(bodies['mailfeed'])} bytes)"
                )
            for _, port in servers.values():
                load(f"http://127.0.0.1:{port}{path}", 2, 16)  # warm up
        for r in range(rounds):
            for path in URLS:
                order = list(servers) if r % 2 == 0 else list(servers)[::-1]
                for kind in order:
                    proc, port = servers[kind]
                    cpu = cpu_seconds(proc.pid)
                    rate = load(f"http://127.0.0.1:{port}{path}", seconds, 16)
                    cpu = cpu_seconds(proc.pid) - cpu
                    rates[kind][path].append(rate)
                    per_cpu[kind][path].append(rate * seconds / cpu if cpu else 0.0)
    finally:
        for p, _ in servers.values():
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=30)
    ok = True
    print(
        f"\n{label}: requests/s at 16 connections ({'wrk' if shutil.which('wrk') else 'httpx'}), "
        f"{rounds} alternating rounds of {seconds:g} s; medians"
    )
    print(
        f"  {'page':20} {'mailfeed':>8} {'baseline':>8} {'ratio':>5}  {'ratio per round':{6 * rounds}}"
        f"{'req/CPU-s: mailfeed':>20} {'baseline':>8} {'ratio':>5}"
    )
    for path in URLS:
        m, b = rates["mailfeed"][path], rates["baseline"][path]
        per_round = [x / y for x, y in zip(m, b, strict=True)]
        ratio = statistics.median(per_round)
        ok &= ratio >= TARGET
        mc, bc = statistics.median(per_cpu["mailfeed"][path]), statistics.median(per_cpu["baseline"][path])
        rounds_text = " ".join(f"{x:.2f}" for x in per_round)
        print(
            f"  {path:20} {statistics.median(m):8.1f} {statistics.median(b):8.1f} {ratio:5.2f}  "
            f"{rounds_text:{6 * rounds}}{mc:20.1f} {bc:8.1f} {mc / bc if bc else 0:5.2f}  "
            f"{'PASS' if ratio >= TARGET else 'FAIL'} (>= {TARGET})"
        )
    return ok


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:4], int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 threads, 2 s per measurement")
    ap.add_argument("--pg", action="store_true", help="also measure on a throw-away PostgreSQL")
    ap.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds per page")
    args = ap.parse_args()
    threads = 1_000 if args.quick else THREADS
    seconds = 2.0 if args.quick else args.seconds
    d = Path(tempfile.mkdtemp(prefix="mailfeed-bench-web-"))
    ok = True
    try:
        url = f"sqlite:///{d}/bench.sqlite3"
        t = time.perf_counter()
        populate(url, threads)
        print(
            f"SQLite: {threads} threads, ~{threads * PER_THREAD + 41} entries written in "
            f"{time.perf_counter() - t:.1f} s"
        )
        ok &= measure(url, seconds, args.rounds, "SQLite")
        if args.pg:
            from tests.servers import start_postgres

            pg = start_postgres()
            try:
                import sqlalchemy as sa

                e = sa.create_engine(pg.url("postgres"), isolation_level="AUTOCOMMIT")
                with e.connect() as c:
                    c.exec_driver_sql("CREATE DATABASE bench")
                e.dispose()
                populate(pg.url("bench"), threads)
                ok &= measure(pg.url("bench"), seconds, args.rounds, "PostgreSQL")
            finally:
                pg.stop()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
