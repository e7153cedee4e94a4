"""Sender policy: who may post to a feed, and what happens to the others.

Pure. A feed's policy is its own allowed senders (domains and addresses), or,
when it has none, ALLOWED_SENDERS; "members only" adds the feed's members.
Nobody listed anywhere means anyone may post. Others are refused at SMTP time
(`550 5.7.1`) or held for an admin, as the feed (or UNKNOWN_SENDERS) says.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    allowed: frozenset[str] = frozenset()  # lower-case addresses and domains; empty: anyone
    unknown: str = "refuse"  # refuse | hold

    def may_post(self, address: str) -> bool:
        if not self.allowed:
            return True
        address = address.strip().lower()
        return address in self.allowed or address.rpartition("@")[2] in self.allowed


def patterns(text: str) -> frozenset[str]:
    return frozenset(p.strip().lower() for p in text.replace(";", ",").split(",") if p.strip())


def effective(
    *,
    senders: str,
    members: list[str],
    members_only: bool,
    unknown: str,
    default_allowed: frozenset[str],
    default_unknown: str,
) -> Policy:
    allowed = patterns(senders) or default_allowed
    if members_only:
        allowed = allowed | frozenset(m.lower() for m in members)
        if not allowed:  # members only, and no members yet: nobody
            allowed = frozenset({"-nobody-"})
    return Policy(allowed, unknown or default_unknown)
