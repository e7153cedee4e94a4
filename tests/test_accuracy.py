"""The accuracy harness, run in-process: every labelled set stays at or above its floor."""

from __future__ import annotations

import pytest

from bench import accuracy


@pytest.fixture(scope="module")
def results() -> dict[str, accuracy.SetResult]:
    root = accuracy.corpus_dir()
    if not root.is_dir():
        pytest.skip(f"corpus not found at {root} (set MAILFEED_CORPUS)")
    return accuracy.evaluate(root)


@pytest.mark.parametrize("name", sorted(accuracy.FLOOR))
def test_set_is_at_or_above_its_floor(results: dict[str, accuracy.SetResult], name: str) -> None:
    assert name in results, f"{name} produced no cases"
    res = results[name]
    misses = "\n".join(f"{case}: {diff}" for case, diff in res.misses)
    assert res.pct >= accuracy.FLOOR[name], f"{name}: {res.matched}/{res.total}\n{misses}"


def test_every_set_has_a_floor(results: dict[str, accuracy.SetResult]) -> None:
    assert set(results) == set(accuracy.FLOOR)
