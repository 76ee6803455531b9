"""Shared test helpers: small fixture scenarios as plain data that tests change."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from sim.yamlsource import load_yaml

SCENARIOS = Path(__file__).parent / "scenarios"


def fixture_data(name: str) -> dict:
    """A fixture scenario in tests/scenarios/ as a plain mapping (a fresh copy each time)."""
    data, _ = load_yaml(SCENARIOS / name)
    return copy.deepcopy(data)


@pytest.fixture
def business_data() -> dict:
    return fixture_data("business_small.yaml")
