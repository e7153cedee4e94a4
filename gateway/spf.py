"""SPF (RFC 7208): may this IP send mail for the MAIL FROM (or HELO) domain?

Part of authenticity when mailfeed is the MX: `check_host` gives the SPF
result that DMARC combines with DKIM (gateway/authenticity.py). Pure but for
the resolver, so tests and air-gapped sites serve records from a file.

Supported: the mechanisms all, include, a, mx, ip4, ip6 (with CIDR), exists;
`ptr` costs a lookup but never matches (§5.5: SHOULD NOT be used, and we do
not look PTR names up); the `redirect=` modifier (`exp=` and unknown
modifiers are ignored); the 10-lookup and 2-void-lookup limits (§4.6.4);
every macro letter allowed in a domain-spec, with transformers (%{p} is
"unknown", as for a PTR name not validated). %{c} %{r} %{t} belong to
explanations only and are a permerror elsewhere. No explanation is produced.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from gateway.authenticity import Resolver

MAX_LOOKUPS = 10  # §4.6.4: terms that query DNS, counted across include and redirect
MAX_VOID = 2  # §4.6.4: queries that found nothing
MAX_MX_HOSTS = 10  # §4.6.4: an mx mechanism looks up at most ten exchanges
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TempError(Exception):
    """DNS could not answer now (timeout, SERVFAIL): SPF says "temperror", DMARC cannot pass on it."""


class _PermError(Exception):
    """The record is broken or costs too many lookups: SPF says "permerror"."""


@dataclass(frozen=True)
class Result:
    """An SPF result and the domain it is about (what DMARC aligns with the From: domain)."""

    result: str  # pass | fail | softfail | neutral | none | permerror | temperror
    domain: str


@dataclass(frozen=True)
class _Term:
    qualifier: str
    kind: str  # all include a mx ptr ip4 ip6 exists
    target: str = ""  # the expanded domain-spec
    network: Network | None = None  # ip4 / ip6
    cidr4: int = 32
    cidr6: int = 128


@dataclass
class _Check:
    """One evaluation: the envelope and the lookup budget that include and redirect share."""

    ip: IP
    sender: str
    helo: str
    resolver: Resolver
    lookups: int = 0
    voids: int = 0

    def count_lookup(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise _PermError("more than 10 DNS lookups")

    def found(self, records: list[str]) -> list[str]:
        if not records:
            self.voids += 1
            if self.voids > MAX_VOID:
                raise _PermError("more than 2 void lookups")
        return records

    def addresses(self, name: str) -> list[str]:
        return self.resolver.a(name) if self.ip.version == 4 else self.resolver.aaaa(name)


def check_host(ip: str, mail_from: str, helo: str, resolver: Resolver) -> Result:
    """The SPF result for mail from `ip` with MAIL FROM `mail_from`, or postmaster@`helo` when it is empty (§2.4)."""
    local, _, domain = mail_from.rpartition("@") if mail_from else ("", "", helo)
    domain = domain.rstrip(".").lower()
    try:
        client = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return Result("none", domain)
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped:
        client = client.ipv4_mapped  # a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d
    if not _is_domain(domain):
        return Result("none", domain)  # §4.3: no SPF for a malformed or single-label domain
    check = _Check(client, f"{local or 'postmaster'}@{domain}", helo, resolver)
    try:
        return Result(_evaluate(check, domain), domain)
    except _PermError:
        return Result("permerror", domain)
    except TempError:
        return Result("temperror", domain)


def _evaluate(check: _Check, domain: str) -> str:
    """check_host() for one domain; include and redirect call it again (depth bounded by MAX_LOOKUPS)."""
    records = [r for r in check.resolver.txt(domain) if re.match(r"v=spf1(?: |$)", r, re.I)]
    if not records:
        return "none"
    if len(records) > 1:
        raise _PermError(f"{domain}: more than one SPF record")
    terms, redirect = _parse(records[0], check, domain)  # §4.6: a syntax error anywhere is a permerror
    for term in terms:
        if _matches(check, term):
            return QUALIFIERS[term.qualifier]
    if redirect is None:
        return "neutral"
    check.count_lookup()
    result = _evaluate(check, redirect)
    if result == "none":
        raise _PermError(f"redirect={redirect}: no SPF record")
    return result


def _matches(check: _Check, term: _Term) -> bool:
    kind = term.kind
    if kind == "all":
        return True
    if kind in ("ip4", "ip6"):
        return term.network is not None and check.ip.version == term.network.version and check.ip in term.network
    check.count_lookup()
    if kind == "include":
        result = _evaluate(check, term.target)
        if result == "none":
            raise _PermError(f"include:{term.target}: no SPF record")
        return result == "pass"
    if kind == "exists":
        return bool(check.found(check.resolver.a(term.target)))
    if kind == "a":
        return _in_any(check, check.found(check.addresses(term.target)), term)
    if kind == "mx":
        hosts = check.found(check.resolver.mx(term.target))
        if len(hosts) > MAX_MX_HOSTS:
            raise _PermError(f"mx:{term.target}: more than 10 exchanges")
        return any(_in_any(check, check.addresses(host), term) for host in hosts)
    return False  # ptr: counted, never matched


def _in_any(check: _Check, addresses: list[str], term: _Term) -> bool:
    cidr = term.cidr4 if check.ip.version == 4 else term.cidr6
    for address in addresses:
        try:
            if check.ip in ipaddress.ip_network(f"{address}/{cidr}", strict=False):
                return True
        except ValueError:  # a record that is not an address of this family
            continue
    return False


_MODIFIER = re.compile(r"([a-z][a-z0-9_.-]*)=(.*)", re.I | re.S)
_MECHANISM = re.compile(r"([+~?-]?)([a-z][a-z0-9]*)(.*)", re.I | re.S)
_DOMAIN_CIDR = re.compile(r"(?::(.+?))?(?:/(\d+))?(?://(\d+))?", re.S)
_IP_CIDR = re.compile(r":([^/]+)(?:/(\d+))?", re.S)


def _parse(record: str, check: _Check, domain: str) -> tuple[list[_Term], str | None]:
    """The record's mechanisms and its redirect target, macros expanded; _PermError on any syntax error."""
    terms: list[_Term] = []
    modifiers: dict[str, str] = {}
    for word in record.split(" ")[1:]:
        if not word:
            continue
        modifier = _MODIFIER.fullmatch(word)
        if modifier:
            name = modifier.group(1).lower()
            if name in ("redirect", "exp"):  # others are ignored (§6)
                if name in modifiers:
                    raise _PermError(f"{name}= twice")
                modifiers[name] = _domain_spec(modifier.group(2), check, domain)
            continue
        mechanism = _MECHANISM.fullmatch(word)
        if not mechanism:
            raise _PermError(f"bad term {word!r}")
        terms.append(_term(mechanism.group(1) or "+", mechanism.group(2).lower(), mechanism.group(3), check, domain))
    return terms, modifiers.get("redirect")


def _term(qualifier: str, kind: str, rest: str, check: _Check, domain: str) -> _Term:
    if kind == "all" and not rest:
        return _Term(qualifier, kind)
    if kind in ("include", "exists") and rest.startswith(":"):
        return _Term(qualifier, kind, _domain_spec(rest[1:], check, domain))
    if kind in ("a", "mx", "ptr"):
        m = _DOMAIN_CIDR.fullmatch(rest)
        if m and (kind != "ptr" or not (m.group(2) or m.group(3))):
            target = _domain_spec(m.group(1), check, domain) if m.group(1) else domain
            return _Term(qualifier, kind, target, cidr4=_cidr(m.group(2), 32), cidr6=_cidr(m.group(3), 128))
    if kind in ("ip4", "ip6"):
        m = _IP_CIDR.fullmatch(rest)
        if m:
            return _Term(qualifier, kind, network=_network(kind, m.group(1), m.group(2)))
    raise _PermError(f"bad mechanism {kind}{rest}")


def _cidr(text: str | None, most: int) -> int:
    if text is None:
        return most
    if int(text) > most or (len(text) > 1 and text[0] == "0"):
        raise _PermError(f"bad prefix length /{text}")
    return int(text)


def _network(kind: str, address: str, cidr: str | None) -> Network:
    most = 32 if kind == "ip4" else 128
    try:
        ip = ipaddress.IPv4Address(address) if kind == "ip4" else ipaddress.IPv6Address(address)
    except ValueError:
        raise _PermError(f"bad address {kind}:{address}") from None
    return ipaddress.ip_network(f"{ip}/{_cidr(cidr, most)}", strict=False)


def _is_domain(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and len(labels) > 1 and all(0 < len(label) <= 63 for label in labels)


def _domain_spec(spec: str, check: _Check, domain: str) -> str:
    """A domain-spec expanded and cut from the left to 253 characters (§7.3); _PermError on a syntax error."""
    if not re.search(r"(\.[a-z0-9-]*[a-z][a-z0-9-]*\.?|%\{[a-z]\d*r?[.+,/_=-]*\})$", spec, re.I):
        raise _PermError(f"bad domain {spec!r}")  # §7.1: it ends with a top label (not a number) or a macro
    name = _expand(spec, check, domain).rstrip(".").lower()
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name


# %{letter digits r delimiters}, %%, %_, %-; the empty alternative catches any other "%" as an error.
_MACRO = re.compile(r"%(?:\{([a-z])(\d*)(r?)([.+,/_=-]*)\}|([%_-])|)", re.I)
_ESCAPES = {"%": "%", "_": " ", "-": "%20"}


def _expand(spec: str, check: _Check, domain: str) -> str:
    """A macro-string expanded (§7); _PermError for a malformed macro or one not allowed in a domain-spec."""

    def one(m: re.Match[str]) -> str:
        letter, digits, reverse, delimiters, escape = m.groups()
        if escape:
            return _ESCAPES[escape]
        if not letter:
            raise _PermError(f"bad macro in {spec!r}")
        parts = re.split("[" + re.escape(delimiters or ".") + "]", _macro_value(letter.lower(), check, domain))
        if reverse:
            parts.reverse()
        if digits:
            if int(digits) == 0:
                raise _PermError(f"bad macro in {spec!r}: zero parts")
            parts = parts[-int(digits) :]
        value = ".".join(parts)
        return quote(value, safe="-._~") if letter.isupper() else value  # §7.3: upper case is URL-escaped

    return _MACRO.sub(one, spec)


def _macro_value(letter: str, check: _Check, domain: str) -> str:
    local, _, sender_domain = check.sender.rpartition("@")
    ip = check.ip
    values = {
        "s": check.sender,
        "l": local,
        "o": sender_domain,
        "d": domain,
        "h": check.helo,
        "p": "unknown",
        "v": "in-addr" if ip.version == 4 else "ip6",
        "i": str(ip) if ip.version == 4 else ".".join(ip.exploded.replace(":", "")),
    }
    if letter not in values:
        raise _PermError(f"macro %{{{letter}}} is not allowed in a domain-spec")
    return values[letter]
