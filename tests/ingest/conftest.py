"""What the IMAP tests share: a Dovecot with the user team, and `mailfeed` run in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from tests import helpers
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
    """`tests.helpers.in_process_cli` with TEAM_IMAP_PASSWORD set."""
    return helpers.in_process_cli(tmp_path, TEAM_IMAP_PASSWORD=PASSWORD)
