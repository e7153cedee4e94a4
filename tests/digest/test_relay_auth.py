"""RELAY_URL credentials never go over plain SMTP, even to a relay that offers AUTH without TLS.

The relay is a real aiosmtpd that offers AUTH PLAIN and LOGIN on a connection
without TLS and records every attempt to log in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from gateway.config import Settings
from gateway.digest.dispatch import send_due
from gateway.digest.send import RelayRefused, relay_from_url
from gateway.store.db import Store
from gateway.store.models_digest import DigestRun
from tests.digest.sink import Sink, SinkHandler
from tests.digest.test_dispatch import post, subscribe_all
from tests.helpers import add_feed, in_process_cli
from tests.servers import free_port

PASSWORD = "s3cret-pass"


@contextmanager
def plain_auth_relay() -> Iterator[tuple[Sink, list[str]]]:
    """A sink offering AUTH without TLS; the list gets each login it was sent, user and password."""
    logins: list[str] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        logins.append(f"{mechanism} {auth_data.login!r} {auth_data.password!r}")
        return AuthResult(success=True)

    handler = SinkHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        server_hostname="sink",
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield Sink(port, handler), logins
    finally:
        controller.stop()


def test_the_relay_offers_auth_without_tls() -> None:
    """The test relay is what the walk-through met: AUTH offered on a plain connection."""
    import smtplib

    with plain_auth_relay() as (sink, logins), smtplib.SMTP("127.0.0.1", sink.port) as client:
        client.ehlo()
        assert client.has_extn("auth") and not client.has_extn("starttls")
        client.login("probe", "probe")
    assert logins == ["PLAIN b'probe' b'probe'"] or logins == ["LOGIN b'probe' b'probe'"]


@pytest.mark.parametrize("url", ["smtp://u:{pw}@127.0.0.1:{port}", "smtp://u@127.0.0.1:{port}"])
def test_credentials_with_plain_smtp_are_refused_naming_the_schemes_to_use(url: str) -> None:
    with pytest.raises(RelayRefused) as refused:
        relay_from_url(url.format(pw=PASSWORD, port=2525))
    said = str(refused.value)
    assert "MAILFEED_RELAY_URL" in said and "smtp+starttls://" in said and "smtps://" in said
    assert PASSWORD not in said and PASSWORD not in repr(refused.value)
    assert relay_from_url(f"smtp+starttls://u:{PASSWORD}@relay.example.com").security == "starttls"
    assert relay_from_url("smtp://127.0.0.1:25").username == ""


def test_digest_send_refuses_a_password_over_plain_smtp_and_the_relay_sees_no_login(
    db_url: str, settings: Settings, store: Store, tmp_path: Path
) -> None:
    """`digest send --now` logged in over plain SMTP, sending the password in clear text."""
    feed_id = add_feed(store)
    subscribe_all(store, feed_id, "r1@example.com")
    post(store, settings, feed_id, "one@x", subject="news")
    with plain_auth_relay() as (sink, logins):
        run = in_process_cli(
            tmp_path,
            MAILFEED_DATABASE_URL=db_url,
            MAILFEED_RELAY_URL=f"smtp://mailfeed:{PASSWORD}@127.0.0.1:{sink.port}",
            MAILFEED_DIGEST_CLOCK_START="2026-03-27T09:00:00+00:00",
        )
        refused = run("digest", "send", "--now", code=1)
        # the scheduler of `serve` does not send either: each digest waits, saying why
        served = send_due(
            store=store,
            settings=settings.model_copy(update={"relay_url": f"smtp://mailfeed:{PASSWORD}@127.0.0.1:{sink.port}"}),
            now=datetime(2026, 3, 27, 9, 0, tzinfo=UTC),
            instance="serve",
        )
    assert "smtp+starttls://" in refused.stderr and "smtps://" in refused.stderr
    assert PASSWORD not in refused.stderr + refused.stdout
    assert logins == [] and sink.received == []
    assert served.counts["temporary"] == 1
    with store.read() as session:
        [(status, error)] = session.execute(sa.select(DigestRun.status, DigestRun.last_error)).all()
    assert status == "retry" and "clear text" in error and PASSWORD not in error
