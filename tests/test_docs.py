"""The README documents every setting and every command (a test fails when one is missing)."""

from __future__ import annotations

from pathlib import Path

import typer.main

from gateway.cli import app
from gateway.config import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    for name in Settings.model_fields:
        assert f"`MAILFEED_{name.upper()}`" in README, name


def test_every_command_is_in_the_readme() -> None:
    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names += [f"mailfeed {name} {s}" for s in sub] if sub else [f"mailfeed {name}"]
    assert len(names) >= 7
    for name in names:
        assert f"`{name}" in README, name


def test_readme_shows_the_two_setup_commands() -> None:
    assert "make run" in README and "make test" in README
