"""IMAP sources: a lease per source, so one instance follows each (hand-written).

Revision ID: 0006_imap_lease
Revises: 0002_imap
"""

import sqlalchemy as sa
from alembic import op

from gateway.store.models import UTCDateTime

revision = "0006_imap_lease"
down_revision = "0002_imap"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("imap_source") as batch:
        batch.add_column(sa.Column("lease_holder", sa.String(length=255), nullable=False, server_default=""))
        batch.add_column(sa.Column("lease_expires_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("imap_source") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_holder")
