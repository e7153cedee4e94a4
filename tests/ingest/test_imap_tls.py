"""IMAP over TLS against a real Dovecot with a certificate made here (a private CA, openssl CLI).

These run on SQLite only: what is tested is the connection, which the
database does not touch (test_imap.py runs the passes on both backends).
"""

from __future__ import annotations

import logging
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.ingest import imap_state as state
from gateway.ingest.imap import new_source, sync_once
from gateway.ingest.imap_connect import connected
from gateway.store.db import Store, open_store
from gateway.store.models_imap import ImapSource
from tests.dovecot import Dovecot, dovecot_binary
from tests.helpers import add_feed
from tests.ingest.conftest import PASSWORD
from tests.ingest.test_imap import conversations

pytestmark = pytest.mark.skipif(
    dovecot_binary() is None or shutil.which("openssl") is None, reason="needs dovecot and the openssl CLI"
)


@dataclass(frozen=True)
class Certs:
    ca: Path  # the private CA's certificate: what MAILFEED_IMAP_CA_FILE names
    cert: Path  # the server's, for 127.0.0.1 and localhost, signed by the CA
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs() -> Iterator[Certs]:
    """A CA and a server certificate signed by it (EC keys: fast). Readable by Dovecot's unprivileged user."""
    d = Path(tempfile.mkdtemp(prefix="mailfeed-certs-"))
    d.chmod(0o755)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=mailfeed test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost", cwd=d)
    (d / "ext.cnf").write_text(
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n"
        "keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        cwd=d,
    )
    for f in d.iterdir():
        f.chmod(0o644)  # a throw-away key: the server user must read it
    yield Certs(d / "ca.pem", d / "server.pem", d / "server.key")
    shutil.rmtree(d, ignore_errors=True)


def tls_dovecot(certs: Certs, address: str = "127.0.0.1") -> Dovecot:
    d = Dovecot(address=address, tls=(certs.cert, certs.key))
    d.add_user("team", PASSWORD)
    d.start()
    return d


@pytest.fixture
def dovecot(certs: Certs) -> Iterator[Dovecot]:
    d = tls_dovecot(certs)
    yield d
    d.close()


@pytest.fixture
def store(sqlite_template: Path, tmp_path: Path) -> Iterator[Store]:
    shutil.copy(sqlite_template, tmp_path / "mailfeed.sqlite3")
    s = open_store(f"sqlite:///{tmp_path / 'mailfeed.sqlite3'}", upgrade=False, synchronous="NORMAL")
    yield s
    s.dispose()


@pytest.fixture
def settings(tmp_path: Path, certs: Certs) -> Settings:
    """Trusting the private CA; `model_copy(update={"imap_ca_file": ""})` for the system's CAs."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'mailfeed.sqlite3'}",
        workers=1,
        imap_ca_file=str(certs.ca),
    )


def tls_source(store: Store, dovecot: Dovecot, tmp_path: Path, *, imaps: bool) -> state.Source:
    """A source for user team: `imaps://` (TLS at once) or `imap://` (STARTTLS)."""
    (tmp_path / "team.pw").write_text(PASSWORD + "\n")
    cols = new_source(
        url=dovecot.url("team", imaps=imaps), password_file=str(tmp_path / "team.pw"), password_env=None, after="none"
    )
    with store.write() as session, session.begin():
        source_id = state.add_source(session=session, feed_id=add_feed(store), **cols)
    with store.read() as session:
        found = state.get_source(session=session, source_id=source_id)
    assert found is not None
    return found


def logins(dovecot: Dovecot) -> list[str]:
    """Dovecot's log lines for successful logins of team, oldest first."""
    return [line for line in dovecot.log().splitlines() if "Login: user=<team>" in line]


def test_imaps_with_the_private_ca_trusted_reads_the_mailbox(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    src = tls_source(store, dovecot, tmp_path, imaps=True)
    dovecot.append("team", conversations(3))
    with connected(src, ca_file=settings.imap_ca_file) as client:
        sock = client.socket()
        assert isinstance(sock, ssl.SSLSocket) and sock.version() in ("TLSv1.2", "TLSv1.3")
        assert sock.getpeercert()["subject"] == ((("commonName", "localhost"),),)
    report = sync_once(store=store, settings=settings, src=src)
    assert (report.error, report.found, report.stored) == ("", 3, 3)


@pytest.mark.parametrize("imaps", [True, False], ids=["imaps", "starttls"])
def test_a_certificate_from_an_untrusted_ca_is_refused_naming_the_source_and_the_problem(
    settings: Settings,
    store: Store,
    dovecot: Dovecot,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    imaps: bool,
) -> None:
    src = tls_source(store, dovecot, tmp_path, imaps=imaps)
    dovecot.append("team", conversations(1))
    before = len(logins(dovecot))
    system_cas = settings.model_copy(update={"imap_ca_file": ""})
    with caplog.at_level(logging.ERROR):
        report = sync_once(store=store, settings=system_cas, src=src)
    port = dovecot.imaps_port if imaps else dovecot.port
    assert report.error == (
        f"TLS certificate of 127.0.0.1:{port} refused: unable to get local issuer certificate; "
        "checked against the system's CAs (MAILFEED_IMAP_CA_FILE can name a private CA)"
    )
    assert f"{src.label}: {report.error}" in caplog.text
    with store.read() as session:
        row = session.get(ImapSource, src.id)
        assert row is not None and row.last_error == report.error
    assert len(logins(dovecot)) == before  # refused before the password was sent


def test_starttls_upgrades_an_imap_url_before_logging_in(
    settings: Settings, store: Store, dovecot: Dovecot, tmp_path: Path
) -> None:
    src = tls_source(store, dovecot, tmp_path, imaps=False)
    assert src.url.startswith("imap://")
    dovecot.append("team", conversations(2))
    before = len(logins(dovecot))
    with connected(src, ca_file=settings.imap_ca_file) as client:
        assert isinstance(client.socket(), ssl.SSLSocket) and client.socket().version() is not None
    report = sync_once(store=store, settings=settings, src=src)
    assert (report.error, report.found) == ("", 2)
    # Dovecot's own word: both logins came over TLS (its login line says "TLS" after STARTTLS).
    ours = logins(dovecot)[before:]
    assert len(ours) == 2 and all(", TLS," in line for line in ours), ours


def test_a_certificate_for_another_address_is_refused(
    settings: Settings, store: Store, certs: Certs, tmp_path: Path
) -> None:
    d = tls_dovecot(certs, address="127.0.0.2")  # loopback too, but not in the certificate
    try:
        src = tls_source(store, d, tmp_path, imaps=True)
        report = sync_once(store=store, settings=settings, src=src)
    finally:
        d.close()
    assert report.error.startswith(
        f"TLS certificate of 127.0.0.2:{d.imaps_port} refused: IP address mismatch, "
        "certificate is not valid for '127.0.0.2'"
    ), report.error
    assert f"the CAs in MAILFEED_IMAP_CA_FILE ({settings.imap_ca_file})" in report.error


def test_imap_ca_file_must_exist(tmp_path: Path) -> None:
    from gateway.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=r"MAILFEED_IMAP_CA_FILE='.*/nope.pem': .*no such file"):
        load_settings(imap_ca_file=str(tmp_path / "nope.pem"))
