"""SPF (gateway/spf.py) with records from a file; DMARC passing on aligned SPF through the real SMTP server."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway import authenticity
from gateway.authenticity import FileResolver
from gateway.config import Settings
from gateway.ingest.backfill import import_archive
from gateway.ingest.reading import Read
from gateway.spf import TempError, check_host
from gateway.store.db import Store
from gateway.store.models import Entry, RawMessage
from tests.helpers import add_feed, make_mail, smtp_server, wait_for


@pytest.fixture
def dns(tmp_path: Path):  # type: ignore[no-untyped-def]
    """dns(records) → a FileResolver serving them."""

    def serve(records: dict[str, str | list[str]]) -> FileResolver:
        path = tmp_path / "dns.json"
        path.write_text(json.dumps(records))
        return FileResolver(str(path))

    return serve


def spf(resolver: FileResolver, ip: str, mail_from: str = "ann@example.com", helo: str = "out.example.com") -> str:
    return check_host(ip, mail_from, helo, resolver).result


@pytest.mark.parametrize(
    ("record", "ip", "expected"),
    [
        ("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.200", "pass"),
        ("v=spf1 ip4:192.0.2.0/24 -all", "192.0.3.1", "fail"),
        ("v=spf1 ip4:192.0.2.1 ~all", "192.0.2.2", "softfail"),
        ("v=spf1 ip4:192.0.2.1 ?all", "192.0.2.2", "neutral"),
        ("v=spf1 ip4:192.0.2.1 +all", "192.0.2.2", "pass"),
        ("v=spf1 -ip4:192.0.2.1 +all", "192.0.2.1", "fail"),
        ("v=spf1 ?ip4:192.0.2.1 -all", "192.0.2.1", "neutral"),
        ("v=spf1 ip4:192.0.2.1", "192.0.2.2", "neutral"),  # nothing matched, no all
        ("V=SPF1 IP4:192.0.2.1 -ALL", "192.0.2.1", "pass"),  # names are case-insensitive
    ],
)
def test_ip4_and_qualifiers(dns, record: str, ip: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert spf(dns({"example.com": record}), ip) == expected


def test_ip6_with_cidr_and_ipv4_mapped_clients(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns({"example.com": "v=spf1 ip6:2001:db8:1234::/48 ip4:192.0.2.1 -all"})
    assert spf(r, "2001:db8:1234:ffff::1") == "pass"
    assert spf(r, "2001:db8:1235::1") == "fail"
    assert spf(r, "::ffff:192.0.2.1") == "pass"  # a dual-stack listener's view of an IPv4 client
    assert spf(r, "192.0.2.2") == "fail"


def test_a_mechanism_with_cidr_for_both_families(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns(
        {
            "example.com": "v=spf1 a a:other.example.org/24//64 -all",
            "A example.com": "192.0.2.1",
            "A other.example.org": "198.51.100.1",
            "AAAA other.example.org": "2001:db8::1",
        }
    )
    assert spf(r, "192.0.2.1") == "pass"
    assert spf(r, "192.0.2.2") == "fail"
    assert spf(r, "198.51.100.77") == "pass"
    assert spf(r, "2001:db8::ffff") == "pass"
    assert spf(r, "2001:db9::1") == "fail"


def test_mx_mechanism_looks_up_each_exchange(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns(
        {
            "example.com": "v=spf1 mx/30 -all",
            "MX example.com": ["20 mx2.example.com", "10 mx1.example.com"],
            "A mx1.example.com": "192.0.2.10",
            "A mx2.example.com": "198.51.100.20",
        }
    )
    assert r.mx("example.com") == ["mx1.example.com", "mx2.example.com"]
    assert spf(r, "198.51.100.23") == "pass"
    assert spf(r, "198.51.100.24") == "fail"


def test_mx_with_more_than_ten_exchanges_is_permerror(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns({"example.com": "v=spf1 mx -all", "MX example.com": [f"10 mx{n}.example.com" for n in range(11)]})
    assert spf(r, "192.0.2.1") == "permerror"


def test_include_matches_only_on_pass(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns(
        {
            "example.com": "v=spf1 include:_spf.esp.example ~all",
            "_spf.esp.example": "v=spf1 ip4:203.0.113.0/24 -all",
            "broken.example": "v=spf1 include:nothing.example -all",
        }
    )
    assert spf(r, "203.0.113.9") == "pass"
    assert spf(r, "192.0.2.1") == "softfail"  # the include's -all is a no-match, not a fail
    assert spf(r, "192.0.2.1", mail_from="x@broken.example") == "permerror"  # include of a domain without SPF


def test_redirect_follows_and_is_ignored_after_all(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns(
        {
            "example.com": "v=spf1 ip4:192.0.2.1 redirect=_spf.example.com",
            "_spf.example.com": "v=spf1 ip4:198.51.100.0/24 -all",
            "all.example": "v=spf1 ?all redirect=_spf.example.com",
            "nowhere.example": "v=spf1 redirect=missing.example",
        }
    )
    assert spf(r, "192.0.2.1") == "pass"
    assert spf(r, "198.51.100.5") == "pass"
    assert spf(r, "203.0.113.5") == "fail"
    assert spf(r, "203.0.113.5", mail_from="a@all.example") == "neutral"
    assert spf(r, "203.0.113.5", mail_from="a@nowhere.example") == "permerror"


def test_exists_with_macros(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns(
        {
            "example.com": "v=spf1 exists:%{ir}.%{l1r+}.%{o}._spf.%{d2} exists:%{h}.helo.example.com -all",
            "A 2.0.192.192.ann.example.com._spf.example.com": "127.0.0.2",
            "A out.example.net.helo.example.com": "127.0.0.2",
        }
    )
    assert spf(r, "192.192.0.2", mail_from="ann@example.com") == "pass"
    assert spf(r, "192.192.0.2", mail_from="bob@example.com") == "fail"
    assert spf(r, "192.192.0.2", mail_from="ann+news@example.com") == "pass"  # l1r+: the part before '+'
    assert spf(r, "192.0.2.9", mail_from="bob@example.com", helo="out.example.net") == "pass"


def test_ip6_macro_is_dotted_nibbles(dns) -> None:  # type: ignore[no-untyped-def]
    nibbles = ".".join(reversed("20010db8" + "0" * 23 + "1"))
    r = dns({"example.com": "v=spf1 exists:%{ir}.%{v}.example.com -all", f"A {nibbles}.ip6.example.com": "127.0.0.2"})
    assert spf(r, "2001:db8::1") == "pass"
    assert spf(r, "2001:db8::2") == "fail"


@pytest.mark.parametrize(
    "spec",
    [
        "%{c}.example.com",
        "%{r}.example.com",
        "%{t}.example.com",
        "%{x}.example.com",
        "%{d0}.example.com",
        "%{d.example.com",
        "100%.example.com",
    ],
)
def test_bad_or_explanation_only_macros_are_permerror(dns, spec: str) -> None:  # type: ignore[no-untyped-def]
    r = dns({"example.com": f"v=spf1 exists:{spec} ip4:192.0.2.1 -all"})
    assert spf(r, "192.0.2.1") == "permerror"


def test_escapes_and_url_encoding(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns({"example.com": "v=spf1 exists:%{L}%%%_x.example.com -all", "A a%2fb% x.example.com": "127.0.0.2"})
    assert spf(r, "192.0.2.1", mail_from="a/b@example.com") == "pass"


def test_more_than_ten_lookups_is_permerror(dns) -> None:  # type: ignore[no-untyped-def]
    chain = {f"d{n}.example": f"v=spf1 include:d{n + 1}.example -all" for n in range(11)}
    ten = dns({**chain, "d10.example": "v=spf1 ip4:192.0.2.1 -all"})  # 10 includes: allowed
    assert spf(ten, "192.0.2.1", mail_from="a@d0.example") == "pass"
    eleven = dns({**chain, "d11.example": "v=spf1 ip4:192.0.2.1 -all"})
    assert spf(eleven, "192.0.2.1", mail_from="a@d0.example") == "permerror"
    loop = dns({"example.com": "v=spf1 include:example.com -all"})
    assert spf(loop, "192.0.2.1") == "permerror"


def test_ptr_never_matches_but_counts_as_a_lookup(dns) -> None:  # type: ignore[no-untyped-def]
    assert spf(dns({"example.com": "v=spf1 ptr ptr:example.com -all"}), "192.0.2.1") == "fail"
    assert spf(dns({"example.com": "v=spf1 " + "ptr " * 11 + "-all"}), "192.0.2.1") == "permerror"


def test_more_than_two_void_lookups_is_permerror(dns) -> None:  # type: ignore[no-untyped-def]
    two = dns({"example.com": "v=spf1 a:v1.example.com mx:v2.example.com -all"})
    assert spf(two, "192.0.2.1") == "fail"
    three = dns({"example.com": "v=spf1 a:v1.example.com mx:v2.example.com exists:v3.example.com -all"})
    assert spf(three, "192.0.2.1") == "permerror"


def test_no_record_is_none(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns({"example.com": ["site-verification=abc", "v=spf10 -all"], "_dmarc.example.com": "v=DMARC1; p=reject"})
    assert spf(r, "192.0.2.1") == "none"
    assert spf(r, "192.0.2.1", mail_from="a@elsewhere.example") == "none"
    assert spf(r, "192.0.2.1", mail_from="a@localhost") == "none"  # single-label: not checked (§4.3)
    assert spf(r, "not an ip") == "none"


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 ip4:300.1.1.1 -all",
        "v=spf1 ip4:192.0.2.1/33 -all",
        "v=spf1 ip6:2001:db8::/129 -all",
        "v=spf1 ip4:192.0.2.1/024 -all",
        "v=spf1 foo -all",
        "v=spf1 a: -all",
        "v=spf1 include -all",
        "v=spf1 all:example.com",
        "v=spf1 ptr/24 -all",
        "v=spf1 a:192.0.2.1 -all",  # a domain must end in a top label, not a number
        "v=spf1 ip4:192.0.2.1 redirect=a.example.com redirect=b.example.com",
        "v=spf1 +all bogus",  # a syntax error after a matching all still counts (§4.6)
    ],
)
def test_syntax_errors_are_permerror(dns, record: str) -> None:  # type: ignore[no-untyped-def]
    assert spf(dns({"example.com": record}), "192.0.2.1") == "permerror"


def test_two_spf_records_are_permerror(dns) -> None:  # type: ignore[no-untyped-def]
    assert spf(dns({"example.com": ["v=spf1 +all", "v=spf1 -all"]}), "192.0.2.1") == "permerror"


def test_empty_mail_from_checks_postmaster_at_helo(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns({"out.example.com": "v=spf1 exists:%{l}.%{d} -all", "A postmaster.out.example.com": "127.0.0.2"})
    result = check_host("192.0.2.1", "", "out.example.com", r)
    assert (result.result, result.domain) == ("pass", "out.example.com")
    assert check_host("192.0.2.1", "ann@example.com", "out.example.com", r).result == "none"


def test_dns_that_cannot_answer_is_temperror() -> None:
    class Down:
        def txt(self, name: str) -> list[str]:
            if name == "example.com":
                return ["v=spf1 a:down.example.com -all"]
            raise TempError(name)

        def a(self, name: str) -> list[str]:
            raise TempError(name)

        aaaa = mx = a

    assert check_host("192.0.2.1", "ann@example.com", "h.example.com", Down()).result == "temperror"
    with pytest.raises(TempError):  # no DMARC policy to judge by: analyse quarantines it, reprocess retries
        authenticity.verify(make_mail(message_id="m@x"), "example.com", Down(), client_ip="192.0.2.1")


def test_dmarc_passes_on_spf_only_when_the_mail_from_domain_aligns(dns) -> None:  # type: ignore[no-untyped-def]
    r = dns(
        {
            "_dmarc.bank.example": "v=DMARC1; p=reject",
            "mail.bank.example": "v=spf1 ip4:192.0.2.1 -all",
            "esp.example": "v=spf1 ip4:192.0.2.1 -all",
        }
    )
    raw = make_mail(message_id="m@x", sender="ceo@bank.example")
    aligned = authenticity.verify(raw, "bank.example", r, client_ip="192.0.2.1", mail_from="bounce@mail.bank.example")
    assert (aligned.dmarc, aligned.spf, aligned.must_hold) == ("pass", "pass", False)
    other = authenticity.verify(raw, "bank.example", r, client_ip="192.0.2.1", mail_from="bounce@esp.example")
    assert (other.dmarc, other.spf, other.must_hold) == ("fail", "pass", True)
    unknown_ip = authenticity.verify(raw, "bank.example", r, mail_from="bounce@mail.bank.example")
    assert (unknown_ip.dmarc, unknown_ip.spf) == ("fail", "none")


# End to end: the real SMTP server, the processor, a FileResolver ------------------------------------------


def statuses(store: Store) -> dict[str, tuple[str, str, str, str]]:
    with store.read() as session:
        rows = session.execute(
            sa.select(
                RawMessage.message_id, RawMessage.status, RawMessage.reason, RawMessage.client_ip, RawMessage.helo
            )
        ).all()
    return {mid: (status, reason, ip, helo) for mid, status, reason, ip, helo in rows}


def settled(store: Store, n: int) -> bool:
    got = statuses(store)
    return len(got) == n and all(status != "pending" for status, *_ in got.values())


def test_spf_pass_aligned_posts_and_an_ip_not_allowed_is_held(settings: Settings, store: Store, tmp_path: Path) -> None:
    add_feed(store)
    path = tmp_path / "dns.json"
    path.write_text(
        json.dumps(
            {
                "_dmarc.bank.example": "v=DMARC1; p=reject",
                "bank.example": "v=spf1 ip4:127.0.0.1 -all",
                "esp.example": "v=spf1 ip4:127.0.0.1 -all",
            }
        )
    )
    settings = settings.model_copy(update={"verify_dkim": True, "dns_resolver": f"file:{path}"})
    ceo = "CEO <ceo@bank.example>"
    with smtp_server(settings, store) as server:
        with smtplib.SMTP("127.0.0.1", server.port, local_hostname="out.bank.example") as c:
            c.sendmail("ceo@bank.example", ["team@example.com"], make_mail(message_id="allowed@x", sender=ceo))
            c.sendmail(
                "news@esp.example",
                ["team@example.com"],  # SPF passes, but for another domain
                make_mail(message_id="unaligned@x", sender=ceo, subject="s2"),
            )
        with smtplib.SMTP(
            "127.0.0.1", server.port, local_hostname="out.bank.example", source_address=("127.0.0.2", 0)
        ) as c:
            c.sendmail(
                "ceo@bank.example", ["team@example.com"], make_mail(message_id="other-ip@x", sender=ceo, subject="s3")
            )
        wait_for(lambda: settled(store, 3))
    got = statuses(store)
    assert got["allowed@x"] == ("posted", "", "127.0.0.1", "out.bank.example")
    assert got["other-ip@x"][0] == "held" and got["other-ip@x"][2] == "127.0.0.2"
    assert "DMARC failed for bank.example (policy reject" in got["other-ip@x"][1]
    assert got["unaligned@x"][0] == "held"
    with store.read() as session:
        auth = dict(session.execute(sa.select(Entry.message_id, Entry.auth)).all())
    assert auth == {"allowed@x": "dmarc=pass dkim=none spf=pass header.from=bank.example (mailfeed)"}
    # ... and shown on the entry: the thread page and the API say what was verified
    from fastapi.testclient import TestClient

    from gateway.web.app import create_app

    with store.read() as session:
        thread_id = session.scalar(sa.select(Entry.thread_id).where(Entry.message_id == "allowed@x"))
    client = TestClient(create_app(settings, store))
    assert "dmarc=pass dkim=none spf=pass header.from=bank.example (mailfeed)" in client.get(f"/t/{thread_id}").text
    assert (
        client.get(f"/api/threads/{thread_id}").json()["post"]["verified"].startswith("dmarc=pass dkim=none spf=pass")
    )


def test_imported_mail_has_no_envelope_and_no_spf(settings: Settings, store: Store, tmp_path: Path) -> None:
    feed_id = add_feed(store)
    path = tmp_path / "dns.json"
    path.write_text(json.dumps({"_dmarc.lax.example": "v=DMARC1; p=none", "lax.example": "v=spf1 +all"}))
    settings = settings.model_copy(update={"verify_dkim": True, "dns_resolver": f"file:{path}"})
    mail = make_mail(message_id="old@x", sender="ann@lax.example")
    summary = import_archive(store=store, settings=settings, feed_id=feed_id, messages=iter([Read("old", mail, 1)]))
    assert summary.counts["posted"] == 1
    with store.read() as session:
        raw = session.execute(sa.select(RawMessage.client_ip, RawMessage.helo)).one()
        auth = session.scalar(sa.select(Entry.auth))
    assert tuple(raw) == ("", "")
    assert auth == "dmarc=fail dkim=none spf=none header.from=lax.example (mailfeed)"  # +all would have passed
