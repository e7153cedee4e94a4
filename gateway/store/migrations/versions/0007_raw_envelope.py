"""raw_message keeps the SMTP client IP and HELO name, for SPF when mailfeed is the MX

Revision ID: 0007_raw_envelope
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_raw_envelope"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both dialects: raw_message is the big table, it must not be copied
    op.add_column("raw_message", sa.Column("client_ip", sa.String(length=64), nullable=False, server_default=""))
    op.add_column("raw_message", sa.Column("helo", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("raw_message") as batch:
        batch.drop_column("helo")
        batch.drop_column("client_ip")
