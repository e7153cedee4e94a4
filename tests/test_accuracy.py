"""The accuracy harness, run in-process: every labelled set stays at or above its floor."""

from __future__ import annotations

import pytest

from bench import accuracy, libraries


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


def test_each_library_alone_scores_below_mailfeed_and_right_on_its_own_labels() -> None:
    """What the README says of the libraries, measured (`python -m bench.libraries`)."""
    root = accuracy.corpus_dir()
    if not root.is_dir():
        pytest.skip(f"corpus not found at {root} (set MAILFEED_CORPUS)")
    results = libraries.measure(root)
    matched = {name: sum(r.matched for r in sets.values()) for name, sets in results.items()}
    total = sum(r.total for r in results["mailfeed"].values())
    assert all(sum(r.total for r in sets.values()) == total for sets in results.values())
    for name in ("email-reply-parser", "mail-parser-reply", "quotequail"):
        assert matched[name] < 0.7 * total < matched["mailfeed"], (name, matched)
    # each adapter reads its library right: it scores on the labels its own tests set
    assert results["email-reply-parser"]["email_reply_parser"].pct >= 85
    assert results["mail-parser-reply"]["mail-parser-reply"].pct >= 95
    assert results["quotequail"]["quotequail/quote_text"].pct == 100
    assert results["quotequail"]["quotequail/quote_html"].pct == 100
