"""`mailfeed import` of the archive shapes a probe found mishandled: an mbox with a byte-order mark or
blank lines first, classic Mac line ends, zstd, Apple Mail's nested export, a folder with files that are
no mail, MH's deleted messages. The command runs in-process (typer's runner), on SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import Result

from gateway.config import Settings
from gateway.store.db import open_store
from gateway.store.models import RawMessage
from tests.helpers import in_process_cli

FROM_LINE = b"From ines@example.org Tue Mar  3 10:15:00 2026\n"

Mailfeed = Callable[..., Result]


def mail(n: int) -> bytes:
    """A short message from invented people, LF line ends, numbered so each is its own entry."""
    return (
        b"From: Ines Varga <ines@example.org>\nTo: team@example.com\n"
        b"Subject: Garden rota, week %d\nMessage-ID: <rota-%d@example.org>\n"
        b"Date: Tue, 3 Mar 2026 10:%02d:00 +0000\n\nTomas waters the beans in week %d.\nInes\n" % (n, n, n, n)
    )


def mbox(numbers: range) -> bytes:
    return b"".join(FROM_LINE + mail(n) + b"\n" for n in numbers)


@pytest.fixture
def mailfeed(tmp_path: Path) -> Mailfeed:
    run = in_process_cli(tmp_path)
    run("feed", "add", "team", "team@example.com")
    return run


def left_out(result: Result) -> list[str]:
    """The summary's "not imported:" lines (stderr holds the progress bar too)."""
    return [line for line in result.stderr.splitlines() if line.startswith("not imported:")]


def stored(tmp_path: Path) -> list[bytes]:
    store = open_store(Settings(data_dir=tmp_path / "data").db_url, upgrade=False)
    try:
        with store.read() as session:
            return list(session.scalars(sa.select(RawMessage.data).order_by(RawMessage.id)))
    finally:
        store.dispose()


def test_an_mbox_with_a_byte_order_mark_or_blank_lines_before_its_first_from_line_imports(
    mailfeed: Mailfeed, tmp_path: Path
) -> None:
    """Both were refused as "not an mbox file"."""
    bom, blank = tmp_path / "bom.mbox", tmp_path / "blank.mbox"
    bom.write_bytes(b"\xef\xbb\xbf" + mbox(range(2)))
    blank.write_bytes(b"\n\r\n \n" + mbox(range(2, 5)))
    assert "imported 2, duplicates 0, quarantined 0" in mailfeed("import", str(bom)).stdout
    assert "imported 3, duplicates 0, quarantined 0" in mailfeed("import", str(blank)).stdout
    assert stored(tmp_path) == [mail(n) for n in range(5)]


def test_an_mbox_with_classic_mac_line_ends_imports_each_message(mailfeed: Mailfeed, tmp_path: Path) -> None:
    """CR alone ends each line (Eudora, Mac OS 9): it read as one empty message. Each CR is a line end,
    stored as LF as an mbox's messages are; a ">From " the writer escaped loses its ">" as in any mbox."""
    escaped = mail(1).replace(b"Tomas", b"\n>From the shed, Tomas")
    path = tmp_path / "eudora-in.mbx"
    path.write_bytes(
        (FROM_LINE + mail(0) + b"\n" + FROM_LINE + escaped + b"\n" + FROM_LINE + mail(2)).replace(b"\n", b"\r")
    )
    assert "imported 3, duplicates 0, quarantined 0" in mailfeed("import", str(path)).stdout
    assert stored(tmp_path) == [mail(0), escaped.replace(b">From", b"From"), mail(2)]


def test_a_zstd_mbox_is_refused_naming_the_file_and_how_to_decompress_it(mailfeed: Mailfeed, tmp_path: Path) -> None:
    """Python 3.11 has no zstd: it was "not an mbox file", or, in a folder, a message quarantined."""
    packed = b"\x28\xb5\x2f\xfd\x24\x10\x81\x00" + bytes(24)  # a zstd frame's magic and header
    alone = tmp_path / "2026-March.mbox.zst"
    alone.write_bytes(packed)
    refused = mailfeed("import", str(alone), code=1)
    assert f"{alone}: zstd-compressed, which mailfeed does not read" in refused.stderr
    assert "decompress it first with `zstd -d`" in refused.stderr
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail(1))
    (folder / "old.mbox.zst").write_bytes(packed)
    partly = mailfeed("import", str(folder), code=1)
    assert "imported 1, duplicates 0, quarantined 0" in partly.stdout
    assert f"{folder}: 1 of its files could not be read: old.mbox.zst: zstd-compressed" in partly.stderr


def test_apple_mails_export_reads_the_mailboxes_nested_inside_it(mailfeed: Mailfeed, tmp_path: Path) -> None:
    """Exporting a mailbox with mailboxes inside writes Sub.mbox/ folders in Team.mbox/: only the outer was read."""
    plist = b'<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict/></plist>\n'
    team = tmp_path / "Team.mbox"
    for box, numbers in (
        (team, range(2)),
        (team / "Garden.mbox", range(2, 4)),
        (team / "Garden.mbox" / "Old.mbox", range(4, 5)),
    ):
        box.mkdir()
        (box / "mbox").write_bytes(mbox(numbers))
        (box / "Info.plist").write_bytes(plist)
    (team / "table_of_contents").write_bytes(b"\x00\x00\x00\x02toc\x00")
    result = mailfeed("import", str(team))
    assert "imported 5, duplicates 0, quarantined 0" in result.stdout and left_out(result) == []
    assert stored(tmp_path) == [mail(n) for n in range(5)]  # the outer mailbox first


def test_files_in_a_folder_that_are_no_mail_are_left_out_and_named(mailfeed: Mailfeed, tmp_path: Path) -> None:
    """Each was quarantined, and a text file that parsed was posted: left out, by name or by first bytes."""
    folder = tmp_path / "Exported mail"
    folder.mkdir()
    (folder / "0001.eml").write_bytes(mail(1))
    (folder / "0002.eml").write_bytes(mail(2).replace(b"\n", b"\r\n"))
    (folder / "README.txt").write_bytes(b"Exported by the mail tool.\nOne message a file.\n")
    (folder / "folderTree.json").write_bytes(b'{"Inbox": {"count": 2}}\n')
    (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64))
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(32))
    (folder / "Info.plist").write_bytes(b'<?xml version="1.0"?>\n<plist version="1.0"><dict/></plist>\n')
    (folder / "table_of_contents").write_bytes(b"\x00\x00\x00\x02toc\x00")
    (folder / "export-log").write_bytes(b"Status: done\nCount: 2\n\nno errors\n")  # a field, but none mail has
    (folder / "index").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    result = mailfeed("import", str(folder))
    assert "imported 2, duplicates 0, quarantined 0, ignored 0, held 0, refused 0 of 2 messages" in result.stdout
    assert left_out(result) == [
        f"not imported: {folder}: 5 files that are no mail, by their name "
        "(Info.plist, README.txt, Thumbs.db, folderTree.json, table_of_contents)",
        f"not imported: {folder}: 2 files that do not start as mail does, with its header (export-log, index)",
    ]
    assert stored(tmp_path) == [mail(1), mail(2).replace(b"\n", b"\r\n")]


def test_an_mh_folders_deleted_messages_are_left_out_and_counted(mailfeed: Mailfeed, tmp_path: Path) -> None:
    """MH's rmm renames message 3 to ",3" and keeps it until purged: it was imported as mail."""
    inbox = tmp_path / "Mail" / "inbox"
    inbox.mkdir(parents=True)
    for name, n in (("1", 1), ("2", 2), (",3", 3), (",14", 14)):
        (inbox / name).write_bytes(mail(n))
    (inbox / ".mh_sequences").write_bytes(b"cur: 2\nunseen: 2\n")
    result = mailfeed("import", str(inbox))
    assert "imported 2, duplicates 0, quarantined 0" in result.stdout
    assert left_out(result) == [f"not imported: {inbox}: 2 messages MH marked deleted (files named ,N until purged)"]
    assert stored(tmp_path) == [mail(1), mail(2)]
