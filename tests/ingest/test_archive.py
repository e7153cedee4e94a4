"""Importing compressed mboxes (gzip, bzip2, xz; Mailman's monthly `.txt.gz`), damaged ones too."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import random
import tarfile
import zipfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.ingest import archive as archive_module
from gateway.ingest import maildir as maildir_module
from gateway.ingest import mbox as mbox_module
from gateway.ingest.archive import ImportError_, open_archive, open_archives
from gateway.ingest.backfill import import_archive
from gateway.parse_headers import HEADER_FIELD
from gateway.store.db import Store
from gateway.store.models import RawMessage
from tests.helpers import add_feed, make_mail

COUNT = 120


@cache
def messages() -> list[bytes]:
    """Mail that does not compress to nothing, so a cut file stops partway through."""
    rng = random.Random(7)
    return [
        make_mail(
            message_id=f"arch{i}@x",
            subject=f"Topic {i // 4}",
            in_reply_to=f"<arch{i - 1}@x>" if i % 4 else None,
            body="".join(rng.choice("abcdefghij klmnop\n") for _ in range(1500)) + "\n",
        ).replace(b"\r\n", b"\n")
        for i in range(COUNT)
    ]


def mbox(mails: list[bytes]) -> bytes:
    return b"".join(b"From ann@example.com Mon Mar  2 09:00:00 2026\n" + m + b"\n" for m in mails)


def stored(store: Store) -> list[bytes]:
    with store.read() as session:
        return list(session.scalars(sa.select(RawMessage.data).order_by(RawMessage.id)))


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress], ids=["gzip", "bzip2", "xz"])
def test_a_compressed_mbox_reads_as_the_plain_one_whatever_its_name(compress, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mails = messages()
    plain, packed = tmp_path / "2026-March.txt", tmp_path / "archive-without-a-telling-name"
    plain.write_bytes(mbox(mails))
    packed.write_bytes(compress(plain.read_bytes()))
    archive = open_archive(packed)
    read = list(archive.messages)
    assert [r.data for r in read] == [r.data for r in open_archive(plain).messages] == mails
    # progress counts the file's own bytes, so the bar ends full
    assert archive.total == sum(r.units for r in read) == packed.stat().st_size


def test_a_gzip_mbox_imports_into_posts_and_comments(settings: Settings, store: Store, tmp_path: Path) -> None:
    path = tmp_path / "2026-March.txt.gz"
    path.write_bytes(gzip.compress(mbox(messages())))
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(path).messages
    )
    assert summary.counts["posted"] == COUNT and not summary.stopped
    assert stored(store) == messages()


def test_a_cut_gzip_imports_what_came_before_and_says_where_it_stopped(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    whole = gzip.compress(mbox(messages()))
    path = tmp_path / "2026-March.txt.gz"
    path.write_bytes(whole[: len(whole) // 2])
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(path).messages
    )
    assert summary.stopped.startswith(f"{path}: the gzip data is damaged or cut short in message ")
    cut_in = int(summary.stopped.split("in message ")[1].split()[0])
    assert COUNT // 4 < cut_in < COUNT
    # every message before the cut, byte for byte, and nothing of the cut one
    assert summary.read == summary.counts["posted"] == cut_in - 1
    assert stored(store) == messages()[: cut_in - 1]


def test_a_gzip_damaged_partway_imports_nothing_of_it_and_says_so(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    """Bytes flipped halfway through a gzip: it gives wrong bytes from some point on and says so only
    at its end (its CRC), by which time 58 garbled messages were posted, and a good copy imported
    later counted them as duplicates. Where the damage begins cannot be told: nothing is imported."""
    whole = bytearray(gzip.compress(mbox(messages())))
    middle = len(whole) // 2
    whole[middle : middle + 50] = bytes(b ^ 0x5A for b in whole[middle : middle + 50])
    path = tmp_path / "2026-March.txt.gz"
    path.write_bytes(bytes(whole))
    feed_id = add_feed(store)
    summary = import_archive(store=store, settings=settings, feed_id=feed_id, messages=open_archive(path).messages)
    assert summary.stopped.startswith(f"{path}: the gzip data is damaged (") and "nothing of it" in summary.stopped
    assert summary.read == 0 and stored(store) == []
    # the good copy then imports whole, every message as sent
    path.write_bytes(gzip.compress(mbox(messages())))
    again = import_archive(store=store, settings=settings, feed_id=feed_id, messages=open_archive(path).messages)
    assert again.counts["posted"] == COUNT and stored(store) == messages()


def test_compressed_files_that_hold_no_mbox_are_refused_naming_the_file(tmp_path: Path) -> None:
    notes = tmp_path / "notes.gz"
    notes.write_bytes(gzip.compress(b"shopping list\n"))
    with pytest.raises(ImportError_, match=r"notes.gz: not an mbox file \(once uncompressed \(gzip\), it does not"):
        open_archive(notes)
    fake = tmp_path / "fake.xz"
    fake.write_bytes(b"\xfd7zXZ\x00" + b"rubbish" * 10)
    with pytest.raises(ImportError_, match=r"fake.xz: looks xz-compressed, but cannot be uncompressed"):
        open_archive(fake)


def test_a_maildir_file_gone_since_the_listing_is_named_and_the_others_go_in(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    """A running server moves a message from new/ to cur/ when a client reads it, mid-import."""
    mails = messages()[:6]
    for sub in ("new", "cur", "tmp"):
        (tmp_path / "Maildir" / sub).mkdir(parents=True)
    for i, data in enumerate(mails):
        (tmp_path / "Maildir" / "new" / f"17000000{i:02}.M1P1.host").write_bytes(data)
    archive = open_archive(tmp_path / "Maildir")
    (tmp_path / "Maildir" / "new" / "1700000002.M1P1.host").rename(tmp_path / "Maildir" / "cur" / "moved:2,S")
    summary = import_archive(store=store, settings=settings, feed_id=add_feed(store), messages=archive.messages)
    assert summary.counts["posted"] == 5 and stored(store) == mails[:2] + mails[3:]
    assert summary.stopped == (
        f"{tmp_path / 'Maildir'}: 1 of its files could not be read: "
        "new/1700000002.M1P1.host (No such file or directory); "
        "importing the Maildir again takes those still there"
    )


def test_a_maildir_whose_files_dovecot_compressed_gives_their_messages(
    settings: Settings, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dovecot's mail_compress plugin keeps Maildir files gzip-, bzip2- or xz-compressed; a damaged one is named."""
    mails = messages()[:4]
    cur = tmp_path / "Maildir" / "cur"
    cur.mkdir(parents=True)
    for i, (data, pack) in enumerate(
        zip(mails, (gzip.compress, bz2.compress, lzma.compress, lambda d: d), strict=True)
    ):
        (cur / f"17000000{i:02}.M1P1.host:2,SZ").write_bytes(pack(data))
    (cur / "1700000099.M1P1.host:2,SZ").write_bytes(gzip.compress(mails[0] + b"x")[:40])  # cut short
    monkeypatch.setattr(maildir_module, "MAX_UNCOMPRESSED", 1 << 20)
    (cur / "1700000100.M1P1.host:2,SZ").write_bytes(gzip.compress(b"From: a@b\n\n" + bytes(2 << 20)))  # a bomb
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(tmp_path / "Maildir").messages
    )
    assert summary.counts["posted"] == 4 and stored(store) == mails
    assert summary.stopped.startswith(f"{tmp_path / 'Maildir'}: 2 of its files could not be read: cur/1700000099.")
    assert "cur/1700000100.M1P1.host:2,SZ (more than 1 MB once uncompressed)" in summary.stopped


def test_maildir_plus_plus_folders_are_left_out_and_named(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    for folder in ("", ".Sent", ".Trash", ".Team.Archive"):
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True)
    (root / "cur" / "1700000000.M1P1.host:2,S").write_bytes(messages()[0])
    (root / ".Sent" / "cur" / "1700000001.M1P1.host:2,S").write_bytes(messages()[1])
    archive = open_archive(root)
    assert [r.data for r in archive.messages] == messages()[:1]
    assert archive.skipped == [
        f"{root}: its Maildir++ folders .Sent, .Team.Archive, .Trash "
        f"(import a folder by its own path, e.g. {root / '.Sent'})"
    ]
    assert [r.data for r in open_archive(root / ".Sent").messages] == messages()[1:2]


def test_a_message_file_imports_as_that_one_message(settings: Settings, store: Store, tmp_path: Path) -> None:
    """An .eml saved from a mail client (and Apple Mail's .emlx) is no mbox, but it is mail."""
    eml, emlx = tmp_path / "plan.eml", tmp_path / "1001.emlx"
    first, second = (m.replace(b"\n", b"\r\n") for m in messages()[:2])
    eml.write_bytes(first)
    emlx.write_bytes(b"%d\n" % len(second) + second + b"<?xml version='1.0'?><plist/>\n")
    archive = open_archives([eml, emlx])
    summary = import_archive(store=store, settings=settings, feed_id=add_feed(store), messages=archive.messages)
    assert (summary.read, summary.counts["posted"]) == (2, 2)
    assert stored(store) == [first, second]
    assert archive.total == eml.stat().st_size + emlx.stat().st_size


def test_a_compressed_message_file_is_read_to_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive_module, "MAX_UNCOMPRESSED", 1 << 20)
    fine, bomb = tmp_path / "fine.eml.gz", tmp_path / "bomb.eml.gz"
    fine.write_bytes(gzip.compress(messages()[0]))
    bomb.write_bytes(gzip.compress(b"From: a@b\nSubject: x\n\n" + bytes(2 << 20)))
    assert [r.data for r in open_archive(fine).messages] == messages()[:1]
    with pytest.raises(ImportError_, match=r"bomb.eml.gz: more than 1 MB once uncompressed \(gzip\), which no mail is"):
        list(open_archive(bomb).messages)


def test_an_outlook_msg_in_a_folder_of_messages_is_quarantined_saying_what_it_is(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "plan.eml").write_bytes(messages()[0])
    (folder / "budget.msg").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(folder).messages
    )
    assert (summary.counts["posted"], summary.counts["quarantined"]) == (1, 1)
    with store.read() as session:
        reason = session.scalar(sa.select(RawMessage.reason).where(RawMessage.status == "quarantined"))
    assert reason == "parse: no header block: an Outlook .msg file, not MIME mail (convert it with msgconvert)"


def test_an_mbox_message_too_long_to_be_mail_stops_the_reading_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged file (or a bomb) with no From_ line for gigabytes would take the machine's memory."""
    monkeypatch.setattr(mbox_module, "MAX_UNCOMPRESSED", 1 << 20)
    monkeypatch.setattr(mbox_module, "_BLOCK", 1 << 16)
    path = tmp_path / "team.mbox.gz"
    path.write_bytes(gzip.compress(mbox(messages()[:2]) + mbox([b"Subject: endless\n\n" + bytes(2 << 20)])))
    archive = open_archive(path)
    read = []
    with pytest.raises(ImportError_, match=r"in message 3 \(a message longer than 1 MB, which no mail is\)"):
        read.extend(r.data for r in archive.messages)
    assert read == messages()[:2]


def test_files_that_are_no_mail_are_refused_saying_what_they_are(tmp_path: Path) -> None:
    pst, msg, note = tmp_path / "archive.pst", tmp_path / "plan.msg", tmp_path / "note.txt"
    pst.write_bytes(b"!BDN" + bytes(508))
    msg.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    note.write_bytes(b"Note: buy milk\nand bread\n")  # a field-like first line, but no mail's field
    zipped, tarred = tmp_path / "Inbox.zip", tmp_path / "Inbox.tgz"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("Inbox/1.eml", messages()[0])
    with tarfile.open(tarred, "w:gz") as t:
        t.add(pst, arcname="Inbox/1.eml")
    refusals = [
        (pst, r"archive.pst: an Outlook data file \(.pst\), not an mbox: convert it first with readpst"),
        (msg, r"plan.msg: an Outlook message file \(.msg\), not MIME mail: save it from Outlook"),
        (note, r"note.txt: not an mbox file \(it does not start with a 'From ' line\), not a message file"),
        (zipped, r"Inbox.zip: a zip archive \(as webmail exports folders\), not an mbox: unpack"),
        (tarred, r"Inbox.tgz: a gzip tar archive \(as webmail exports folders\), not an mbox"),
    ]
    for path, refusal in refusals:
        with pytest.raises(ImportError_, match=refusal):
            open_archive(path)


def test_a_folder_of_mbox_files_gives_their_messages(tmp_path: Path) -> None:
    """Thunderbird's Local Folders: an mbox file a folder ("Inbox", "Sent"), and an .msf index beside each;
    Mailman's archive directory: a gzip'ed mbox a month."""
    local = tmp_path / "Local Folders"
    local.mkdir()
    (local / "Inbox").write_bytes(mbox(messages()[:2]))
    (local / "Inbox.msf").write_bytes(b'// <!-- <mdb:mork:z v="1.4"/> -->\n< <(a=c)> // (f=iso-8859-1)\n')
    (local / "Sent").write_bytes(mbox(messages()[2:3]))
    (local / "zz-2026-February.txt.gz").write_bytes(gzip.compress(mbox(messages()[3:5])))  # a Mailman month
    read = list(open_archive(local).messages)
    month = local / "zz-2026-February.txt.gz"
    assert [r.where for r in read] == [
        f"{local / 'Inbox'}#1",
        f"{local / 'Inbox'}#2",
        f"{local / 'Sent'}#1",
        f"{month}#1",
        f"{month}#2",
    ]
    assert [r.data for r in read] == messages()[:5]
    assert sum(r.units for r in read) == 3  # three files of messages
    assert {r.delivered for r in read} == {datetime(2026, 3, 2, 9, 0, tzinfo=UTC)}  # their From_ lines'


def test_messages_their_mailbox_marks_deleted_or_draft_are_left_out_and_counted(tmp_path: Path) -> None:
    """Maildir's T flag (deleted, not yet expunged) and D flag (a draft); Thunderbird's expunged flag, which
    keeps a deleted message in its mbox until the folder is compacted."""
    cur = tmp_path / "Maildir" / "cur"
    cur.mkdir(parents=True)
    (cur / "1700000000.M1P1.host:2,RS").write_bytes(messages()[0])
    (cur / "1700000001.M1P1.host:2,ST").write_bytes(messages()[1])
    (cur / "1700000002.M1P1.host:2,DS").write_bytes(messages()[2])
    maildir = open_archive(tmp_path / "Maildir")
    assert [r.data for r in maildir.messages] == messages()[:1]
    assert maildir.skipped == [f"{tmp_path / 'Maildir'}: 2 messages flagged trashed (T) or draft (D)"]

    def thunderbird(status: str, mail: bytes) -> bytes:
        return f"X-Mozilla-Status: {status}\nX-Mozilla-Status2: 00000000\n".encode() + mail

    inbox = tmp_path / "Inbox"
    inbox.write_bytes(
        mbox(
            [thunderbird("0001", messages()[0]), thunderbird("0009", messages()[1]), thunderbird("0011", messages()[2])]
        )
    )
    archive = open_archive(inbox)
    assert [r.data for r in archive.messages] == [
        thunderbird("0001", messages()[0]),
        thunderbird("0011", messages()[2]),
    ]
    assert archive.skipped == [f"{inbox}: 1 message Thunderbird marked deleted (kept until the folder is compacted)"]
    # given together, each still says what it left out (the counts were lost when several were given)
    both = open_archives([tmp_path / "Maildir", inbox])
    assert len(list(both.messages)) == 3
    assert both.skipped == [
        f"{tmp_path / 'Maildir'}: 2 messages flagged trashed (T) or draft (D)",
        f"{inbox}: 1 message Thunderbird marked deleted (kept until the folder is compacted)",
    ]


def test_apple_mails_exported_mailbox_is_read_as_its_mbox(settings: Settings, store: Store, tmp_path: Path) -> None:
    """ "Export Mailbox…" writes a Team.mbox/ folder: the mbox file, and Info.plist beside it."""
    bundle = tmp_path / "Team.mbox"
    bundle.mkdir()
    (bundle / "mbox").write_bytes(mbox(messages()[:3]))
    (bundle / "Info.plist").write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict/></plist>\n'
    )
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(bundle).messages
    )
    assert (summary.read, summary.counts["posted"]) == (3, 3)
    assert stored(store) == messages()[:3]


def test_apple_mails_emlx_files_give_their_message_without_the_count_and_properties(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    """Apple Mail's own store: each .emlx file is a byte count, the message, then a plist."""
    folder = tmp_path / "Team.mbox" / "Messages"
    folder.mkdir(parents=True)
    plist = b'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><key>flags</key></dict></plist>\n'
    for i, mail in enumerate(messages()[:2]):
        (folder / f"{1001 + i}.emlx").write_bytes(b"%d\n" % len(mail) + mail + plist)
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(tmp_path / "Team.mbox").messages
    )
    assert (summary.read, summary.counts["posted"]) == (2, 2)
    assert stored(store) == messages()[:2]


def test_from_lines_the_mbox_writer_escaped_are_as_sent_again(settings: Settings, store: Store, tmp_path: Path) -> None:
    """mboxrd escapes "From " as ">From " and ">From " as ">>From "; left in, the first reads as a quote."""
    sent = make_mail(
        message_id="escaped@x",
        body="Plan:\nFrom the start we said so.\n>From the old mbox too.\n> From a real quote, kept.\n",
    ).replace(b"\r\n", b"\n")
    escaped = sent.replace(b"\nFrom the", b"\n>From the").replace(b"\n>From the old", b"\n>>From the old")
    assert escaped != sent
    path = tmp_path / "escaped.mbox"
    path.write_bytes(mbox([escaped, messages()[0]]))
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(path).messages
    )
    assert summary.counts["posted"] == 2 and stored(store) == [sent, messages()[0]]
    with store.read() as session:
        text = session.scalar(sa.text("SELECT text FROM entry WHERE message_id = 'escaped@x'"))
    assert "\nFrom the start we said so." in text


def test_from_lines_no_writer_escaped_stay_in_their_message(settings: Settings, store: Store, tmp_path: Path) -> None:
    """mboxcl2 and some exporters leave body lines "From ..." as written: prose after an empty
    line is no From_ line unless a header field follows it or it carries a date, as real ones do."""
    prose = make_mail(
        message_id="prose@x",
        body="Notes from Monday.\n\nFrom what I hear, the launch went well.\nAnn sends figures.\n\n"
        "From here on: weekly.\n",
    ).replace(b"\r\n", b"\n")
    later = [make_mail(message_id=f"later{i}@x").replace(b"\r\n", b"\n") for i in range(3)]
    path = tmp_path / "unescaped.mbox"
    path.write_bytes(
        b"From ann@example.com Mon Mar  2 09:00:00 2026\n"
        + prose
        + b"\n"
        # Thunderbird's separator, then Gmail's (Takeout), then one with no date but a header next
        + b"From - Tue Mar  3 10:00:00 2026\n"
        + later[0]
        + b"\n"
        + b"From 1790000000000000001@xxx Wed Mar 04 11:00:00 +0000 2026\n"
        + later[1]
        + b"\n"
        + b"From bob@example.com\n"
        + later[2]
    )
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(path).messages
    )
    assert summary.read == 4 and summary.counts["posted"] == 4
    assert stored(store) == [prose, *later]
    with store.read() as session:
        text = session.scalar(sa.text("SELECT text FROM entry WHERE message_id = 'prose@x'"))
    assert "From what I hear, the launch went well." in text and "From here on: weekly." in text


def test_several_archives_are_each_checked_before_any_is_read(tmp_path: Path) -> None:
    february = tmp_path / "2026-February.txt"
    february.write_bytes(mbox(messages()[:2]))
    with pytest.raises(ImportError_, match=r"nope.mbox: no such file or directory"):
        open_archives([february, tmp_path / "nope.mbox"])
    both = open_archives([february, february])
    assert [r.data for r in both.messages] == messages()[:2] * 2
    assert both.total == 2 * february.stat().st_size and both.unit == "bytes"


# Each line ending in both forms, escaped From lines, a "From " line that starts no message
# (no empty line above it), an empty message, a message without a final newline.
TRICKY_MBOX = (
    b"From a Mon Mar  2 09:00:00 2026\n"
    b"Subject: one\n\nbody\nFrom here on, prose.\n>From escaped\n>>From twice\n\n"
    b"From b Mon Mar  2 09:01:00 2026\r\n"
    b"Subject: two\r\n\r\nbody\r\n\r\n"
    b"From c Mon Mar  2 09:02 2026\n"
    b"From d Mon Mar  2 09:03:00 CET 2026\n"
    b"\nFrom e Mon Mar  2 09:04:00 2026 +0100\n"
    b"Subject: five\n\nlast, no newline"
)
TRICKY_MESSAGES = [
    b"Subject: one\n\nbody\nFrom here on, prose.\nFrom escaped\n>From twice\n",
    b"Subject: two\r\n\r\nbody\r\n",
    b"",
    b"",
    b"Subject: five\n\nlast, no newline",
]


@pytest.mark.parametrize("block", [1, 2, 5, 6, 7, 64, 1 << 20])
def test_messages_split_alike_wherever_a_read_block_ends(
    block: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mbox is read in blocks: a From_ line, an empty line or "\\r\\n" cut by a block's end splits the same."""
    monkeypatch.setattr(mbox_module, "_BLOCK", block)
    path = tmp_path / "tricky.mbox"
    path.write_bytes(TRICKY_MBOX)
    read = list(open_archive(path).messages)
    assert [r.data for r in read] == TRICKY_MESSAGES
    assert [r.where for r in read] == [f"{path}#{n}" for n in range(1, 6)]
    assert [r.delivered for r in read] == [  # each From_ line's date, wherever a block cut it
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 1, tzinfo=UTC),
        datetime(2026, 3, 2, 9, 2, tzinfo=UTC),  # no seconds
        datetime(2026, 3, 2, 9, 3, tzinfo=UTC),  # a zone named, not numbered: read as UTC (hours off, not years)
        datetime(2026, 3, 2, 8, 4, tzinfo=UTC),  # "+0100"
    ]
    assert sum(r.units for r in read) == len(TRICKY_MBOX)


def _line_by_line(data: bytes) -> list[bytes]:
    """The mbox rule read the plain way, one line at a time: the reference for the block reader.

    It shares only the two tests of a From_ line's own text with the reader
    (a header field next, a date in it); the fixtures above pin those.
    """
    found: list[bytes] = []
    lines: list[bytes] | None = None
    every = list(io.BytesIO(data))  # lines end at "\n" only, as a file's do
    for k, line in enumerate(every):
        after = every[k + 1] if k + 1 < len(every) else b""
        if (
            line.startswith(b"From ")
            and (not lines or lines[-1] in (b"\n", b"\r\n"))
            and (lines is None or HEADER_FIELD.match(after) or mbox_module._ENVELOPE_DATE.search(line))
        ):
            if lines is not None:
                found.append(b"".join(lines[:-1] if lines and lines[-1] in (b"\n", b"\r\n") else lines))
            lines = []
            continue
        if lines is not None:
            lines.append(line[1:] if line.startswith(b">") and line.lstrip(b">").startswith(b"From ") else line)
    if lines is not None:
        found.append(b"".join(lines[:-1] if lines and lines[-1] in (b"\n", b"\r\n") else lines))
    return found


def test_random_mboxes_split_as_read_line_by_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pieces = [b"From a@b Mon\n", b"From x\r\n", b"\n", b"\r\n", b"text\n", b">From y\n", b">>From z\n", b"From "]
    pieces += [b"\r", b"x", b"Fro", b"m \n", b"\n\n", b"line\r\n", b">", b">From"]
    pieces += [b"Subject: s\n", b"X-A:\r\n", b"Sub", b"ject:", b"a b:\n", b"From c Mon Mar  2 09:00:00 2026\n"]
    rng = random.Random(11)
    path = tmp_path / "random.mbox"
    for _ in range(800):
        data = b"From start\n" + b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        path.write_bytes(data.replace(b"\r", b"") if rng.random() < 0.2 else data)
        monkeypatch.setattr(mbox_module, "_BLOCK", rng.choice([1, 2, 3, 7, 1 << 20]))
        assert [r.data for r in open_archive(path).messages] == _line_by_line(path.read_bytes())


def test_an_empty_mailbox_is_no_error_and_a_symlink_loop_says_so(tmp_path: Path) -> None:
    """An empty mbox (a folder with no mail yet) was "not an mbox file"; a symlink loop read as "no
    such file or directory"."""
    empty = tmp_path / "Drafts"
    empty.write_bytes(b"")
    archive = open_archive(empty)
    assert list(archive.messages) == [] and archive.skipped == [f"{empty}: an empty file, no messages"]
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ImportError_, match="too many levels of symbolic links"):
        open_archive(tmp_path / "a")
