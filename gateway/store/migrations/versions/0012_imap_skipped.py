"""IMAP sources: what the passes left in the folder, so a refused message is not downloaded at each pass (hand-written).

Revision ID: 0012_imap_skipped
Revises: 0011_imap_source_ids
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_imap_skipped"
down_revision = "0011_imap_source_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: not known yet; the next pass looks at what the last error names, as before, and writes it
    with op.batch_alter_table("imap_source") as batch:
        batch.add_column(sa.Column("skipped", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("imap_source") as batch:
        batch.drop_column("skipped")
