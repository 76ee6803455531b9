"""The layers of docs/architecture.md, checked on the import graph of ``sim/``.

Every ``import`` counts, also those inside functions: a lazy import is still a dependency.
A lower layer never imports a higher one; the rules below are the same table as
docs/architecture.md (a test keeps the two equal).
"""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> the sim packages (or single modules) it may import; itself is always allowed
ALLOWED: dict[str, tuple[str, ...]] = {
    "sim.scenario": (),
    "sim.records": ("sim.scenario",),
    "sim.model": ("sim.scenario", "sim.records"),
    "sim.kpi": ("sim.scenario", "sim.records", "sim.model.calendar"),
    "sim.report": ("sim.scenario",),
    "sim.experiments": ("sim.scenario", "sim.records", "sim.model", "sim.kpi", "sim.report"),
    "sim.planning": (
        "sim.scenario",
        "sim.records",
        "sim.model",
        "sim.kpi",
        "sim.experiments",
        "sim.report",
    ),
    "sim.fit": (
        "sim.scenario",
        "sim.records",
        "sim.model",
        "sim.kpi",
        "sim.experiments",
        "sim.planning",
        "sim.report",
    ),
    "sim.forecast": ("sim.scenario", "sim.fit", "sim.report"),
    "sim.quality": (
        "sim.scenario",
        "sim.records",
        "sim.model",
        "sim.kpi",
        "sim.experiments",
        "sim.planning",
        "sim.report",
    ),
    "sim.cli": ("sim",),
    "sim.__main__": ("sim.cli",),
    "sim": ("sim",),  # the lazy top-level package re-exports the public API
}
# the one edge that crosses upwards: simulate() summarises the records it produced
EXCEPTIONS = {("sim.model.simulation", "sim.kpi")}
# third-party packages confined to the layers that need them
CONFINED = {
    "simpy": ("sim.model",),
    "matplotlib": ("sim.report",),
    "jinja2": ("sim.report",),
    "statsmodels": ("sim.forecast",),
}


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, name: str) -> set[str]:
    """Absolute names of every module imported anywhere in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # `from sim.model import records`
    return out


def layer_of(name: str) -> str:
    """The most specific key of ALLOWED that ``name`` belongs to."""
    best = ""
    for layer in ALLOWED:
        if (name == layer or name.startswith(layer + ".")) and len(layer) > len(best):
            best = layer
    return best


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path) -> list[str]:
    """Every import in ``root/sim`` that breaks a rule, as 'importer -> imported'."""
    found = []
    for path in sorted((root / "sim").rglob("*.py")):
        name = module_name(path, root)
        layer = layer_of(name)
        for target in sorted(imports_of(path, name)):
            top = target.split(".")[0]
            if top in CONFINED and not any(_under(name, p) for p in CONFINED[top]):
                found.append(
                    f"{name} -> {target} (third-party {top} belongs to {', '.join(CONFINED[top])})"
                )
            if top != "sim" or (target == "sim" and layer in ("sim", "sim.cli")):
                continue
            if _under(target, layer) and layer != "sim":
                continue
            if any(_under(target, ok) for ok in ALLOWED[layer]):
                continue
            if any(_under(name, a) and _under(target, b) for a, b in EXCEPTIONS):
                continue
            if target == "sim":
                found.append(f"{name} -> sim (import the defining module, not the lazy root)")
                continue
            found.append(f"{name} -> {target}")
    return found


def test_the_package_keeps_its_layers():
    assert violations(ROOT) == []


def test_a_planted_violation_is_caught(tmp_path):
    """A KPI module importing the experiments layer, and the report importing SimPy."""
    for pkg in ("sim", "sim/kpi", "sim/experiments", "sim/report"):
        (tmp_path / pkg).mkdir(parents=True, exist_ok=True)
        (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / "sim/experiments/replication.py").write_text("X = 1\n")
    (tmp_path / "sim/kpi/calls.py").write_text(
        "def f():\n    from sim.experiments.replication import X\n    return X\n"
    )
    (tmp_path / "sim/report/plots.py").write_text("import simpy\n")
    assert violations(tmp_path) == [
        "sim.kpi.calls -> sim.experiments.replication",
        "sim.kpi.calls -> sim.experiments.replication.X",
        "sim.report.plots -> simpy (third-party simpy belongs to sim.model)",
    ]


def test_every_module_has_a_layer():
    for path in (ROOT / "sim").rglob("*.py"):
        assert layer_of(module_name(path, ROOT)), path


def test_architecture_doc_maps_every_module():
    """Each module of sim/ (or its sub-package, e.g. ``sim/report/templates/``) has a row in the
    module map of docs/architecture.md, and every row names a module that exists."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    rows = set(re.findall(r"^\| `(sim/[\w/.]+)` \|", doc, flags=re.M))
    for path in (ROOT / "sim").rglob("*.py"):
        name = path.relative_to(ROOT).as_posix()
        if path.name in ("__init__.py", "__main__.py") and name != "sim/__init__.py":
            continue
        assert name in rows or any(r.endswith("/") and name.startswith(r) for r in rows), name
    for row in rows:
        assert (ROOT / row).exists(), row


def test_architecture_doc_states_the_same_rules():
    """The table 'may import' in docs/architecture.md is this file's ALLOWED."""
    doc = (ROOT / "docs" / "architecture.md").read_text()
    rows = dict(re.findall(r"^\| `(sim[\w.]*)/?` \|[^|]*\| ([^|]*) \|$", doc, flags=re.M))
    for layer, allowed in ALLOWED.items():
        if layer in ("sim", "sim.__main__"):
            continue
        written = set(re.findall(r"`(sim[\w.]*)`", rows.get(layer, "")))
        assert written == set(allowed), (layer, written)


@pytest.mark.parametrize("module", ["sim", "sim.kpi.calls", "sim.report.html", "sim.cli"])
def test_light_imports_do_not_load_the_engine(module):
    """`import sim`, a KPI or report module, or the CLI does not pull SimPy or SciPy's
    statistics (startup of `sim --help`)."""
    import subprocess
    import sys

    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('simpy', 'scipy.stats', 'matplotlib.pyplot') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.strip()
    assert out == "[]", f"{module} loads {out}"


def _section(title: str) -> str:
    text = (ROOT / "docs" / "architecture.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def test_a_kind_of_work_is_added_in_at_most_three_places_none_of_them_the_router():
    """The section "Where do I add a kind of work" names at most three places, each of which
    exists, and the seam it names is there: the work-source protocol (whole or slot items),
    every ``pool.<name>`` it cites (``add_source``, ``pending``, ``take_slot``, ...); the agent
    pool and the policies know no kind of work (they import no module that one would edit),
    and the router is one work source among others."""
    section = _section("Where do I add a kind of work")
    rows = [
        line for line in section.splitlines()
        if line.startswith("| ") and not line.startswith(("| place ", "| ---"))
    ]  # fmt: skip
    assert 1 <= len(rows) <= 3
    for row in rows:
        path = re.match(r"\| (?:a new module in )?`([^`]+)`", row)
        assert path and (ROOT / path[1]).exists(), row
    from sim.model.agents import AgentPool, WorkSource

    assert {"whole", "take", "begin"} <= set(typing.get_type_hints(WorkSource))
    pool = AgentPool(["g"])
    cited = set(re.findall(r"(?:\bpool|AgentPool)\.(\w+)", section))
    assert {"add_source", "pending", "take_slot", "hold_slot", "set_capacity"} <= cited
    assert all(hasattr(pool, name) for name in cited), cited - set(dir(pool))
    assert pool.pending == [0] and pool.capacity == [1]
    for module, allowed in (
        ("sim/model/agents.py", {"sim.records"}),
        ("sim/model/routing.py", {"sim.model.agents", "sim.model.streams", "sim.scenario"}),
    ):
        name = module_name(ROOT / module, ROOT)
        inside = {t for t in imports_of(ROOT / module, name) if t.startswith("sim.")}
        assert all(any(_under(t, a) for a in allowed) for t in inside), (module, inside)
    from sim import scenario_from_dict
    from sim.model.contact_center import ContactCenter
    from sim.model.events import ModelEnvironment
    from sim.model.streams import Streams
    from sim.records.calls import CallLog

    scenario = scenario_from_dict(
        {
            "name": "seam",
            "horizon": {"days": 1},
            "arrivals": {"rate_per_hour": 10},
            "call_types": {"x": {"share": 1, "handle_time": {"dist": "fixed", "value": 60}}},
            "customer_tiers": {"std": {"share": 1}},
            "agents": {"groups": {"a": {"skills": ["x"], "staffing": 1}}},
        }
    )
    center = ContactCenter(ModelEnvironment(), scenario, Streams(1), CallLog())
    assert center.pool.sources == [[(center.take, center.begin)]]  # one work source of others
    assert callable(center.take) and callable(center.begin)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle():
    """No module of ``sim`` imports, even lazily or for type hints only, a module that imports
    it back (inside a layer too: what two modules share moves down, into a module of its own)."""
    paths = {module_name(p, ROOT): p for p in (ROOT / "sim").rglob("*.py")}
    graph = {n: {t for t in imports_of(p, n) if t in paths and t != n} for n, p in paths.items()}
    assert _cycles(graph) == []


def test_a_planted_circle_is_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
