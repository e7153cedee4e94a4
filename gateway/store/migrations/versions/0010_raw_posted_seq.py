"""raw_message.posted_seq: the order messages became posts or comments in, for the digests' cursor

Revision ID: 0010_raw_posted_seq
Revises: 0009_raw_delivered
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_raw_posted_seq"
down_revision = "0009_raw_delivered"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both dialects: raw_message is the big table, it must not be copied
    op.add_column("raw_message", sa.Column("posted_seq", sa.BigInteger(), nullable=True))
    # The digests' cursors were entry ids, which are raw ids: numbering what is posted by its id
    # keeps every cursor where it was, and what is posted from now on comes after all of them.
    op.execute("UPDATE raw_message SET posted_seq = id WHERE id IN (SELECT raw_id FROM entry)")
    op.create_index(
        "ix_raw_posted_seq",
        "raw_message",
        ["posted_seq"],
        sqlite_where=sa.text("posted_seq IS NOT NULL"),
        postgresql_where=sa.text("posted_seq IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_raw_posted_seq", table_name="raw_message")
    with op.batch_alter_table("raw_message") as batch:
        batch.drop_column("posted_seq")
