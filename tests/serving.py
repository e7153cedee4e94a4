"""`mailfeed serve` as a subprocess, as an admin runs it: environment, switches, ports, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port, wait_for_port


def serve_env(db_url: str, tmp_path: Path, **settings: str) -> dict[str, str]:
    """This process's environment without MAILFEED_*, plus a database, fresh ports and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    env.update(
        MAILFEED_DATA_DIR=str(tmp_path / "data"),
        MAILFEED_DATABASE_URL=db_url,
        MAILFEED_SMTP_PORT=str(free_port()),
        MAILFEED_HTTP_PORT=str(free_port()),
        MAILFEED_SQLITE_SYNCHRONOUS="NORMAL",
        MAILFEED_WORKERS="1",
    )
    env.update({f"MAILFEED_{k.upper()}": v for k, v in settings.items()})
    return env


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path

    @property
    def smtp_port(self) -> int:
        return int(self.env["MAILFEED_SMTP_PORT"])

    @property
    def http_port(self) -> int:
        return int(self.env["MAILFEED_HTTP_PORT"])

    def healthz(self) -> tuple[int, dict[str, object]]:
        """The status code and body of GET /healthz (a 503's body too)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/healthz", timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as err:
            return err.code, json.load(err)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM to serve alone (not its group), as systemd's KillMode=mixed does first; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        return self.proc.returncode


@contextmanager
def serving(
    env: dict[str, str], *switches: str, wait: tuple[str, ...] = ("http", "smtp"), name: str = "serve"
) -> Iterator[Served]:
    """Run `mailfeed serve SWITCHES` until the ports named in `wait` listen; stop it afterwards.

    stdout and stderr go to separate files: stderr is where the log lines are.
    """
    log = Path(env["MAILFEED_DATA_DIR"]).parent / f"{name}.stderr"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", *switches],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    served = Served(proc, env, log)
    try:
        for port in wait:
            wait_for_port(served.http_port if port == "http" else served.smtp_port, timeout=60)
        yield served
    except BaseException:
        print(served.output()[-5000:])
        raise
    finally:
        served.stop()
        with suppress(ProcessLookupError):  # anything of its group still there (a hung stop)
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
