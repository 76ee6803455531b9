"""Fuzzing ``sim`` as a user would run it: each case a subprocess with time and memory limits.

The corpus (``tests/fuzz_corpus/*.json``) holds every hostile input of issue 15 with what must
happen; the generated run draws fresh cases from :mod:`fuzzkit` (mutated bundled scenarios,
raw-YAML attacks, ``extends:`` tricks, special files; names that look like formulas or hold
control characters, results folders with links planted in them). A larger run with counts:
``benchmarks/fuzz_inputs.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fuzzkit import Case, all_cases, hostile_cases, run_case
from hypothesis import HealthCheck, given, note, settings

pytestmark = pytest.mark.slow  # end-to-end runs of seconds each: outside the fast tier

CORPUS = sorted((Path(__file__).parent / "fuzz_corpus").glob("*.json"))


def test_the_corpus_covers_the_issue():
    assert len(CORPUS) >= 35


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_case(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    expect = data["expect"]
    outcomes = run_case(Case.from_json(data))
    for outcome in outcomes:
        assert not outcome.problems, (outcome.command, outcome.problems, outcome.stderr[-2000:])
    outcomes = outcomes[len(data.get("prepare", [])) :]  # the case's command, then its run
    first = outcomes[0]
    assert first.exit_code == expect["exit"], first.stderr[-2000:]
    for text in expect.get("contains", []):
        assert text in first.stdout + first.stderr, first.stderr[-2000:]
    assert len(first.stderr) < 5000  # short, sanitised messages: never an input echoed back
    if "run_exit" in expect:
        run = outcomes[1]
        assert run.exit_code == expect["run_exit"], run.stderr[-2000:]
        for text in expect.get("run_contains", []):
            assert text in run.stdout + run.stderr, run.stdout[-2000:] + run.stderr[-2000:]


def _holds(case: Case) -> None:
    """Each command of ``case`` ends 0 or 2, no traceback, within its limits."""
    note(json.dumps(case.to_json())[:4000])
    for outcome in run_case(case, time_limit=60):
        assert not outcome.problems, (outcome.command, outcome.problems, outcome.stderr[-2000:])


def _draws(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@_draws(12)
@given(all_cases)
def test_generated_cases(case):
    """A CI-sized draw of every kind of case."""
    _holds(case)


@_draws(6)
@given(hostile_cases)
def test_generated_hostile_names_and_folders(case):
    """Issue 26's classes: names to spreadsheets and terminals, links in results folders."""
    _holds(case)
