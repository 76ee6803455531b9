"""Call logs that carry what real exports carry, simulated from a known scenario.

:func:`messy_scenario` is a center shaped like the public "Anonymous Bank" month (Brown et al.
2005): open 07:00-24:00 Sunday to Thursday, 07:00-14:00 on Friday and 20:00-24:00 on Saturday
(closed Friday afternoon to Saturday evening), six call types of which two are 0.4 % and 0.8 %
of calls, two groups sharing types, a priority tier, patience far from exponential (lognormal,
cv 2: many quick hang-ups) and redials. :func:`messy_log` simulates it and writes the log the way
a switch exports it: calls arriving while the center is closed are not in it (the switch plays
its "closed" message), and customer ids are known for only ``id_share`` of the customers.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

# Open slots (30 min) per weekday, Monday first: (first slot, end slot).
OPEN = {
    "mon": (14, 48),
    "tue": (14, 48),
    "wed": (14, 48),
    "thu": (14, 48),
    "fri": (14, 28),
    "sat": (40, 48),
    "sun": (14, 48),
}
DAY_CALLS = {
    "mon": 1300,
    "tue": 1200,
    "wed": 1200,
    "thu": 1150,
    "fri": 500,
    "sat": 120,
    "sun": 1250,
}
HANDLE_MEAN = 200.0  # s, the calls' mix (PS dominates)

_SCENARIO = {
    "name": "messy-truth",
    "horizon": {"days": 28, "start_weekday": "mon"},
    "interval": "30min",
    "arrivals": {"file": "arrivals.csv"},
    "call_types": {
        "PS": {
            "share": 0.66,
            "handle_time": {"dist": "lognormal", "mean": 190, "cv": 1.1},
            "first_contact_resolution": 0.85,
        },
        "NW": {"share": 0.15, "handle_time": {"dist": "lognormal", "mean": 170, "cv": 1.0}},
        "TT": {"share": 0.12, "handle_time": {"dist": "lognormal", "mean": 330, "cv": 0.9}},
        "NE": {"share": 0.058, "handle_time": {"dist": "lognormal", "mean": 200, "cv": 1.0}},
        "IN": {"share": 0.008, "handle_time": {"dist": "lognormal", "mean": 150, "cv": 1.0}},
        "PE": {"share": 0.004, "handle_time": {"dist": "lognormal", "mean": 250, "cv": 1.0}},
        "normalize": True,
    },
    "customer_tiers": {
        "regular": {
            "share": 0.85,
            "priority": 1,
            "patience": {"dist": "lognormal", "mean": 400, "cv": 2.0},
        },
        "vip": {
            "share": 0.15,
            "priority": 0,
            "patience": {"dist": "lognormal", "mean": 800, "cv": 2.0},
        },
    },
    "redial": {
        "after_abandon": {"probability": 0.4, "delay": {"dist": "exponential", "mean": 900}},
        "after_unresolved": {"probability": 0.5, "delay": {"dist": "exponential", "mean": 7200}},
    },
    "agents": {"groups": {}},
    "replications": 1,
    "seed": 1,
}


def _shape(first: int, end: int) -> np.ndarray:
    """A two-peaked day over the open slots (morning and afternoon peaks), summing to 1."""
    x = np.linspace(0.0, 1.0, end - first)
    w = 0.4 + np.exp(-(((x - 0.25) / 0.15) ** 2)) + 0.8 * np.exp(-(((x - 0.65) / 0.2) ** 2))
    return w / w.sum()


def messy_scenario(folder: Path, staffing_scale: float = 1.2) -> dict:
    """The scenario as data, its ``arrivals.csv`` written into ``folder``; staffing per slot is
    the offered load (calls x mean handle time / interval) times ``staffing_scale``, at least 2
    where open, 70 % in group ``retail`` (PS, NW, NE, PE) and the rest in ``tech`` (TT, IN, PS)."""
    data = copy.deepcopy(_SCENARIO)
    lines = ["day,start,calls"]
    retail: dict = {}
    tech: dict = {}
    for d, (wd, (first, end)) in enumerate(OPEN.items()):
        calls = DAY_CALLS[wd] * _shape(first, end)
        r_plan, t_plan = {"00:00": 0}, {"00:00": 0}
        for k, s in enumerate(range(first, end)):
            clock = f"{s // 2:02d}:{s % 2 * 30:02d}"
            lines.append(f"{d + 1},{clock},{calls[k]:.3f}")
            agents = max(2, round(calls[k] * HANDLE_MEAN / 1800 * staffing_scale))
            r_plan[clock], t_plan[clock] = max(1, round(agents * 0.7)), max(1, round(agents * 0.3))
        if end < 48:
            r_plan[f"{end // 2:02d}:{end % 2 * 30:02d}"] = 0
            t_plan[f"{end // 2:02d}:{end % 2 * 30:02d}"] = 0
        retail[wd], tech[wd] = r_plan, t_plan
    (folder / "arrivals.csv").write_text("\n".join(lines) + "\n")
    data["agents"]["groups"] = {
        "retail": {"skills": ["PS", "NW", "NE", "PE"], "staffing": retail},
        "tech": {"skills": ["TT", "IN", "PS"], "staffing": tech},
    }
    return data


def open_mask(weekday: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """Whether weekday (0 = mon) and 30-minute slot are inside :data:`OPEN`."""
    bounds = np.array(list(OPEN.values()))
    return (slot >= bounds[weekday, 0]) & (slot < bounds[weekday, 1])


def messy_log(
    folder: Path,
    seed: int = 3,
    id_share: float = 0.3,
    days: int = 28,
    group_column: bool = False,
    staffing_scale: float = 1.2,
    fmt: str = "csv",
) -> Path:
    """Simulate :func:`messy_scenario` and write ``folder/calls.<fmt>`` as a switch exports it.

    Rows arriving while closed are left out; customer ids are kept for ``id_share`` of the
    customers (the rest empty: unknown); the ``group`` column only with ``group_column``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from sim.model.simulation import simulate
    from sim.records.call_log import call_log_table, encode_call_log
    from sim.scenario.loading import scenario_from_dict

    folder.mkdir(parents=True, exist_ok=True)
    data = messy_scenario(folder, staffing_scale)
    data["horizon"]["days"] = days
    run = simulate(scenario_from_dict(data, base_dir=folder), seed=seed)
    table = call_log_table(run.records)
    when = table.column("arrival").to_numpy().astype("datetime64[s]").astype(np.int64)
    weekday = (when // 86400 + 3) % 7
    slot = when % 86400 // 1800
    table = table.filter(pa.array(open_mask(weekday, slot)))
    cust = np.asarray(table.column("customer").to_pylist(), dtype=object)
    number = np.array([int(c[1:]) for c in cust])
    keep = (number * 2654435761 % 1000) < id_share * 1000  # a fixed share of the customers
    table = table.set_column(
        table.schema.get_field_index("customer"),
        "customer",
        pa.array(np.where(keep, cust, ""), pa.string()),
    )
    drop = ["origin", "replication"] + ([] if group_column else ["group"])
    table = table.drop_columns(drop)
    if fmt == "csv":
        table = table.set_column(
            table.schema.get_field_index("customer"),
            "customer",
            pc.if_else(pc.equal(table.column("customer"), ""), None, table.column("customer")),
        )
    path = folder / f"calls.{fmt}"
    path.write_bytes(encode_call_log(table, fmt if fmt == "csv" else "parquet"))
    return path
