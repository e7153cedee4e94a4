"""IMAP sources: on SQLite, a removed source's id is never given to a new one (hand-written).

SQLite without AUTOINCREMENT gives a new row the largest id plus one, so the
source added right after removing the last one got its id, and the follower
of the removed source, let go only at the next rescan, took the new source
for it. PostgreSQL's sequence never gives an id twice: nothing to do there.

Revision ID: 0011_imap_source_ids
Revises: 0006_imap_lease
"""

from alembic import op

revision = "0011_imap_source_ids"
down_revision = "0006_imap_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _recreate(autoincrement=True)


def downgrade() -> None:
    _recreate(autoincrement=False)


def _recreate(*, autoincrement: bool) -> None:
    """Copy the table into one made with or without AUTOINCREMENT (the only way SQLite changes it)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    # the copy sets sqlite_sequence to the largest id, so the ids in use are never given again
    with op.batch_alter_table("imap_source", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass
