"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import gateway.store.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("inline", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index("ix_attachment_entry", ["entry_id", "position"], unique=False)

    op.create_table(
        "blob",
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", gateway.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("address"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "forward",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("raw_id", sa.Integer(), nullable=False),
        sa.Column("by_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("by_address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("date", gateway.store.models.UTCDateTime(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("forward", schema=None) as batch_op:
        batch_op.create_index("ix_forward_entry", ["entry_id"], unique=False)

    op.create_table(
        "message_ref",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("feed_id", "message_id"),
    )
    with op.batch_alter_table("message_ref", schema=None) as batch_op:
        batch_op.create_index("ix_ref_thread", ["thread_id"], unique=False)

    op.create_table(
        "raw_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("envelope_from", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("envelope_to", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("received_at", gateway.store.models.UTCDateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=998), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feed.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("feed_id", "sha256"),
    )
    with op.batch_alter_table("raw_message", schema=None) as batch_op:
        batch_op.create_index("ix_raw_status_id", ["status", "id"], unique=False)

    op.create_table(
        "thread",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("subject_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("post_entry_id", sa.Integer(), nullable=True),
        sa.Column("created_at", gateway.store.models.UTCDateTime(), nullable=False),
        sa.Column("last_activity_at", gateway.store.models.UTCDateTime(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feed.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.create_index("ix_thread_feed_activity", ["feed_id", "last_activity_at", "id"], unique=False)
        batch_op.create_index("ix_thread_feed_subject", ["feed_id", "subject_key"], unique=False)

    op.create_table(
        "entry",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("raw_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
        sa.Column("parent_message_id", sqlmodel.sql.sqltypes.AutoString(length=998), nullable=True),
        sa.Column("chain", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("author_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("author_address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("date", gateway.store.models.UTCDateTime(), nullable=False),
        sa.Column("tz_offset", sa.Integer(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("quoted_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("html", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("snippet", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("forwarded_by_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("forwarded_by_address", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feed.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raw_id"],
            ["raw_message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("feed_id", "message_id"),
    )
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.create_index("ix_entry_thread_date", ["thread_id", "date", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_thread_date")

    op.drop_table("entry")
    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.drop_index("ix_thread_feed_subject")
        batch_op.drop_index("ix_thread_feed_activity")

    op.drop_table("thread")
    with op.batch_alter_table("raw_message", schema=None) as batch_op:
        batch_op.drop_index("ix_raw_status_id")

    op.drop_table("raw_message")
    with op.batch_alter_table("message_ref", schema=None) as batch_op:
        batch_op.drop_index("ix_ref_thread")

    op.drop_table("message_ref")
    with op.batch_alter_table("forward", schema=None) as batch_op:
        batch_op.drop_index("ix_forward_entry")

    op.drop_table("forward")
    op.drop_table("feed")
    op.drop_table("blob")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index("ix_attachment_entry")

    op.drop_table("attachment")
