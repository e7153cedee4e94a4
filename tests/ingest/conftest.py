"""What the IMAP tests share: a Dovecot with the user team, and `mailfeed` run in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from gateway.cli import app
from tests.dovecot import Dovecot

PASSWORD = "s3cret-team-pass"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    d = Dovecot()
    d.add_user("team", PASSWORD)
    d.start()
    yield d
    d.close()


def in_process_cli(tmp_path: Path) -> Callable[..., Result]:
    """`mailfeed` in typer's runner, on SQLite under tmp_path/data, with TEAM_IMAP_PASSWORD set.

    Each call takes the command's words and the exit code it must end with (`code`, 0 by default).
    """
    runner = CliRunner(
        env={
            "MAILFEED_DATA_DIR": str(tmp_path / "data"),
            "MAILFEED_DATABASE_URL": "",
            "MAILFEED_WORKERS": "1",
            "MAILFEED_SQLITE_SYNCHRONOUS": "NORMAL",
            "MAILFEED_CONFIG": None,
            "TEAM_IMAP_PASSWORD": PASSWORD,
        }
    )

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return run
