"""Who may post to a feed: its own allowed senders, members only, and what happens to others."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class FeedPolicy(SQLModel, table=True):
    """A feed's posting policy; a feed without a row follows ALLOWED_SENDERS and UNKNOWN_SENDERS."""

    __tablename__ = "feed_policy"

    feed_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    senders: str = ""  # comma-separated domains and addresses
    members_only: bool = False  # the feed's members (mailfeed feed private) may post
    unknown: str = ""  # refuse | hold; empty: UNKNOWN_SENDERS
