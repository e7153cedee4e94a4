"""Links a mail gateway rewrote, shown as the address their author wrote.

Security gateways rewrite every link in the mail their customers receive so a
click goes through them first; a message forwarded from such an organisation
carries those links: its text reads as long opaque URLs, the reader cannot see
where a link goes, and each click reports to the forwarder's organisation. The
address is inside the rewritten URL:

- Microsoft Defender's Safe Links: `https://<region>.safelinks.protection.outlook.com/?url=<address>&data=…`
- Proofpoint URL Defense v1 and v2: `https://urldefense.proofpoint.com/v2/url?u=<address>&d=…`
  (in v2 "-" stands for "%" and "_" for "/"), and v3: `https://urldefense.com/v3/__<address>__;<tail>!…`,
  where each "*" of the address stands for the next character of the tail (URL-safe base64) and
  "**" plus a letter for a run of them ("**A" 2, "**B" 3, … "**_" 65)
- Google's redirect: `https://www.google.com/url?q=<address>&sa=…`

Only an http(s) or mailto address replaces a link; anything else keeps the gateway's URL.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qs, unquote, urlsplit

_SHOWN_SCHEMES = ("http://", "https://", "mailto:")
_HOSTS = ("safelinks.protection.outlook.com", "urldefense.proofpoint.com", "urldefense.com", "www.google.com")
# in running text the URL ends before a closing parenthesis or the sentence's punctuation
_IN_TEXT = re.compile(
    r"https?://(?:[a-z0-9-]{1,63}\.safelinks\.protection\.outlook\.com|urldefense(?:\.proofpoint)?\.com|"
    r"www\.google\.com/url)[/?][^\s<>\"'()]{1,8000}(?<![.,;:!?])",
    re.IGNORECASE,
)
_V3 = re.compile(r"^https?://urldefense\.com/v3/__(?P<url>.+?)__;(?P<tail>[A-Za-z0-9_-]*)", re.IGNORECASE | re.DOTALL)
_V3_TOKEN = re.compile(r"\*(?:\*(.))?")
_V3_RUNS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"  # "**A" is a run of 2
WRAPPED_AT_MOST = 3  # a forward of a forward between two such organisations wraps a link again


def real_url(url: str) -> str:
    """The address a rewritten link stands for; any other URL as it is."""
    for _ in range(WRAPPED_AT_MOST):
        inner = _unwrapped(url.strip())
        if inner is None or not inner.lower().startswith(_SHOWN_SCHEMES):
            return url
        url = inner
    return url


def in_text(text: str) -> str:
    """`text` with each rewritten link replaced by the address it stands for."""
    if not any(host in text for host in _HOSTS):
        return text
    return _IN_TEXT.sub(lambda m: real_url(m.group(0)), text)


def _unwrapped(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    query = parse_qs(parts.query)
    if host.endswith(".safelinks.protection.outlook.com"):
        return _first(query, "url")
    if host == "urldefense.proofpoint.com" and parts.path == "/v1/url":
        return _first(query, "u")
    if host == "urldefense.proofpoint.com" and parts.path == "/v2/url":
        encoded = _first(query, "u")
        return unquote(encoded.replace("-", "%").replace("_", "/")) if encoded else None
    if host == "urldefense.com":
        return _v3(url)
    if host == "www.google.com" and parts.path == "/url":
        return _first(query, "q") or _first(query, "url")
    return None


def _v3(url: str) -> str | None:
    """The address in a URL Defense v3 link, its "*" tokens filled from the tail; None when they cannot be."""
    found = _V3.match(url)
    if found is None:
        return None
    address, tail = found["url"], found["tail"]
    if "*" not in address:
        return address
    try:
        chars = base64.urlsafe_b64decode(tail + "=" * (-len(tail) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64, or not UTF-8
        return None
    at = 0

    def filled(m: re.Match[str]) -> str:
        nonlocal at
        n = 1 if m[1] is None else _V3_RUNS.find(m[1]) + 2
        if n == 1 and m[1] is not None or at + n > len(chars):  # not a run letter, or the tail is too short
            raise ValueError(m[0])
        at += n
        return chars[at - n : at]

    try:
        return _V3_TOKEN.sub(filled, address)
    except ValueError:
        return None


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0].strip() if values else None
