"""mboxcl2: body lines are not escaped, each body's length is in Content-Length instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.config import Settings
from gateway.ingest import mbox as mbox_module
from gateway.ingest.archive import open_archive
from gateway.ingest.backfill import import_archive
from gateway.store.db import Store
from tests.helpers import add_feed

ARCHIVE = Path(__file__).parent.parent / "data" / "archives" / "mboxcl2-pasted-git-patch.mbox"
SECOND = b"\nFrom bo.berg@example.com Mon Mar  2 09:40:00 2026\n"
PATCH_FROM_LINE = b"\nFrom 3f2a1c0de4b5a6978877665544332211ffeeddcc Mon Sep 17 00:00:00 2001\nFrom: Ann Lind"


def _copy(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "archive.mbox"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("block", [1, 3, 64, 700, 1 << 20])
def test_a_pasted_git_patch_stays_in_its_message_wherever_a_read_block_ends(
    block: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the patch's "From <sha> Mon Sep 17 …" line, after an empty line and followed by a From:
    # field, passes both tests a From_ line must pass: only the body's length says it is body
    monkeypatch.setattr(mbox_module, "_BLOCK", block)
    data = ARCHIVE.read_bytes()
    assert PATCH_FROM_LINE in data
    first, second = data.split(SECOND)
    read = list(open_archive(_copy(tmp_path, data)).messages)
    assert [r.data for r in read] == [first.split(b"\n", 1)[1], second]  # without From_ lines and the empty line
    assert PATCH_FROM_LINE in read[0].data


def test_a_length_the_writer_did_not_keep_leaves_the_usual_split_and_loses_nothing(tmp_path: Path) -> None:
    data = ARCHIVE.read_bytes()
    right = re.search(rb"Content-Length: (\d+)\n", data)
    assert right is not None
    for wrong in (int(right[1]) - 1, int(right[1]) + 1, 99999, 99999999999):
        edited = data.replace(right[0], b"Content-Length: %d\n" % wrong, 1)
        read = [r.data for r in open_archive(_copy(tmp_path, edited)).messages]
        assert len(read) == 3, wrong  # the patch's From line splits, as it did before lengths were read
        assert read[1].startswith(b"From: Ann Lind <ann.lind@example.com>\nDate: Mon, 2 Mar 2026 08:55:00")
        envelope = edited.split(b"\n", 1)[0] + b"\n"
        patch_line = PATCH_FROM_LINE.split(b"\n")[1] + b"\n"
        # every byte is in a message but the From_ lines and the empty lines before them
        assert edited == envelope + read[0] + b"\n" + patch_line + read[1] + SECOND[:-1] + b"\n" + read[2]


def test_an_mboxcl2_archive_imports_the_patch_as_one_post_with_its_reply(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    summary = import_archive(
        store=store, settings=settings, feed_id=add_feed(store), messages=open_archive(ARCHIVE).messages
    )
    assert summary.read == 2 and summary.counts["posted"] == 2
    with store.read() as session:
        rows = session.execute(sa.text("SELECT message_id, parent_message_id, text FROM entry ORDER BY id")).all()
    assert [(r[0], r[1]) for r in rows] == [
        ("patch-importer@example.com", None),
        ("patch-importer-re@example.com", "patch-importer@example.com"),
    ]
    # the patch's own From:/Date:/Subject: fields are no quote's header: the text keeps it whole
    assert rows[0][2].startswith("Here is the fix as git format-patch wrote it; apply with git am.\nFrom what I hear")
    assert rows[0][2].endswith(
        "Subject: [PATCH] importer: keep pasted patches whole\n\n---\n"
        " gateway/ingest/mbox.py | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)\n\n"
        "diff --git a/gateway/ingest/mbox.py b/gateway/ingest/mbox.py\n--- a/gateway/ingest/mbox.py\n"
        "+++ b/gateway/ingest/mbox.py\n@@ -1 +1 @@\n-old\n+new"
    )
