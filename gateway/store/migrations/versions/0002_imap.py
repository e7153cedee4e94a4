"""IMAP sources and their cursors (hand-written).

Revision ID: 0002_imap
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision = "0002_imap"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imap_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("password_file", sa.String(), nullable=False),
        sa.Column("password_env", sa.String(length=255), nullable=False),
        sa.Column("after", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_ok_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.Column("last_error_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["feed_id"], ["feed.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("feed_id", "url"),
    )
    op.create_table(
        "imap_cursor",
        sa.Column("source_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["imap_source.id"]),
        sa.PrimaryKeyConstraint("source_id"),
    )


def downgrade() -> None:
    op.drop_table("imap_cursor")
    op.drop_table("imap_source")
