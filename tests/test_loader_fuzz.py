"""Fuzzing the loader as the CLI uses it: any mutated file loads or gives exit 2, never a traceback.

Random mutations of valid scenarios (wrong types, negative numbers, missing keys, misspelt keys,
deleted sections, broken YAML bytes, truncation) go through ``load_scenario`` and ``sim validate``.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from sim.cli import cli
from sim.scenario.errors import ScenarioError
from sim.scenario.loading import load_scenario
from sim.scenario.pitfalls import ScenarioWarning
from sim.scenario.schema import Scenario
from sim.scenario.yamlsource import load_yaml

FIXTURES = Path(__file__).parent / "scenarios"
ROOT = Path(__file__).resolve().parent.parent
BASE_FILES = [
    FIXTURES / "ok_minimal.yaml",
    FIXTURES / "ok_full_shape.yaml",
    FIXTURES / "ok_tiny.yaml",
    ROOT / "scenarios" / "hotline_contact_center.yaml",
]
BASE_DATA = [load_yaml(p)[0] for p in BASE_FILES]
BASE_TEXT = [p.read_text(encoding="utf-8") for p in BASE_FILES]
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def check_like_the_cli(path: Path) -> None:
    """Exactly what ``sim validate`` does, asserted two ways: the library and the command."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scenario = load_scenario(path)
        for w in caught:  # only the documented warnings, each naming the file and line
            assert issubclass(w.category, ScenarioWarning) and f"{path}:" in str(w.message), w
    except ScenarioError as exc:
        assert exc.items, "a ScenarioError must say what is wrong"
        for item in exc.items:
            assert item.file == str(path) and item.message, item
        expected = 2
    else:
        assert isinstance(scenario, Scenario)
        expected = 0
    result = CliRunner().invoke(cli, ["validate", str(path)])
    if not isinstance(result.exception, SystemExit | None):
        raise result.exception  # a traceback: shows the bug
    assert result.exit_code == expected, result.output
    if expected == 0:  # "ok" last; before it only warnings naming the file and line
        *warned, last = result.output.strip().splitlines()
        assert last == f"{path}: ok", result.output
        assert all(w.startswith(f"warning: {path}:") for w in warned), result.output
    else:
        assert str(path) in result.output and "Traceback" not in result.output


# --- mutations of the parsed data ---------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
    st.sampled_from(["3min", "-2s", "08:30", "25:99", "never", "no", "1e400", "exponential"]),
    st.sampled_from([math.inf, -math.inf, math.nan, 0, -1, 0.5, 10**30, "", [], {}]),
)
wrong_values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text("abcdefgh_", min_size=1, max_size=6), scalars, max_size=3),
)


def paths(node, prefix=()):
    """Every path into the data tree (keys and list indices)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield (*prefix, i)
            yield from paths(value, (*prefix, i))


def copy(node):
    if isinstance(node, dict):
        return {k: copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [copy(v) for v in node]
    return node


def misspell(key: str, data: st.DataObject) -> str:
    i = data.draw(st.integers(0, max(len(key) - 1, 0)))
    how = data.draw(st.sampled_from(["drop", "swap", "insert", "double"]))
    if how == "drop" and len(key) > 1:
        return key[:i] + key[i + 1 :]
    if how == "swap" and len(key) > 2 and i < len(key) - 1:
        return key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    if how == "double":
        return key[:i] + key[i] + key[i:]
    return key[:i] + data.draw(st.sampled_from("aeiourstxz_")) + key[i:]


def mutate(tree: dict, data: st.DataObject) -> str:
    """Apply one random mutation in place; returns its name (for the failure report)."""
    where = data.draw(st.sampled_from(list(paths(tree))))
    parent = tree
    for part in where[:-1]:
        parent = parent[part]
    last = where[-1]
    kind = data.draw(
        st.sampled_from(
            ["wrong_type", "negative", "delete", "misspell", "unknown_key", "delete_section"]
        )
    )
    if kind == "delete_section":
        tree.pop(data.draw(st.sampled_from(sorted(tree))), None)
    elif kind == "wrong_type":
        parent[last] = data.draw(wrong_values)
    elif kind == "negative":
        value = parent[last]
        if isinstance(value, int | float) and not isinstance(value, bool):
            parent[last] = -value if value else -1
        else:
            parent[last] = data.draw(st.sampled_from([-1, -0.5, "-3min", -(10**9)]))
    elif kind == "delete":
        del parent[last]
    elif kind == "misspell" and isinstance(last, str):
        parent[misspell(last, data)] = parent.pop(last)
    elif isinstance(parent, dict):
        parent[data.draw(st.from_regex(r"\Azz[a-z_]{1,8}\Z"))] = data.draw(wrong_values)
    return f"{kind} at {where}"


def dump(tree: dict) -> str:
    yaml = YAML(typ="safe", pure=True)
    buf = io.StringIO()
    yaml.dump(tree, buf)
    return buf.getvalue()


@pytest.mark.slow
@FUZZ
@given(base=st.sampled_from(range(len(BASE_DATA))), data=st.data())
def test_mutated_scenarios_load_or_give_exit_2(tmp_path_factory, base, data):
    tree = copy(BASE_DATA[base])
    done = [mutate(tree, data) for _ in range(data.draw(st.integers(1, 3))) if tree]
    path = tmp_path_factory.mktemp("fuzz") / "scenario.yaml"
    path.write_text(dump(tree), encoding="utf-8")
    note(done)
    check_like_the_cli(path)


# --- broken YAML --------------------------------------------------------------------------------


@pytest.mark.slow
@FUZZ
@given(base=st.sampled_from(range(len(BASE_TEXT))), data=st.data())
def test_broken_yaml_loads_or_gives_exit_2(tmp_path_factory, base, data):
    raw = BASE_TEXT[base].encode("utf-8")
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        kind = data.draw(st.sampled_from(["insert", "delete", "truncate", "byte", "line"]))
        if kind == "insert":
            chars = data.draw(st.text(":{}[]-,#&*!|>'\"%@` \t\n?\\a0", min_size=1, max_size=4))
            raw = raw[:at] + chars.encode() + raw[at:]
        elif kind == "delete":
            raw = raw[:at] + raw[at + data.draw(st.integers(1, 40)) :]
        elif kind == "truncate":
            raw = raw[:at]
        elif kind == "byte":
            raw = raw[:at] + bytes([data.draw(st.integers(0, 255))]) + raw[at + 1 :]
        else:  # duplicate a line: duplicate keys, misplaced indentation
            lines = raw.split(b"\n")
            i = min(at, len(lines) - 1) % max(len(lines), 1)
            raw = b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    path = tmp_path_factory.mktemp("broken") / "scenario.yaml"
    path.write_bytes(raw)
    check_like_the_cli(path)


def test_the_bases_are_valid():
    """Without this the fuzzing would only ever see exit 2."""
    for path in BASE_FILES:
        assert isinstance(load_scenario(path), Scenario)
    assert math.isfinite(load_scenario(BASE_FILES[0]).interval)
