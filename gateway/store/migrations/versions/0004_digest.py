"""digest: readers, subscriptions, the digest ledger, notices, the signing key

Revision ID: 0004_digest
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

import gateway.store.models

revision = "0004_digest"
down_revision = "0001"
branch_labels = None
depends_on = None

When = gateway.store.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "reader",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(), nullable=False),
        sa.Column("hard_bounces", sa.Integer(), nullable=False),
    )
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("reader_id", sa.Integer(), sa.ForeignKey("reader.id"), nullable=False),
        sa.Column("feed_id", sa.Integer(), sa.ForeignKey("feed.id"), nullable=False),
        sa.Column("every", sa.String(8), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(5), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("skip_empty", sa.Boolean(), nullable=False),
        sa.Column("only_mine", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.UniqueConstraint("reader_id", "feed_id"),
    )
    op.create_table(
        "muted_thread",
        sa.Column("reader_id", sa.Integer(), primary_key=True),
        sa.Column("thread_id", sa.Integer(), primary_key=True),
    )
    op.create_table(
        "digest_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("subscription.id"), nullable=False),
        sa.Column("reader_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("due_at", When(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=False),
        sa.Column("claimed_at", When(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", When(), nullable=True),
        sa.Column("cursor_from", sa.Integer(), nullable=False),
        sa.Column("cursor_to", sa.Integer(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("sent_at", When(), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.UniqueConstraint("subscription_id", "period"),
    )
    op.create_index("ix_digest_run_status", "digest_run", ["status", "next_attempt_at"])
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("sent_at", When(), nullable=True),
        sa.UniqueConstraint("kind", "recipient", "day"),
    )
    op.create_table(
        "secret",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
    )


def downgrade() -> None:
    for table in ("secret", "notice", "digest_run", "muted_thread", "subscription", "reader"):
        op.drop_table(table)
