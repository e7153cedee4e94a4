"""raw_message.delivered_at: when an archive or IMAP server says a message was delivered

Revision ID: 0009_raw_delivered
Revises: 0008_raw_seq
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

import gateway.store.models

revision = "0009_raw_delivered"
down_revision = "0008_raw_seq"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both dialects: raw_message is the big table, it must not be copied
    op.add_column("raw_message", sa.Column("delivered_at", gateway.store.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("raw_message") as batch:
        batch.drop_column("delivered_at")
