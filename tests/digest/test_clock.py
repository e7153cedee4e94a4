"""MAILFEED_DIGEST_CLOCK_START: the digest clock for tests and drills starts at a given moment and runs on."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_settings
from gateway.digest.scheduler import Clock
from tests.digest.readers import populate


def test_clock_starts_at_the_setting_and_runs_on() -> None:
    start = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    clock = Clock(start)
    first = clock.now()
    time.sleep(0.05)
    second = clock.now()
    assert start <= first < second < start + timedelta(seconds=5)
    assert abs(Clock().now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_clock_start_without_an_offset_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILFEED_DIGEST_CLOCK_START", "2026-03-27T09:00:00")
    with pytest.raises(ConfigError, match="MAILFEED_DIGEST_CLOCK_START='2026-03-27T09:00:00'.*UTC offset"):
        load_settings()
    monkeypatch.setenv("MAILFEED_DIGEST_CLOCK_START", "2026-03-27T11:00:00+02:00")
    assert load_settings().digest_clock_start == datetime(2026, 3, 27, 9, 0, tzinfo=UTC)


@pytest.mark.slow
def test_digest_send_dry_run_previews_what_the_pinned_moment_sends(sqlite_template: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mailfeed.sqlite3'}"
    (tmp_path / "mailfeed.sqlite3").write_bytes(sqlite_template.read_bytes())
    populate(url, 2, tmp_path)  # subscribed 2026-03-26 00:00 UTC, daily at 08:00 UTC
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFEED_")}
    env.update(MAILFEED_DATA_DIR=str(tmp_path / "data"), MAILFEED_DATABASE_URL=url)

    def preview(at: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", "digest", "send", "--dry-run"],
            env={**env, "MAILFEED_DIGEST_CLOCK_START": at},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )

    due = preview("2026-03-27T09:00:00+00:00")
    assert "dry run: 2 digests would go out" in due.stderr
    assert "Message-ID: <digest.1.2026-03-27@example.com>" in due.stdout
    assert "dry run: 0 digests would go out" in preview("2026-03-25T12:00:00+00:00").stderr  # before they subscribed
