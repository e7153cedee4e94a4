"""Signed tokens in addresses and links: reply keys, unsubscribe and preference links.

A token is `<payload>-<mac>`, the mac a truncated HMAC-SHA256 of the payload
under the signing key, so a forged or altered token is refused. Pure: the key
is passed in (see `signing_key` in gateway/digest/runs.py for where it comes from).
"""

from __future__ import annotations

import hashlib
import hmac
import re

MAC_CHARS = 16
_TOKEN = re.compile(r"^([a-z]+)-([0-9a-z.]+)-([0-9a-f]{16})$")


def sign(key: str, kind: str, payload: str) -> str:
    """A token for `kind` (e.g. "r" reply, "u" unsubscribe, "p" preferences) and payload."""
    return f"{kind}-{payload}-{_mac(key, kind, payload)}"


def verify(key: str, token: str, kind: str) -> str | None:
    """The payload of a valid token of `kind`, else None."""
    m = _TOKEN.match(token.strip().lower())
    if not m or m.group(1) != kind:
        return None
    payload = m.group(2)
    return payload if hmac.compare_digest(m.group(3), _mac(key, kind, payload)) else None


def _mac(key: str, kind: str, payload: str) -> str:
    return hmac.new(key.encode(), f"{kind}:{payload}".encode(), hashlib.sha256).hexdigest()[:MAC_CHARS]


def sub_address(address: str, token: str) -> str:
    """team@example.com + r-12-… → team+r-12-…@example.com"""
    local, _, domain = address.partition("@")
    return f"{local}+{token}@{domain}"


def split_sub_address(address: str) -> tuple[str, str | None]:
    """team+r-12-…@example.com → ("team@example.com", "r-12-…"); no "+": (address, None)."""
    local, at, domain = address.strip().lower().rpartition("@")
    base, plus, tag = local.partition("+")
    return (f"{base}{at}{domain}", tag if plus else None)


def looks_signed(tag: str) -> bool:
    """True when a sub-address tag has the shape of a mailfeed token (then it must verify)."""
    return bool(_TOKEN.match(tag.strip().lower()))


def parse(key: str, tag: str) -> tuple[str, str] | None:
    """(kind, payload) of a valid token, whatever its kind; None when it does not verify."""
    m = _TOKEN.match(tag.strip().lower())
    if not m:
        return None
    kind = m.group(1)
    payload = verify(key, tag, kind)
    return None if payload is None else (kind, payload)
