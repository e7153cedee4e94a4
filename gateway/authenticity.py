"""Sender authenticity: was this From: address really used by its domain's owner?

Two sources, both pure given a resolver: `Authentication-Results` (RFC 8601)
added by a relay we trust (by its authserv-id), or, when mailfeed is the MX,
our own check: DKIM (dkimpy) and SPF (gateway/spf.py) of the connecting IP
and envelope kept with the raw bytes, combined by DMARC (RFC 7489): it passes
when either passes aligned with the From: domain. A DMARC failure of a domain
that asks for quarantine or reject is held for review, never posted.

Every DNS lookup goes through a `Resolver`, so tests and air-gapped sites
serve records from a file (`FileResolver`).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gateway import spf
from gateway.spf import TempError

_RESULT = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*([a-z]+)(?:[^;]*?header\.(?:from|d|i)\s*=\s*@?([^\s;]+))?", re.I)


class Resolver(Protocol):
    """DNS lookups: [] when the name has no records of the type; TempError when DNS cannot answer now."""

    def txt(self, name: str) -> list[str]:
        """The TXT strings at `name` (each record's strings joined)."""

    def a(self, name: str) -> list[str]:
        """The IPv4 addresses at `name`."""

    def aaaa(self, name: str) -> list[str]:
        """The IPv6 addresses at `name`."""

    def mx(self, name: str) -> list[str]:
        """The mail exchanges of `name`, most preferred first."""


class SystemResolver:
    """DNS through dnspython: the machine's resolvers, or one named server (`dns:HOST[:PORT]`)."""

    def __init__(self, server: str = "", port: int = 53) -> None:
        self._server, self._port = server, port
        self._resolver: Any = None  # built at the first query (dnspython is imported only then)

    def txt(self, name: str) -> list[str]:
        return [b"".join(r.strings).decode("ascii", "replace") for r in self._answer(name, "TXT")]

    def a(self, name: str) -> list[str]:
        return [r.address for r in self._answer(name, "A")]

    def aaaa(self, name: str) -> list[str]:
        return [r.address for r in self._answer(name, "AAAA")]

    def mx(self, name: str) -> list[str]:
        return [str(r.exchange).rstrip(".") for r in sorted(self._answer(name, "MX"), key=lambda r: r.preference)]

    def _answer(self, name: str, rdtype: str) -> list[Any]:
        import dns.exception
        import dns.resolver

        if self._resolver is None:
            self._resolver = dns.resolver.get_default_resolver()
            if self._server:
                self._resolver = dns.resolver.Resolver(configure=False)
                self._resolver.nameservers, self._resolver.port = [self._server], self._port
        try:
            return list(self._resolver.resolve(name, rdtype, lifetime=5))
        except (dns.exception.Timeout, dns.resolver.NoNameservers, OSError) as exc:
            raise TempError(f"{rdtype} {name}: {exc}") from None
        except dns.exception.DNSException:  # NXDOMAIN, no answer, a name DNS cannot hold
            return []


@dataclass(frozen=True)
class FileResolver:
    """Records from a JSON file, for tests and air-gapped sites.

    {"name": ["TXT record", …], "A name": ["192.0.2.1"], "AAAA name": [...],
    "MX name": ["10 mx.example.com", …]}: a key without a type is TXT; a
    single record may be a string instead of a list.
    """

    path: str

    def txt(self, name: str) -> list[str]:
        return self._records("", name)

    def a(self, name: str) -> list[str]:
        return self._records("A ", name)

    def aaaa(self, name: str) -> list[str]:
        return self._records("AAAA ", name)

    def mx(self, name: str) -> list[str]:
        found = [r.split() for r in self._records("MX ", name)]
        ranked = sorted((int(r[0]), r[1]) if len(r) == 2 else (0, r[0]) for r in found if r)
        return [host.rstrip(".").lower() for _, host in ranked]

    def _records(self, kind: str, name: str) -> list[str]:
        records = json.loads(Path(self.path).read_text())
        name = name.rstrip(".").lower()
        found = records.get(kind + name, []) if kind else records.get(name, records.get("TXT " + name, []))
        return [found] if isinstance(found, str) else list(found)


def check_records_file(path: str) -> None:
    """Read `file:`'s records as FileResolver will: a JSON object of names to a record or a list of them.

    Raises ValueError, saying what is wrong, when the file is missing, unreadable or not such an object.
    """
    try:
        records = json.loads(Path(path).read_text())  # as FileResolver reads it
    except FileNotFoundError:
        raise ValueError("no such file (give a JSON file of DNS records)") from None
    except OSError as exc:
        raise ValueError(f"cannot be read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError:
        raise ValueError("is not JSON: not UTF-8 text") from None
    if not isinstance(records, dict):
        raise ValueError('must hold a JSON object of records, e.g. {"example.com": ["v=spf1 -all"]}')
    for name, found in records.items():
        if not isinstance(found, str) and not (isinstance(found, list) and all(isinstance(r, str) for r in found)):
            raise ValueError(f"{name!r} must map to a record or a list of records, as strings")


def resolver_for(setting: str) -> Resolver:
    """`system`, `dns:HOST[:PORT]` or `file:/path/to/records.json` (config.py checked the form and the file)."""
    if setting.startswith("file:"):
        return FileResolver(setting[5:])
    if setting.startswith("dns:"):
        return SystemResolver(*dns_server(setting))
    return SystemResolver()


def dns_server(setting: str) -> tuple[str, int]:
    """The address and port of `dns:HOST[:PORT]`: an IPv4 address, or an IPv6 one in brackets.

    Raises ValueError, saying what is wrong, for anything else.
    """
    rest = setting.removeprefix("dns:")
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail and not tail.startswith(":"):
            raise ValueError(f"{tail!r} after the address: give dns:[ADDRESS]:PORT")
        port = tail[1:]
    else:
        host, _, port = rest.partition(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is no IP address (an IPv6 one goes in brackets: dns:[::1]:53)") from None
    port = port or "53"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad port {port!r}")
    return str(address), int(port)


@dataclass(frozen=True)
class Verdict:
    """What was verified: dkim/spf/dmarc results, the domain, and who checked."""

    dmarc: str = "none"  # pass | fail | none
    dkim: str = "none"
    spf: str = "none"
    domain: str = ""
    checked_by: str = ""
    policy: str = "none"  # the domain's DMARC policy: none | quarantine | reject

    @property
    def summary(self) -> str:
        if not self.checked_by:
            return ""
        return f"dmarc={self.dmarc} dkim={self.dkim} spf={self.spf} header.from={self.domain} ({self.checked_by})"

    @property
    def must_hold(self) -> bool:
        return self.dmarc == "fail" and self.policy in ("quarantine", "reject", "unknown")


def from_headers(values: list[str], trusted: frozenset[str], from_domain: str) -> Verdict | None:
    """The first Authentication-Results from a trusted authserv-id, as a Verdict; None when none is."""
    for value in values:
        authserv = value.split(";", 1)[0].strip().split()[0].lower() if value.strip() else ""
        if authserv not in trusted:
            continue
        results = {kind.lower(): result.lower() for kind, result, _ in _RESULT.findall(value)}
        dmarc = results.get("dmarc", "none")
        return Verdict(
            dmarc=dmarc if dmarc in ("pass", "fail") else "none",
            dkim=results.get("dkim", "none"),
            spf=results.get("spf", "none"),
            domain=from_domain,
            checked_by=authserv,
            policy="unknown" if dmarc == "fail" else "none",  # the relay judged: hold what failed
        )
    return None


def verify(
    raw: bytes, from_domain: str, resolver: Resolver, *, client_ip: str = "", helo: str = "", mail_from: str = ""
) -> Verdict:
    """Check DKIM and (when the client IP is known) SPF ourselves, and evaluate DMARC for the From: domain.

    Raises TempError when the DMARC record cannot be looked up now (the
    message is quarantined, and `mailfeed reprocess` checks it again).
    """
    signer, dkim_ok = _check_dkim(raw, resolver)
    checked = spf.check_host(client_ip, mail_from, helo, resolver) if client_ip else spf.Result("none", "")
    policy = _dmarc_policy(from_domain, resolver)
    aligned = (dkim_ok and _aligned(signer, from_domain)) or (
        checked.result == "pass" and _aligned(checked.domain, from_domain)
    )
    dmarc = "none" if policy is None else ("pass" if aligned else "fail")
    return Verdict(
        dmarc=dmarc,
        dkim="pass" if dkim_ok else ("fail" if signer else "none"),
        spf=checked.result,
        domain=from_domain,
        checked_by="mailfeed",
        policy=policy or "none",
    )


def _check_dkim(raw: bytes, resolver: Resolver) -> tuple[str, bool]:
    """The first signature's d= domain, and whether DKIM verifies (dkimpy checks the first signature)."""
    import dkim

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        found = resolver.txt(name.decode("ascii", "replace"))
        return found[0].encode() if found else None

    signer = _dkim_domain(raw)
    try:
        return signer, bool(signer) and dkim.verify(raw, dnsfunc=dnsfunc)
    except Exception:  # dkimpy raises on malformed signatures and keys, TempError on DNS: that is a fail
        return signer, False


_DKIM_D = re.compile(rb"^dkim-signature:(?:[^\r\n]|\r?\n[ \t])*?\bd=([^;\s]+)", re.I | re.M)
_DMARC_P = re.compile(r"(?:^|;)\s*p\s*=\s*(none|quarantine|reject)", re.I)


def _dkim_domain(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    m = _DKIM_D.search(head)
    return m.group(1).decode("ascii", "replace").lower() if m else ""


def _dmarc_policy(domain: str, resolver: Resolver) -> str | None:
    """The DMARC policy of `domain`, or of its organisational parent (one label up); None without a record."""
    labels = domain.split(".")
    for candidate in (domain, ".".join(labels[-2:])) if len(labels) > 2 else (domain,):
        for record in resolver.txt(f"_dmarc.{candidate}"):
            if record.lower().startswith("v=dmarc1"):
                m = _DMARC_P.search(record)
                return m.group(1).lower() if m else "none"
    return None


def _aligned(signer: str, from_domain: str) -> bool:
    """Relaxed alignment: the same organisational domain (last two labels; no public-suffix list)."""
    return signer.split(".")[-2:] == from_domain.split(".")[-2:]
