"""The staffing results folder: staffing.yaml (an ``agents:`` section), staffing.csv (per group,
day type and interval), staffing.json (the summary with the fresh-seed check), and search.json
(the state of the search, so a run killed at any point resumes into the same folder).

scenario.yaml is the scenario with the plan as its ``agents:``, its data files under ``data/``:
it runs as is from any folder. The folder is written whole after each round (staged by the
command, :mod:`sim.report.staging`), so a killed or failed run leaves its best staffing so far,
marked ``"complete": false``, with the search state it resumes from.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path

import numpy as np

from sim.planning.slots import dated_plan, staffing_map
from sim.planning.staffing import Search, StaffingResult, check_text
from sim.scenario.errors import printable
from sim.scenario.resolved import dump_yaml, scenario_to_dict
from sim.scenario.schema import Scenario
from sim.scenario.units import format_clock

__all__ = [
    "SearchFileError",
    "fingerprint",
    "load_search",
    "plan_agents",
    "plan_scenario",
    "planned_for",
    "save_search",
    "search_shape",
    "staffing_table",
    "staffing_yaml",
    "write_staffing_folder",
]

SEARCH_FILE = "search.json"
PLAN_FILES = {"staffing": "scenario.yaml", "shifts": "shifts-scenario.yaml"}
"""The runnable scenario of each plan (:func:`plan_scenario`)."""


def fingerprint(scenario: Scenario, **options) -> str:
    """What a resumed search must share with the one that wrote the folder."""
    data = {"scenario": scenario_to_dict(scenario), **options}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def save_search(out: Path, state: Search, key: str) -> None:
    """The search state, atomically (floats as JSON numbers round-trip exactly)."""
    from sim.report.files import write_atomic

    data = {
        "fingerprint": key,
        "levels": state.levels.tolist(),
        "decided": state.decided.tolist(),
        "lo": state.lo.tolist(),
        "fixed": state.fixed.tolist(),
        "erlang": state.erlang.tolist(),
        "round": state.round,
        "block": state.block,
        "simulated": state.simulated,
        "confirmed": state.confirmed,
        "history": state.history,
        "good": None if state.good is None else state.good.tolist(),
        "evidence": [[*k, v.ravel().tolist()] for k, v in state.evidence.items()],
        "priced": [[*k, v.ravel().tolist()] for k, v in state.priced.items()],
    }
    write_atomic(out / SEARCH_FILE, json.dumps(data) + "\n")


def search_shape(scenario: Scenario, pool_days: bool = True) -> tuple[int, int, int]:
    """(groups, day types, intervals per day): the shape of a search's levels."""
    from sim.planning.slots import day_types

    types = day_types(scenario, pool_days)
    return len(scenario.agents.groups), types.count, types.per_day


class SearchFileError(ValueError):
    """A search.json with the fingerprint of this problem but contents sim did not write."""


def load_search(out: Path, key: str, shape: tuple[int, int, int] | None = None) -> Search | None:
    """The saved search of the same problem in ``out``, or None (none, or another problem).

    ``shape``: (groups, day types, intervals per day) of the problem. Raises
    :class:`SearchFileError` when the file has this problem's fingerprint but is not as
    :func:`save_search` writes it (levels of another shape, evidence outside them, ...): a
    resumed search must not start from a state it cannot have left."""
    from sim.report.files import read_inside

    path = out / SEARCH_FILE
    try:
        raw = read_inside(path)
        data = json.loads(raw.decode("utf-8")) if raw is not None else None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != key:
        return None
    try:
        return _search_of(data, shape)
    except (KeyError, IndexError, TypeError, ValueError, OverflowError) as exc:
        raise SearchFileError(
            f"{path}: not as sim staff writes it ({str(exc)[:80] or type(exc).__name__}); "
            "delete it to start the search afresh, or choose another --out"
        ) from None


def _search_of(data: dict, shape: tuple[int, int, int] | None) -> Search:
    """The :class:`Search` of a search.json's data; every array of one shape, every count a
    count, every evidence key inside that shape (else an error)."""
    levels = np.array(data["levels"], dtype=np.int64)
    if levels.ndim != 3 or (shape is not None and levels.shape != shape):
        raise ValueError(f"levels of shape {levels.shape}, not {shape}")
    for name in ("round", "block", "simulated", "confirmed"):
        if type(data.get(name, 0)) is not int or data.get(name, 0) < 0:
            raise ValueError(f"{name} is not a count")
    if not all(isinstance(h, int | float) for h in data["history"]):
        raise ValueError("history is not a list of numbers")
    state = Search(
        levels,
        np.array(data["decided"], dtype=bool),
        np.array(data["lo"], dtype=np.int64),
        np.array(data["fixed"], dtype=bool),
        np.array(data["erlang"], dtype=np.int64),
        round=data["round"],
        block=data["block"],
        simulated=data["simulated"],
        confirmed=data.get("confirmed", 0),
        history=list(data["history"]),
    )
    if data.get("good") is not None:
        state.good = np.array(data["good"], dtype=bool)
    arrays = (state.decided, state.lo, state.fixed, state.erlang, state.good)
    if any(a is not None and a.shape != levels.shape for a in arrays):
        raise ValueError("arrays of different shapes")
    for name, into in (("evidence", state.evidence), ("priced", state.priced)):
        for *k, values in data.get(name, []):
            g, t, p, _level, _block = (int(x) for x in k)
            if not all(0 <= i < n for i, n in zip((g, t, p), levels.shape, strict=True)):
                raise IndexError(f"{name} of slot {(g, t, p)} outside the levels")
            into[tuple(int(x) for x in k)] = np.array(values, dtype=float).reshape(3, 6)
    return state


def plan_agents(result: StaffingResult) -> dict:
    """The scenario's ``agents:`` section with each group on its recommended ``staffing`` map
    (its shifts, if any, replaced)."""
    data = scenario_to_dict(result.scenario)["agents"]
    for g, plan in result.staffing.items():
        group = {k: v for k, v in data["groups"][g].items() if k not in ("shifts", "staffing")}
        group["staffing"] = staffing_map(result.scenario, plan)
        data["groups"][g] = group
    return data


def planned_for(result: StaffingResult) -> str:
    """What the plan was staffed for: the arrivals' mean, and with a day-to-day cv the range
    of day volumes every replication draws around it (the check's service level is the mean
    over that range, not a quantile of it); then what planning changed in the scenario."""
    scenario = result.scenario
    dated = "per date" if dated_plan(scenario) else "per weekday"
    cv = scenario.arrivals.day_to_day_cv
    if cv <= 0:
        text = f"planned {dated} for the arrivals' mean volumes (Poisson variation only)"
    else:
        text = (
            f"planned {dated} for the arrivals' mean volumes with day-to-day cv {cv:g}: every "
            "replication draws each day's volume around the mean (gamma, mean 1), so each "
            "slot's service level is its mean over that range of days, not a quantile of it"
        )
    return "; ".join([text, *result.changed])


def _comment(text: str) -> str:
    """``text`` as YAML comment lines (printable: a line break would end the comment)."""
    return textwrap.fill(printable(text), 96, initial_indent="# ", subsequent_indent="# ")


def _headline(result: StaffingResult) -> str:
    """What a file of the folder says first (the name printable: a line break in it would end
    the comment and write YAML)."""
    if not result.complete:
        return "best staffing so far of an unfinished search (rerun into the same --out)"
    return f"staffing for {printable(result.scenario.name)} {check_text(result.check())}"


def staffing_yaml(result: StaffingResult) -> str:
    """The ``agents:`` section with each group on the recommended ``staffing`` map, as YAML."""
    head = (
        f"# {_headline(result)} (sim staff); paste over the scenario's agents: section\n"
        f"{_comment(planned_for(result))}\n"
    )
    return dump_yaml({"agents": plan_agents(result)}, head)


def plan_scenario(result: StaffingResult, schedule=None) -> tuple[str, dict[str, str]]:
    """``scenario.yaml``: the scenario as simulated with the plan's ``agents:`` section, named
    ``<name>-staffed`` (``schedule``: on its shifts instead, ``<name>-shifts``), and its data
    files (``{path: text}``, under ``data/`` beside it), so that ``sim run scenario.yaml`` runs
    it from any folder (:mod:`sim.scenario.standalone`)."""
    from sim.scenario.resolved import SECONDS_NOTE
    from sim.scenario.standalone import standalone

    name = result.scenario.name
    if schedule is None:
        data = scenario_to_dict(result.scenario)
        data["agents"], data["name"], plan = plan_agents(result), f"{name}-staffed", "staffing"
    else:
        data = scenario_to_dict(schedule.scenario)
        data["name"], plan = f"{name}-shifts", "shifts"
    data, files = standalone(data)
    head = (
        f"# {_headline(result)} (sim staff)\n"
        f"# {printable(name)} with the recommended {plan} ({plan}.yaml) as its agents:\n"
        f"{_comment(planned_for(result) + '.')}\n"
        f"# run it as is, from any folder: sim run {PLAN_FILES[plan]}. Written by the\n"
        f"# program: {SECONDS_NOTE}.\n"
    )
    return dump_yaml(data, head), files


def staffing_table(result: StaffingResult) -> dict[str, list]:
    """staffing.csv: per group, day type and interval measured: agents recommended, Erlang, the
    scenario's own, whether the search decided the slot, and the fresh-seed service level (mean
    and 95% interval), abandon rate, occupancy, and whether it meets / significantly misses."""
    cols: dict[str, list] = {
        k: []
        for k in (
            "group", "day_type", "start", "agents", "erlang_agents", "scenario_agents",
            "decided", "service_level", "service_level_ci_low", "service_level_ci_high",
            "abandon_rate", "occupancy", "meets_targets", "significant_miss",
        )
    }  # fmt: skip
    own = result.scenario_levels()
    v = result.verified
    if v is not None:
        low, high = v.bounds(0.025)
        meets = v.meets(result.targets)
        misses = v.short(result.targets, 0.025)
    for gi, g in enumerate(result.groups):
        for k, name in enumerate(result.types.names):
            for p in np.flatnonzero(result.measured_slots()[gi, k]):
                ix = (gi, k, p)
                cols["group"].append(g)
                cols["day_type"].append(name)
                cols["start"].append(format_clock(p * result.scenario.interval))
                cols["agents"].append(int(result.levels[ix]))
                cols["erlang_agents"].append(int(result.erlang_levels[ix]))
                cols["scenario_agents"].append(round(float(own[ix]), 2))
                cols["decided"].append(bool(result.decided[ix]))
                if v is None:
                    for name_ in list(cols)[7:]:
                        cols[name_].append(None)
                    continue
                cols["service_level"].append(_num(v.est[0][ix]))
                cols["service_level_ci_low"].append(_num(max(low[0][ix], 0.0)))
                cols["service_level_ci_high"].append(_num(min(high[0][ix], 1.0)))
                cols["abandon_rate"].append(_num(v.est[1][ix]))
                cols["occupancy"].append(_num(v.est[2][ix]))
                cols["meets_targets"].append(bool(meets[ix]))
                cols["significant_miss"].append(bool(misses[ix]))
    return cols


def _num(x) -> float | None:
    x = float(x)
    return None if not np.isfinite(x) else x


def summary(result: StaffingResult) -> dict:
    t = result.targets
    erlang_hours = result.agent_hours(result.erlang_levels)
    own_hours = result.agent_hours(result.scenario_levels())
    return {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "complete": result.complete,
        "targets": {
            "within": t.within,
            "service_level": t.service_level,
            "abandon_rate": t.abandon_rate,
            "max_occupancy": t.max_occupancy,
        },
        "indifference_zone": result.delta,
        "day_types": {name: result.types.rows_of(k) for k, name in enumerate(result.types.names)},
        "planned_for": planned_for(result),
        "changed": result.changed,
        "notes": result.types.notes,
        "agent_hours": result.agent_hours(),
        "agent_hours_per_day": _day_hours(result),
        "erlang_agent_hours": erlang_hours,
        "scenario_agent_hours": own_hours,
        "measured_days": int(result.measured_days().sum()),
        "slots": int(result.measured_slots().sum()),
        "slots_decided": int((result.decided & result.measured_slots()).sum()),
        "budget_spent": result.complete and not result.converged,
        "fresh_seed_check": result.check(),
        "rounds": result.rounds,
        "replications": result.replications,
        "replications_simulated": result.simulated + result.verify_replications,
        "elapsed_s": result.elapsed_s,
        "agent_hours_per_round": result.history,
    }


def _day_hours(result: StaffingResult) -> dict[str, float]:
    """Agent-hours of a day of each plan row (weekday or date), every group."""
    types = result.types
    hours = result.levels.sum(axis=(0, 2)) * result.scenario.interval / 3600.0  # per type
    return {label: float(hours[k]) for label, k in zip(types.labels, types.of_row, strict=True)}


def write_staffing_folder(
    out: str | Path,
    result: StaffingResult,
    schedule=None,
    search: tuple[Search, str] | None = None,
) -> Path:
    """staffing.yaml, scenario.yaml (with its ``data/``), staffing.csv and staffing.json (and
    the shift files of ``schedule``, shifts-scenario.yaml among them; ``search``: the state to
    resume from and its fingerprint, as search.json). Write into a staged folder
    (:mod:`sim.report.staging`): the files belong together."""
    from sim.report.files import write_atomic, write_table

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if search is not None:
        save_search(out, *search)
    write_atomic(out / "staffing.yaml", staffing_yaml(result))
    for plan in (None, schedule) if schedule is not None else (None,):
        scenario, files = plan_scenario(result, plan)
        for path, text in files.items():  # the same data files for both
            write_atomic(out / path, text)
        write_atomic(out / PLAN_FILES["staffing" if plan is None else "shifts"], scenario)
    write_table(out / "staffing.csv", staffing_table(result))
    data = summary(result)
    if schedule is not None:
        data["shifts"] = schedule.summary()
        schedule.write(out)
    write_atomic(out / "staffing.json", json.dumps(data, indent=2) + "\n")
    return out
