"""IMAP sources: where a source is and how to log in to it (URL, password, TLS rules).

`imaps://` is TLS from the start; `imap://` upgrades with STARTTLS and talks in
clear only when the server offers no STARTTLS and the address we are
connected to is loopback. The server's certificate is always verified
(chain and host name), against the system's CAs or those in IMAP_CA_FILE (a
private CA); one that fails is a permanent error naming the problem, raised
before the password is sent. The password comes from a file or an
environment variable named by the source, is read at each connect, and is
never stored or logged. Errors are `ImapError`s whose message names the
problem, never the password.

Folder names are text ("Entwürfe"): imapclient puts them into IMAP's modified
UTF-7 on the wire. A name written in modified UTF-7 ("Entw&APw-rfe", as
Maildir directories and some clients show it) is taken as the text it
stands for, so both spellings are one folder and one source.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import os
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from gateway.ingest import imap_state as state

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 60.0
PORTS = {"imaps": 993, "imap": 143}
# What a pass may raise when the server or the network lets us down.
TRANSIENT = (OSError, IMAPClientError)


class ImapError(Exception):
    """A source cannot be read; the message says why (never the password).

    `permanent` errors (wrong password, missing folder, no password) will not
    go away by retrying soon; followers retry them slowly.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class ImapURL:
    scheme: str
    host: str
    port: int
    user: str
    folder: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{quote(self.user, safe='@')}@{host}{port}/{quote(self.folder, safe='/')}"


def parse_url(url: str) -> ImapURL:
    """`imaps://USER@HOST[:PORT]/FOLDER` or `imap://…` (STARTTLS); FOLDER defaults to INBOX.

    Raises ValueError naming the problem. A password in the URL is refused:
    it would end up in the database and in logs.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"IMAP URL {url!r}: {exc}") from None
    if parts.scheme not in PORTS:
        raise ValueError(f"IMAP URL {url!r}: use imaps:// (TLS) or imap:// (STARTTLS)")
    if parts.password is not None:
        raise ValueError(
            "IMAP URL: do not put the password in the URL; use --imap-password-file or --imap-password-env"
        )
    if not parts.hostname or not parts.username:
        raise ValueError(f"IMAP URL {url!r}: give user and host, as in imaps://team@mail.example.com/INBOX")
    folder = folder_text(unquote(parts.path.strip("/"))) or "INBOX"
    if folder.upper() == "INBOX":
        folder = "INBOX"  # one folder in any case (RFC 3501 5.1): "inbox" was a second source of it
    return ImapURL(parts.scheme, parts.hostname, port or PORTS[parts.scheme], unquote(parts.username), folder)


def parse_after(value: str) -> str:
    """`none`, `seen` or `move:FOLDER`; raises ValueError otherwise."""
    if value in ("none", "seen"):
        return value
    if value.startswith("move:") and value[5:].strip():
        return "move:" + folder_text(value[5:])
    raise ValueError(f"after-commit action {value!r}: use none, seen or move:FOLDER")


def new_source(*, url: str, password_file: str | None, password_env: str | None, after: str) -> dict[str, str]:
    """The columns of a source to add, checked; raises ValueError naming what is wrong.

    The password file is stored as an absolute path, so `serve` finds it from
    any working directory; it need not exist yet (secrets are often mounted
    at run time).
    """
    if bool(password_file) == bool(password_env):
        raise ValueError("an IMAP source needs exactly one of --imap-password-file or --imap-password-env")
    if password_env and not password_env.replace("_", "").isalnum():
        raise ValueError(f"--imap-password-env {password_env!r}: give the name of an environment variable")
    parsed, action = parse_url(url), parse_after(after)
    if action.startswith("move:") and _same_folder(action[5:].strip(), parsed.folder):
        # each message moved back in is new mail there: the source read its own moves, a hundred passes a second
        raise ValueError(f"--imap-after {action}: the folder this source follows; move its mail to another")
    return {
        "url": str(parsed),
        "password_file": os.path.abspath(password_file) if password_file else "",
        "password_env": password_env or "",
        "after": action,
    }


# A shifted run of modified UTF-7 (RFC 3501 5.1.3): "&", base64 of UTF-16BE with "," for "/", "-".
_SHIFTED = re.compile(r"&([A-Za-z0-9+,]*)-")


def folder_text(name: str) -> str:
    """A folder name as text: one in modified UTF-7 ("Entw&APw-rfe") decoded ("Entwürfe"), others as they are.

    imapclient encodes names itself: "Entw&APw-rfe" went out as "Entw&-APw-rfe",
    a folder that is not there. A name is decoded only when it is modified
    UTF-7 through and through (printable ASCII, "&-" for "&", runs that are
    canonical base64 of characters past ASCII) with at least one such run;
    "R&D" and "Q&A-Archive" are no modified UTF-7 and stay as written.
    """
    runs = _SHIFTED.findall(name)
    rest = _SHIFTED.sub("", name)
    if not any(runs) or "&" in rest or not all(" " <= c <= "~" for c in rest):
        return name
    texts = [t for t in map(_unshifted, runs) if t is not None]
    if len(texts) != len(runs):
        return name
    decoded = iter(texts)
    return _SHIFTED.sub(lambda _: next(decoded), name)


def _unshifted(run: str) -> str | None:
    """The characters one run stands for ("" is "&"), or None when the run is no canonical modified UTF-7."""
    if not run:
        return "&"
    try:
        raw = base64.b64decode(run.replace(",", "/") + "=" * (-len(run) % 4), validate=True)
        text = raw.decode("utf-16-be")
    except (binascii.Error, UnicodeDecodeError):
        return None
    canonical = base64.b64encode(raw).decode().rstrip("=").replace("/", ",")
    # printable ASCII is never shifted (RFC 3501 5.1.3): a run holding some is text that looks like one
    if canonical != run or any(" " <= c <= "~" for c in text):
        return None
    return text


def _same_folder(a: str, b: str) -> bool:
    """IMAP's INBOX is the same folder in any case (RFC 3501 5.1); other names are as written."""
    return a == b or (a.upper() == "INBOX" and b.upper() == "INBOX")


def read_password(src: state.Source) -> str:
    try:
        if src.password_file:
            with open(src.password_file, encoding="utf-8") as fh:
                password = fh.read().rstrip("\r\n")
        else:
            password = os.environ[src.password_env]
    except KeyError:
        raise ImapError(f"environment variable {src.password_env} is not set", permanent=True) from None
    except OSError as exc:
        raise ImapError(f"cannot read the password file {src.password_file}: {exc.strerror}", permanent=True) from None
    except UnicodeDecodeError:
        raise ImapError(f"the password file {src.password_file} is not UTF-8 text", permanent=True) from None
    if not password:
        raise ImapError(f"the password in {src.password_origin} is empty", permanent=True)
    return password


# RFC 5530's response codes for a refusal that is no verdict on the password: retried soon, as any
# passing fault ("[LIMIT] Maximum number of connections from user+IP exceeded")
_FOR_NOW = re.compile(r"^\s*\[(?:UNAVAILABLE|LIMIT|INUSE|SERVERBUG|EXPUNGEISSUED)\b", re.IGNORECASE)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def connected(src: state.Source, *, ca_file: str = "", timeout: float = TIMEOUT_SECONDS) -> Iterator[IMAPClient]:
    """A logged-in client for the source (TLS rules above); logged out on exit.

    `ca_file`: PEM file of the CAs to trust instead of the system's (IMAP_CA_FILE).
    """
    url = parse_url(src.url)
    context = ssl.create_default_context(cafile=ca_file or None)
    try:
        client = IMAPClient(url.host, port=url.port, ssl=url.scheme == "imaps", ssl_context=context, timeout=timeout)
    except socket.gaierror as exc:
        raise ImapError(f"cannot resolve {url.host}: {exc.strerror}") from None
    except ssl.SSLCertVerificationError as exc:
        raise _untrusted(url, exc, ca_file) from None
    try:
        if url.scheme == "imap":
            try:
                _starttls_or_loopback(client, url, context)
            except ssl.SSLCertVerificationError as exc:
                raise _untrusted(url, exc, ca_file) from None
        password = read_password(src)
        try:
            if password.isascii():
                client.login(url.user, password)
            else:  # LOGIN's string is ASCII to imaplib (it raised); AUTHENTICATE PLAIN carries UTF-8 (RFC 4616)
                client.plain_login(url.user, password)
        except LoginError as exc:
            said = server_text(exc)
            if _FOR_NOW.match(said):  # RFC 5530: too many connections, a server fault; not the password
                raise ImapError(f"login as {url.user!r} refused for now ({said})") from None
            raise ImapError(
                f"login as {url.user!r} refused ({said}); check the password in {src.password_origin}", permanent=True
            ) from None
        finally:
            del password
        yield client
    finally:
        _close(client)


def _untrusted(url: ImapURL, exc: ssl.SSLCertVerificationError, ca_file: str) -> ImapError:
    problem = (exc.verify_message or str(exc)).rstrip(".")
    trusted = (
        f"the CAs in MAILFEED_IMAP_CA_FILE ({ca_file})"
        if ca_file
        else "the system's CAs (MAILFEED_IMAP_CA_FILE can name a private CA)"
    )
    return ImapError(
        f"TLS certificate of {url.host}:{url.port} refused: {problem}; checked against {trusted}", permanent=True
    )


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection may be dead already: just drop the socket
        with suppress(Exception):
            client.shutdown()


def _starttls_or_loopback(client: IMAPClient, url: ImapURL, context: ssl.SSLContext) -> None:
    if client.has_capability("STARTTLS"):
        client.starttls(context)
        return
    peer = client.socket().getpeername()[0]
    if not _is_loopback(peer):
        raise ImapError(
            f"{url.host} ({peer}) offers no STARTTLS; refusing to send the password in clear text "
            "to a non-loopback address (use imaps://)",
            permanent=True,
        )
    log.debug("%s: no STARTTLS on loopback %s, continuing in clear text", url, peer)


def server_text(exc: Exception) -> str:
    """The server's words in an imapclient error (which often wraps them as "b'…'")."""
    arg = exc.args[0] if exc.args else exc
    text = arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)
    if text.startswith(("b'", 'b"')) and text[-1:] == text[1]:
        text = text[2:-1]
    return text


def describe(exc: BaseException) -> str:
    """One line for a failure, for logs and `mailfeed imap status`."""
    if isinstance(exc, ImapError):
        return str(exc)
    if isinstance(exc, IMAPClientError):
        return f"IMAP error: {server_text(exc)}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc}"
    if isinstance(exc, OSError):
        return f"connection failed: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"
