"""raw_message.seq: the order messages were processed in, which a rebuild keeps

Revision ID: 0008_raw_seq
Revises: 0007_raw_envelope
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_raw_seq"
down_revision = "0007_raw_envelope"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both dialects: raw_message is the big table, it must not be copied
    op.add_column("raw_message", sa.Column("seq", sa.BigInteger(), nullable=True))
    # Before this column the processor went in raw-id order, retries aside: the best record there is.
    op.execute("UPDATE raw_message SET seq = id WHERE status <> 'pending'")
    # Partial, so a new raw row (seq NULL) touches neither at SMTP time.
    op.create_index(
        "ix_raw_seq",
        "raw_message",
        ["seq"],
        sqlite_where=sa.text("seq IS NOT NULL"),
        postgresql_where=sa.text("seq IS NOT NULL"),
    )
    op.create_index(
        "ix_raw_status_seq",
        "raw_message",
        ["status", "seq"],
        sqlite_where=sa.text("seq IS NOT NULL"),
        postgresql_where=sa.text("seq IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_raw_status_seq", table_name="raw_message")
    op.drop_index("ix_raw_seq", table_name="raw_message")
    with op.batch_alter_table("raw_message") as batch:
        batch.drop_column("seq")
