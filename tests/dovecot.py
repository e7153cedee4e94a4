"""A throw-away Dovecot IMAP server for tests and benchmarks (../shared/recipes.md).

The whole server runs as one unprivileged user: `nobody:nogroup` when we are
root, else ourselves. Its config, passwd file, maildirs and log live in a temp
dir it owns; it listens on 127.0.0.1 on a free port, without TLS unless given
a certificate (then STARTTLS on that port, and imaps on `imaps_port`). `stop()` and
`start()` may be called mid-test: the mail stays, so a client sees the same
mailbox (same UIDVALIDITY) after a restart.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from imapclient import IMAPClient

from tests.servers import free_port

CONFIG = """\
# self-contained: nothing under /etc/dovecot is read
instance_name = {name}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = {address}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
# tests only: answer a wrong password at once, skip fsync
auth_failure_delay = 0
mail_fsync = never
{extra}default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={d}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {address}
    port = {port}
  }}
  inet_listener imaps {{
    address = {address}
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
  # tests only: no growing delay after wrong passwords (auth penalty)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


def _server_account() -> tuple[str, str]:
    if os.geteuid() == 0:
        return "nobody", "nogroup"
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


# Dovecot 2.3's capabilities after login, less IDLE: for the polling fallback.
NO_IDLE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT NAMESPACE UIDPLUS MULTIAPPEND UNSELECT CHILDREN LITERAL+ MOVE"
)


class Dovecot:
    """One Dovecot instance; `users` maps user name to password.

    `idle=False` leaves IDLE out of CAPABILITY; `address` is where it listens
    (127.0.0.1, or another local address to test what is refused off loopback);
    `tls` = (certificate chain, key) PEM files the server user can read.
    """

    def __init__(self, *, idle: bool = True, address: str = "127.0.0.1", tls: tuple[Path, Path] | None = None) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot not found: run `make test`, which installs Debian's dovecot-imapd")
        self.binary = binary
        self.user, self.group = _server_account()
        self.directory = Path(tempfile.mkdtemp(prefix="mailfeed-dovecot-"))
        self.address = address
        self.port = free_port()
        self.imaps_port = free_port() if tls else 0
        self.users: dict[str, str] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            os.chown(self.directory, pwd.getpwnam(self.user).pw_uid, grp.getgrnam(self.group).gr_gid)
        (self.directory / "dovecot.conf").write_text(
            CONFIG.format(
                d=self.directory,
                user=self.user,
                group=self.group,
                port=self.port,
                name=self.directory.name,
                address=address,
                imaps_port=self.imaps_port,
                ssl=f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}" if tls else "ssl = no",
                extra="" if idle else f"imap_capability = {NO_IDLE}\n",
            )
        )
        self._write_passwd()

    # users -------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add (or change the password of) a user; takes effect at once, no restart."""
        self.users[name] = password
        self._write_passwd()

    def _write_passwd(self) -> None:
        path = self.directory / "passwd"
        path.write_text("".join(f"{u}:{{PLAIN}}{p}:::::\n" for u, p in self.users.items()))
        path.chmod(0o644)

    # life --------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait for the `* OK` greeting."""
        log = (self.directory / "stdout.log").open("ab")
        self._proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.directory / "dovecot.conf")],
            user=self.user,
            group=self.group,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd="/tmp",
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"dovecot exited at start:\n{self.log()}")
            try:
                with socket.create_connection((self.address, self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"no IMAP greeting on 127.0.0.1:{self.port} after {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM to the process group: every Dovecot process goes, connections drop."""
        if self._proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self._proc.pid, signal.SIGTERM)
        try:
            self._proc.wait(timeout=3)  # the mail is on disk already; a slow shutdown gains nothing
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)
        self._proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def log(self) -> str:
        parts = []
        for name in ("dovecot.log", "stdout.log"):
            p = self.directory / name
            if p.exists():
                parts.append(p.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    # mail --------------------------------------------------------------------

    def url(self, user: str, folder: str = "INBOX", *, imaps: bool = False) -> str:
        if imaps:
            return f"imaps://{user}@{self.address}:{self.imaps_port}/{folder}"
        return f"imap://{user}@{self.address}:{self.port}/{folder}"

    @contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        c = IMAPClient(self.address, port=self.port, ssl=False, timeout=30)
        try:
            password = self.users[user]
            c.login(user, password) if password.isascii() else c.plain_login(user, password)
            yield c
        finally:
            with suppress(Exception):
                c.logout()

    def append(self, user: str, messages: Iterable[bytes], folder: str = "INBOX", batch: int = 100) -> None:
        """APPEND the messages in order (MULTIAPPEND, `batch` per command); the folder is created if missing."""
        msgs = list(messages)
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            for i in range(0, len(msgs), batch):
                c.multiappend(folder, msgs[i : i + batch])

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.client(user) as c:
            return int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def uids(self, user: str, folder: str = "INBOX", criteria: str | list[str] = "ALL") -> list[int]:
        with self.client(user) as c:
            c.select_folder(folder, readonly=True)
            return sorted(c.search(criteria))

    def recreate(self, user: str, folder: str) -> None:
        """Delete and create `folder` again (empty): it gets a new UIDVALIDITY. Not for INBOX."""
        with self.client(user) as c:
            c.delete_folder(folder)
            c.create_folder(folder)
