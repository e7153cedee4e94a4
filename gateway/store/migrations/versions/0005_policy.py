"""posting policy per feed; what was verified about each entry's sender

Revision ID: 0005_policy
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_policy"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_policy",
        sa.Column("feed_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("senders", sa.String(), nullable=False),
        sa.Column("members_only", sa.Boolean(), nullable=False),
        sa.Column("unknown", sa.String(), nullable=False),
    )
    with op.batch_alter_table("entry") as batch:
        batch.add_column(sa.Column("auth", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("auth")
    op.drop_table("feed_policy")
