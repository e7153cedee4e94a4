"""Sender authenticity: was this From: address really used by its domain's owner?

Two sources, both pure given a resolver: `Authentication-Results` (RFC 8601)
added by a relay we trust (by its authserv-id), or our own DKIM check (dkimpy)
with DMARC alignment (RFC 7489) when mailfeed is the MX. SPF needs the
connecting IP and the HELO of the hop that reached the MX, so it is taken
only from a trusted relay's results. A DMARC failure of a domain that asks
for quarantine or reject is held for review, never posted.

Every DNS lookup goes through `Resolver.txt`, so tests and air-gapped sites
serve records from a file (`FileResolver`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

_RESULT = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*([a-z]+)(?:[^;]*?header\.(?:from|d|i)\s*=\s*@?([^\s;]+))?", re.I)


class Resolver(Protocol):
    def txt(self, name: str) -> list[str]:
        """The TXT strings at `name` (each record's strings joined); [] when there are none."""


class SystemResolver:
    """The machine's DNS (dnspython)."""

    def txt(self, name: str) -> list[str]:
        import dns.exception
        import dns.resolver

        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=5)
        except (dns.exception.DNSException, OSError):
            return []
        return [b"".join(r.strings).decode("ascii", "replace") for r in answer]


@dataclass(frozen=True)
class FileResolver:
    """TXT records from a JSON file {"name": ["record", …]}: for tests and air-gapped sites."""

    path: str

    def txt(self, name: str) -> list[str]:
        records = json.loads(Path(self.path).read_text())
        found = records.get(name.rstrip(".").lower(), [])
        return [found] if isinstance(found, str) else list(found)


def resolver_for(setting: str) -> Resolver:
    """`system`, or `file:/path/to/records.json`."""
    return FileResolver(setting[5:]) if setting.startswith("file:") else SystemResolver()


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


def verify(raw: bytes, from_domain: str, resolver: Resolver) -> Verdict:
    """DKIM-check the message ourselves and evaluate DMARC for the From: domain."""
    import dkim

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        found = resolver.txt(name.decode("ascii", "replace"))
        return found[0].encode() if found else None

    signer = _dkim_domain(raw)
    try:
        dkim_ok = bool(signer) and dkim.verify(raw, dnsfunc=dnsfunc)
    except Exception:  # dkimpy raises on malformed signatures and keys: that is a fail
        dkim_ok = False
    dkim_result = "pass" if dkim_ok else ("fail" if signer else "none")
    policy = _dmarc_policy(from_domain, resolver)
    aligned = dkim_ok and bool(signer) and _aligned(signer, from_domain)
    if policy is None:
        dmarc = "none"
    else:
        dmarc = "pass" if aligned else "fail"
    return Verdict(dmarc=dmarc, dkim=dkim_result, domain=from_domain, checked_by="mailfeed", policy=policy or "none")


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
