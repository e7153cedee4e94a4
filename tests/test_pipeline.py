"""The pipeline end to end on stored mail: forwards, hostile HTML, charsets, inline images."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.pipeline import deliver, process_pending, requeue
from gateway.store.db import Store
from gateway.store.models import RawMessage
from gateway.web.app import create_app
from tests.helpers import EML, add_feed

GMAIL_FORWARD = """From: Otto Prem <otto@example.com>
To: team@example.com
Subject: Fwd: Server maintenance
Date: Tue, 3 Mar 2026 09:00:00 +0100
Message-ID: <{mid}>
Content-Type: text/plain; charset="us-ascii"

{note}

---------- Forwarded message ---------
From: Ops Team <ops@example.com>
Date: Mon, Mar 2, 2026 at 8:13 PM
Subject: Server maintenance
To: Otto Prem <otto@example.com>

Maintenance window is Saturday 02:00-04:00.
"""

APPLE_FORWARD = """From: Dee Doe <dee@example.com>
To: team@example.com
Subject: Fwd: Server maintenance
Date: Tue, 3 Mar 2026 10:00:00 +0100
Message-ID: <fwd-dee@example.com>
Content-Type: text/plain; charset="us-ascii"

Also got this, see below.

Begin forwarded message:

From: Ops Team <ops@example.com>
Subject: Server maintenance
Date: March 2, 2026 at 8:13:00 PM
To: Dee Doe <dee@example.com>

Maintenance window is Saturday 02:00-04:00.
"""


def put(store: Store, settings: Settings, feed_id: int, *mails: bytes | str) -> None:
    for data in mails:
        raw = data.encode() if isinstance(data, str) else data
        deliver(store=store, data=raw, feed_ids=[feed_id], source="import", max_bytes=settings.max_message_bytes)
    process_pending(store=store, settings=settings)


@pytest.fixture
def client(settings: Settings, store: Store) -> TestClient:
    return TestClient(create_app(settings, store))


def only_thread(client: TestClient) -> dict:  # type: ignore[type-arg]
    [t] = client.get("/api/feeds/team/threads").json()["threads"]
    return client.get(f"/api/threads/{t['id']}").json()  # type: ignore[no-any-return]


def test_same_original_forwarded_twice_is_one_post_listing_both(
    client: TestClient, store: Store, settings: Settings
) -> None:
    feed_id = add_feed(store)
    reply = (
        "From: Bob <bob@example.org>\nTo: team@example.com\nSubject: Re: Fwd: Server maintenance\n"
        "Message-ID: <re@example.org>\nIn-Reply-To: <fwd-dee@example.com>\n"
        "Date: Tue, 3 Mar 2026 11:00:00 +0100\n\nWhich Saturday?\n"
    )
    put(
        store,
        settings,
        feed_id,
        GMAIL_FORWARD.format(mid="fwd-otto@example.com", note="Heads up."),
        APPLE_FORWARD,
        reply,
    )
    d = only_thread(client)
    post = d["post"]
    assert post["author"] == {"name": "Ops Team", "address": "ops@example.com"}
    assert d["subject"] == "Server maintenance"
    assert post["text"].startswith("Maintenance window is Saturday")
    assert post["forwarded_by"] == {"name": "Otto Prem", "address": "otto@example.com"}
    assert [(f["by"]["address"], f["note"]) for f in post["forwards"]] == [
        ("otto@example.com", "Heads up."),
        ("dee@example.com", "Also got this, see below."),
    ]
    [comment] = d["comments"]
    assert comment["message_id"] == "re@example.org"
    assert comment["parent_message_id"] == post["message_id"]


def test_helpdesk_updates_are_ignored_until_automated_senders_lists_the_helpdesk(
    store: Store, settings: Settings
) -> None:
    """Zendesk marks its updates Auto-Submitted: the admin sees why one was not posted, lists the
    helpdesk, rebuilds, and the update is a post showing the ticket's newest comment."""
    feed_id = add_feed(store)
    put(store, settings, feed_id, (EML / "zendesk-cc-update-nested-tables.eml").read_bytes())
    client = TestClient(create_app(settings, store))
    assert client.get("/api/feeds/team/threads").json()["threads"] == []
    with store.read() as session:
        [(status, reason)] = session.execute(sa.select(RawMessage.status, RawMessage.reason)).all()
    assert status == "ignored" and "Auto-Submitted: auto-generated" in reason and "AUTOMATED_SENDERS" in reason

    listed = settings.model_copy(update={"automated_senders": "help.example.com"})
    assert requeue(store=store, which="all") == 1
    process_pending(store=store, settings=listed)
    d = only_thread(TestClient(create_app(listed, store)))
    post = d["post"]
    assert post["author"] == {"name": "Miro Lind", "address": "support@help.example.com"}
    assert post["text"].startswith("Miro Lind, Mar 5, 2026, 14:20 CET\n\nHello,\n\nthe VPN certificates were renewed")
    assert post["quoted_text"].startswith("Jonas Berg, Mar 5, 2026, 09:02 CET")
    assert "Please type your reply above this line" not in post["text"] + (post["html"] or "")
    assert d["comments"] == []


def test_a_trusted_list_that_rewrote_from_shows_its_member_as_the_author(store: Store, settings: Settings) -> None:
    """Google Groups sends a DMARC-reject sender's post as "'Ann Smith' via Team"; once the admin
    names the group in TRUSTED_LISTS and rebuilds, the thread and its post show Ann."""
    feed_id = add_feed(store)
    put(store, settings, feed_id, (EML / "google-groups-dmarc-rewritten-from.eml").read_bytes())
    post = only_thread(TestClient(create_app(settings, store)))["post"]
    assert post["author"] == {"name": "'Ann Smith' via Team", "address": "team@example.org"}

    trusting = settings.model_copy(update={"trusted_lists": "team@example.org"})
    assert requeue(store=store, which="all") == 1
    process_pending(store=store, settings=trusting)
    client = TestClient(create_app(trusting, store))
    [thread] = client.get("/api/feeds/team/threads").json()["threads"]
    assert thread["author"] == {"name": "Ann Smith", "address": "ann.smith@mail.example"}
    assert only_thread(client)["post"]["author"] == thread["author"]


def test_attached_rfc822_forward_shows_the_original(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    original = EmailMessage()
    original["From"] = "CEO <ceo@example.com>"
    original["To"] = "all@example.com"
    original["Subject"] = "All hands on Friday"
    original["Date"] = "Wed, 04 Mar 2026 08:00:00 -0500"
    original["Message-ID"] = "<allhands@example.com>"
    original.set_content("Everyone please join at 10.\n")
    outer = EmailMessage()
    outer["From"] = "Pat <pat@example.com>"
    outer["To"] = "team@example.com"
    outer["Subject"] = "Fwd: All hands on Friday"
    outer["Message-ID"] = "<fwd-pat@example.com>"
    outer.set_content("FYI\n")
    outer.add_attachment(original)
    put(store, settings, feed_id, outer.as_bytes(), original.as_bytes())  # then the original arrives directly
    d = only_thread(client)
    post = d["post"]
    assert (post["author"]["address"], d["subject"]) == ("ceo@example.com", "All hands on Friday")
    assert post["date"] == "2026-03-04T08:00:00-05:00"
    assert post["text"] == "Everyone please join at 10."
    assert post["forwards"][0]["note"] == "FYI"
    assert d["comments"] == []  # the original itself is no news: it is this post


XSS_VECTORS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    '<a href="javascript:alert(3)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg0KTwvc2NyaXB0Pg==">d</a>',
    '<svg onload="alert(5)"><script>alert(6)</script></svg>',
    '<div style="background:url(javascript:alert(7)); width: expression(alert(8))">css</div>',
    "<p>broken <b><i>markup</p></b><scr<script>ipt>alert(9)</script>",
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<form action="https://evil.example/"><input name=p><button>go</button></form>',
    '<iframe src="https://evil.example/"></iframe><object data="x"></object><embed src="x">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(10)></style></mglyph></table></mtext></math>",
    '<img src="https://tracker.example/pixel.gif" width="1" height="1">',
    "<style>body{background:url(https://tracker.example/css)}</style>",
]
FORBIDDEN = [
    "<script",
    "onerror",
    "onload",
    "javascript:",
    "data:text",
    "<svg",
    "<base",
    "<meta",
    "<form",
    "<iframe",
    "<object",
    "<embed",
    "<style",
    "expression(",
]
# a remote image may stay as a placeholder (data-src) but is never loaded (src, srcset, background)
REMOTE_LOAD = re.compile(r"(?<![\w-])(?:src|srcset|background)\s*=\s*[\"']?https?:", re.IGNORECASE)


def test_xss_vectors_never_survive_to_the_api(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    mails = []
    for i, vector in enumerate(XSS_VECTORS):
        m = MIMEMultipart("alternative")
        m["From"] = "Mallory <mallory@example.com>"
        m["To"] = "team@example.com"
        m["Subject"] = f"Vector {i}"
        m["Message-ID"] = f"<xss{i}@example.com>"
        m.attach(MIMEText("plain part", "plain"))
        m.attach(MIMEText(f"<html><body><p>hello</p>{vector}</body></html>", "html"))
        mails.append(m.as_bytes())
    put(store, settings, feed_id, *mails)
    threads = client.get("/api/feeds/team/threads", params={"limit": 50}).json()["threads"]
    assert len(threads) == len(XSS_VECTORS)
    for t in threads:
        html = client.get(f"/api/threads/{t['id']}").json()["post"]["html"] or ""
        lowered = html.lower()
        for needle in FORBIDDEN:
            assert needle not in lowered, (t["subject"], needle, html)
        assert not REMOTE_LOAD.search(html), html
        assert "hello" in html


def test_latin1_without_charset_is_detected_not_mangled(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    raw = (
        b"From: Zo\xe9 <zoe@example.com>\nTo: team@example.com\nSubject: Caf\xe9\nMessage-ID: <latin1@x>\n"
        b"Content-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\nUn caf\xe9 cr\xe8me, s'il vous pla\xeet.\n"
    )
    put(store, settings, feed_id, raw)
    d = only_thread(client)
    assert d["subject"] == "Café"
    assert d["post"]["text"] == "Un café crème, s'il vous plaît."
    assert d["post"]["author"]["name"] == "Zoé"


def test_inline_cid_image_points_at_the_stored_attachment(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    m = MIMEMultipart("related")
    m["From"] = "Ann <ann@example.com>"
    m["To"] = "team@example.com"
    m["Subject"] = "Chart"
    m["Message-ID"] = "<chart@example.com>"
    m.attach(MIMEText('<p>See chart:</p><img src="cid:chart1@example.com" alt="chart">', "html"))
    png = MIMEApplication(b"\x89PNG\r\n\x1a\nfake", "png")
    png.replace_header("Content-Type", "image/png")
    png.add_header("Content-ID", "<chart1@example.com>")
    png.add_header("Content-Disposition", "inline", filename="chart.png")
    m.attach(png)
    put(store, settings, feed_id, m.as_bytes())
    post = only_thread(client)["post"]
    [att] = post["attachments"]
    assert att["filename"] == "chart.png"
    assert "cid:" not in post["html"]
    # shown in the message, as the page shows it; the attachment's own url downloads it
    assert f'src="{att["url"]}?inline=1"' in post["html"] and "?" not in att["url"]
    assert client.get(f"{att['url']}?inline=1").headers["content-type"] == "image/png"
    assert post["text"].startswith("See chart:")


def test_a_data_url_picture_is_served_from_the_store(client: TestClient, store: Store, settings: Settings) -> None:
    feed_id = add_feed(store)
    put(store, settings, feed_id, (EML / "html-pasted-data-url-image.eml").read_bytes())
    post = only_thread(client)["post"]
    [att] = post["attachments"]
    assert (att["filename"], att["content_type"]) == ("image-1.png", "image/png")
    assert "data:" not in post["html"] and "cid:" not in post["html"]
    assert post["html"].count(f'src="{att["url"]}?inline=1"') == 2
    shown = client.get(att["url"] + "?inline=1")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert shown.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_attachment_names_are_decoded_and_made_safe() -> None:
    from gateway.parse_attachments import safe_filename

    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\report.pdf") == "report.pdf"
    assert safe_filename(".htaccess") == "htaccess"
    assert safe_filename("a\x00b\r\n.txt") == "a_b_.txt"
    assert safe_filename("x" * 300 + ".docx").endswith(".docx") and len(safe_filename("x" * 300 + ".docx")) == 150
    assert safe_filename("") == "attachment"
    assert safe_filename("invoice\u202efdp.exe") == "invoice_fdp.exe"  # would show as "invoiceexe.pdf"
    assert safe_filename("a\x93b\u2066c.pdf") == "a_b_c.pdf"
    # a name's own slash is no directory: "Rechnung 03/2024.pdf" was offered as "2024.pdf"
    assert safe_filename("Rechnung 03/2024.pdf") == "Rechnung 03-2024.pdf"
    assert safe_filename("/tmp/report.pdf") == "report.pdf" and safe_filename("a/../b.pdf") == "b.pdf"
    # a quote the sender's mailer left open ('name="aaaa; bbb.zip') was kept as "_aaaa; bbb.zip"
    assert safe_filename('"aaaa; bbb.zip') == "aaaa; bbb.zip"
    assert safe_filename("'s-Hertogenbosch.pdf") == "'s-Hertogenbosch.pdf"
    assert safe_filename("zero\u200bwidth\ufeff.pdf") == "zero_width_.pdf"  # invisible in a download bar


def test_rfc2231_name_big_attachment_and_inline_image(client: TestClient, store: Store, settings: Settings) -> None:
    settings = settings.model_copy(update={"max_attachment_bytes": 1000})
    client = TestClient(create_app(settings, store))
    feed_id = add_feed(store)
    m = EmailMessage()
    m["From"] = "Ann <ann@example.com>"
    m["To"] = "team@example.com"
    m["Subject"] = "Files"
    m["Message-ID"] = "<files@example.com>"
    m.set_content("Two files.\n")
    m.add_attachment(
        b"B" * 5000, maintype="application", subtype="octet-stream", filename=("utf-8", "", "Übersicht 2026.bin")
    )
    m.add_attachment(b"\x89PNG\r\n\x1a\nsmall", maintype="image", subtype="png", filename="=?utf-8?q?K=C3=A4se.png?=")
    put(store, settings, feed_id, m.as_bytes())
    big, png = only_thread(client)["post"]["attachments"]
    assert (big["filename"], big["size"]) == ("Übersicht 2026.bin", 5000)
    assert png["filename"] == "Käse.png"
    r = client.get(big["url"])  # not stored apart (over the cap): served from the raw message
    assert r.status_code == 200 and r.content == b"B" * 5000
    r = client.get(png["url"], params={"inline": 1})
    assert r.headers["content-type"] == "image/png" and r.headers["content-disposition"].startswith("inline;")
    r = client.get(png["url"])
    assert r.headers["content-type"] == "application/octet-stream"


def test_a_message_that_fails_to_place_is_quarantined_alone(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch is committed without savepoints first; a failure makes it go again with one per message."""
    import sqlalchemy as sa

    from gateway import commit
    from gateway.store.models import Entry, RawMessage
    from tests.helpers import make_mail

    feed_id = add_feed(store)
    for mid in ("a@x", "b@x", "c@x"):
        deliver(
            store=store,
            data=make_mail(message_id=mid, subject=mid),
            feed_ids=[feed_id],
            source="import",
            max_bytes=settings.max_message_bytes,
        )
    place = commit.place_and_save

    def failing(session, row, a, *args, **kwargs):  # type: ignore[no-untyped-def]
        if a.message_id == "b@x":
            raise RuntimeError("disk on fire")
        return place(session, row, a, *args, **kwargs)

    monkeypatch.setattr(commit, "place_and_save", failing)
    counts = process_pending(store=store, settings=settings)
    assert counts == {"posted": 2, "quarantined": 1}
    with store.read() as session:
        status = dict(session.execute(sa.select(RawMessage.message_id, RawMessage.status)).all())
        reason = session.scalar(sa.select(RawMessage.reason).where(RawMessage.status == "quarantined"))
        entries = set(session.scalars(sa.select(Entry.message_id)))
    assert entries == {"a@x", "c@x"}
    assert status["a@x"] == status["c@x"] == "posted"
    assert reason == "place: RuntimeError: disk on fire"


def test_batches_shrink_to_what_big_messages_allow(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch holds about BATCH_BYTES of raw mail after the first, whatever count the caller asked for."""
    from gateway import pipeline
    from tests.helpers import make_mail

    feed_id = add_feed(store)
    for i in range(12):
        deliver(
            store=store,
            data=make_mail(message_id=f"m{i}@x", subject=f"m{i}", body="x" * 40_000 + "\n"),
            feed_ids=[feed_id],
            source="import",
            max_bytes=settings.max_message_bytes,
        )
    asked: list[int] = []
    pending = pipeline._pending

    def counting(store: Store, after: int, batch: int) -> list:  # type: ignore[type-arg]
        asked.append(batch)
        return pending(store, after, batch)

    monkeypatch.setattr(pipeline, "_pending", counting)
    monkeypatch.setattr(pipeline, "BATCH_BYTES", 100_000)  # two of these 40 KB messages
    monkeypatch.setattr(pipeline, "FIRST_BATCH", 4)
    counts = process_pending(store=store, settings=settings, batch=64)
    assert counts == {"posted": 12}
    assert asked[0] == 4 and set(asked[1:]) == {2}


def test_workers_read_on_while_incoming_mail_holds_the_commit_back(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve's processor waits for incoming mail to pause before it commits; meanwhile the
    workers analyse later batches, never more than WAITING_MESSAGES queued. Once mail stops,
    each commit still hands them the next batch, so they do not idle while the queue they
    read ahead is committed. Every message is placed once, in raw-id order, replies under
    their posts."""
    import sqlalchemy as sa

    from gateway import pipeline
    from gateway.store.models import Entry
    from tests.helpers import make_mail

    feed_id = add_feed(store)
    for i in range(40):
        parent = f"m{i - 1}@x" if i % 5 else None
        deliver(
            store=store,
            data=make_mail(message_id=f"m{i}@x", subject=f"topic {i // 5}", in_reply_to=parent),
            feed_ids=[feed_id],
            source="import",
            max_bytes=settings.max_message_bytes,
        )
    analysed: list[int] = []
    committed = [0]
    waits: list[tuple[int, int]] = []

    def eager(fn, jobs):  # type: ignore[no-untyped-def]  # as a pool's map: the work starts when handed out
        jobs = list(jobs)
        analysed.extend(j.raw_id for j in jobs)
        return iter([fn(j) for j in jobs])

    ahead: list[tuple[int, int]] = []  # at each commit: messages analysed besides it, and analysed so far

    def incoming_mail(meanwhile) -> None:  # type: ignore[no-untyped-def]
        before = len(analysed)
        for _ in range(30 if len(waits) < 2 else 0):  # polls while mail keeps arriving: two bursts, then none
            meanwhile()
            assert len(analysed) - committed[0] <= 12 + 4  # the queue's cap, and the batch about to commit
        waits.append((before, len(analysed)))

    commit_batch = pipeline._commit_batch

    def counting(store, settings, rows, *rest):  # type: ignore[no-untyped-def]
        ahead.append((len(analysed) - committed[0] - len(rows), len(analysed)))
        committed[0] += len(rows)
        return commit_batch(store, settings, rows, *rest)

    monkeypatch.setattr(pipeline, "WAITING_MESSAGES", 12)
    monkeypatch.setattr(pipeline, "_commit_batch", counting)
    counts = process_pending(store=store, settings=settings, run=eager, batch=4, before_write=incoming_mail)

    assert counts == {"posted": 40}
    assert waits[0] == (12, 16)  # AHEAD batches and the next were handed out; the wait read one more
    assert all(queued == 12 for queued, seen in ahead if seen < 40)  # still at the cap with no mail arriving
    assert sorted(analysed) == analysed and len(set(analysed)) == 40  # each once, in raw-id order
    with store.read() as session:
        rows = session.execute(
            sa.select(Entry.raw_id, Entry.message_id, Entry.parent_message_id, Entry.thread_id).order_by(Entry.id)
        ).all()
    assert [raw for raw, *_ in rows] == sorted(raw for raw, *_ in rows)  # placed in raw-id order
    assert [parent for _, _, parent, _ in rows] == [f"m{i - 1}@x" if i % 5 else None for i in range(40)]
    assert len({thread for *_, thread in rows}) == 8


def _report(day: int, text: str, extra: str = "") -> str:
    return (
        "From: Backup <backup@example.com>\nTo: team@example.com\nSubject: Nightly backup\n"
        f"Date: Mon, {day} Mar 2026 03:00:00 +0000\nMessage-ID: <report@backup-host>\n{extra}\n{text}\n"
    )


def test_a_message_id_a_sender_reuses_for_other_messages_hides_none_of_them(
    client: TestClient, store: Store, settings: Settings
) -> None:
    """A script that sends every report under one Message-ID: each report is shown; each copy of one is not."""
    feed_id = add_feed(store)
    put(
        store,
        settings,
        feed_id,
        _report(2, "0 errors, 12.4 GB."),
        _report(3, "2 errors, 12.5 GB."),  # another night, another text: another message
        _report(3, "2 errors, 12.5 GB.", "Received: by relay.example.com; Mon, 3 Mar 2026 03:00:05 +0000\n"),
        _report(2, "0 errors, 12.4 GB.\n\n-- \nteam mailing list\nhttps://lists.example.com/team"),  # the list's copy
        _report(9, "0 errors, 12.4 GB."),  # the same text a week later: taken for a copy, as the same bytes are
    )
    threads = client.get("/api/feeds/team/threads").json()["threads"]
    posts = [client.get(f"/api/threads/{t['id']}").json()["post"] for t in threads]
    assert sorted((p["date"], p["text"]) for p in posts) == [
        ("2026-03-02T03:00:00+00:00", "0 errors, 12.4 GB."),
        ("2026-03-03T03:00:00+00:00", "2 errors, 12.5 GB."),
    ]
    ids = sorted(p["message_id"] for p in posts)
    assert ids[0].endswith("@reused.mailfeed.invalid") and ids[1] == "report@backup-host"
    with store.read() as session:
        statuses = sorted(session.scalars(sa.select(RawMessage.status)))
    assert statuses == ["duplicate", "duplicate", "duplicate", "posted", "posted"]
    # a rebuild from raw places them alike
    requeue(store=store, which="all")
    process_pending(store=store, settings=settings)
    again = [
        client.get(f"/api/threads/{t['id']}").json()["post"]
        for t in client.get("/api/feeds/team/threads").json()["threads"]
    ]
    assert sorted(p["message_id"] for p in again) == ids
