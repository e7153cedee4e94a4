"""Real servers for the tests: a throw-away PostgreSQL, a DNS server and free ports.

Started the way ../shared/recipes.md verified: as root the server runs as the
`postgres` account in a temp dir it owns; as any other user, as that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

_GIVEN: set[int] = set()  # ports handed out in this process


def free_port() -> int:
    """A port free now and not handed out before in this process.

    The kernel may offer a port again as soon as the socket that asked for it closes: two
    servers started from two calls in a row once got the same one (an SMTP-only instance
    and a web-only one, whose unused SMTP port then seemed to listen).
    """
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Postgres:
    directory: str
    port: int
    bindir: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self, *, keep: bool = False) -> None:
        """Stop the server; its files go too unless `keep` (to start it again).

        A kept server shuts down cleanly ("fast"): the test servers run with
        synchronous_commit off, so an immediate stop would drop acknowledged commits.
        """
        mode = "fast" if keep else "immediate"
        subprocess.run(
            _as_server_user([f"{self.bindir}/pg_ctl", "-D", f"{self.directory}/data", "-m", mode, "-w", "stop"]),
            cwd="/tmp",
            capture_output=True,
            check=False,
        )
        if not keep:  # gigabytes of per-test databases: removed in the background, nobody waits for it
            subprocess.run(["sh", "-c", 'rm -rf -- "$1" >/dev/null 2>&1 &', "sh", self.directory], check=True)

    def start(self) -> None:
        _pg_start(self.bindir, self.directory, self.port)


def postgres_bindir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def start_postgres() -> Postgres:
    """initdb + pg_ctl start in a fresh temp dir on a free port; fsync off (tests only)."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found: run `make test`, which installs them")
    d = tempfile.mkdtemp(prefix="mailfeed-pg-")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(d, pw.pw_uid, pw.pw_gid)
    port = free_port()
    run = dict(cwd="/tmp", capture_output=True, text=True, check=True)
    subprocess.run(
        _as_server_user(
            [
                f"{bindir}/initdb",
                "-D",
                f"{d}/data",
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
                "--no-instructions",
            ]
        ),
        **run,
    )
    _pg_start(bindir, d, port)
    return Postgres(directory=d, port=port, bindir=bindir)


def _pg_start(bindir: str, d: str, port: int) -> None:
    opts = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={d} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    subprocess.run(
        _as_server_user(
            [f"{bindir}/pg_ctl", "-D", f"{d}/data", "-l", f"{d}/pg.log", "-w", "-t", "30", "-o", opts, "start"]
        ),
        cwd="/tmp",
        capture_output=True,
        text=True,
        check=True,
    )


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class DnsServer:
    """A DNS server on 127.0.0.1 (UDP) answering TXT queries from `records`, or SERVFAIL to
    every query while `failing` is set: what a resolver sees when a domain's servers are down."""

    def __init__(self, records: dict[str, str]) -> None:
        self.records = records
        self.failing = threading.Event()
        self.queries: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        while True:
            try:
                data, peer = self._sock.recvfrom(4096)
            except OSError:  # closed
                return
            query = dns.message.from_wire(data)
            answer = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".")
            self.queries.append(name)
            if self.failing.is_set():
                answer.set_rcode(dns.rcode.SERVFAIL)
            elif question.rdtype == dns.rdatatype.TXT and name in self.records:
                answer.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", f'"{self.records[name]}"'))
            else:
                answer.set_rcode(dns.rcode.NXDOMAIN)
            self._sock.sendto(answer.to_wire(), peer)

    def close(self) -> None:
        self._sock.close()
