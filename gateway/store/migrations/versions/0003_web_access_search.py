"""web: access (private feeds, sessions, sign-in and feed tokens), moderation, full-text search

Written by hand. The search index is dialect-specific: an FTS5 virtual table on
SQLite, a table with a tsvector column and a GIN index on PostgreSQL; both are
filled from the entries already there.

Revision ID: 0003_web
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

import gateway.store.models

revision = "0003_web"
down_revision = "0001"
branch_labels = None
depends_on = None

When = gateway.store.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "feed_access",
        sa.Column("feed_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("feed_id"),
    )
    op.create_table(
        "feed_member",
        sa.Column("feed_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("pattern", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("feed_id", "pattern"),
    )
    op.create_table(
        "reader_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("expires_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "signin_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("expires_at", When(), nullable=False),
        sa.Column("used_at", When(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "feed_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("revoked_at", When(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_feed_token_email", "feed_token", ["email"])
    op.create_table(
        "moderation",
        sa.Column("entry_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(), nullable=False),
        sa.Column("at", When(), nullable=False),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_search()
    else:
        _sqlite_search()


def _sqlite_search() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE entry_search USING fts5("
        "subject, body, author, attachments, tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    op.execute(
        "INSERT INTO entry_search (rowid, subject, body, author, attachments) "
        "SELECT e.id, e.subject, e.text, e.author_name || ' ' || e.author_address, "
        "coalesce((SELECT group_concat(a.filename, ' ') FROM attachment a WHERE a.entry_id = e.id), '') "
        "FROM entry e"
    )


def _postgres_search() -> None:
    op.execute(
        "CREATE TABLE entry_search (entry_id integer PRIMARY KEY, subject text NOT NULL, body text NOT NULL, "
        "author text NOT NULL, attachments text NOT NULL, tsv tsvector NOT NULL)"
    )
    op.execute("CREATE INDEX ix_entry_search_tsv ON entry_search USING gin (tsv)")
    op.execute(
        "INSERT INTO entry_search (entry_id, subject, body, author, attachments, tsv) "
        "SELECT s.id, s.subject, s.body, s.author, s.attachments, "
        "setweight(to_tsvector('english', s.subject), 'A') || setweight(to_tsvector('english', s.author), 'B') "
        "|| setweight(to_tsvector('english', s.attachments), 'B') "
        "|| setweight(to_tsvector('english', left(s.body, 100000)), 'C') "
        "FROM (SELECT e.id, e.subject, e.text AS body, e.author_name || ' ' || e.author_address AS author, "
        "coalesce((SELECT string_agg(a.filename, ' ') FROM attachment a WHERE a.entry_id = e.id), '') AS attachments "
        "FROM entry e) s"
    )


def downgrade() -> None:
    op.execute("DROP TABLE entry_search")
    op.drop_table("moderation")
    op.drop_index("ix_feed_token_email", table_name="feed_token")
    op.drop_table("feed_token")
    op.drop_table("signin_token")
    op.drop_table("reader_session")
    op.drop_table("feed_member")
    op.drop_table("feed_access")
