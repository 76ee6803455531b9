"""The "Bilingual" example of the ContactCenters library, against its published figures.

The library (Université de Montréal; E. Buist and P. L'Ecuyer) publishes the program
``doc/examples/Bilingual.java`` and its output ``Bilingual.res`` over 1,000 simulated weeks:
English and Spanish calls served by English-only, Spanish-only and bilingual agents, a free agent
drawn uniformly among those able to serve the call, retrials of the same contact after
abandonment, queues cleared when no able agent is left. ``scenarios/bilingual.yaml`` writes that
model in this project's format; this module simulates it and lays the figures side by side for
the validation dossier (:mod:`sim.quality.validation`) and the tests.

Two published figures use definitions of their own, reproduced here from the records: the
occupancy divides busy time by *scheduled* agent time (the project's KPI divides by the time
present, overtime included), and "in target" counts a served contact whose *total* wait over
all its attempts is under one minute (the project's service level counts each attempt).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.quality.dossier import Case, published_rows, replication_figures, row
from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario

__all__ = ["PUBLISHED", "SCENARIO", "bilingual_case", "bilingual_weeks", "week_figures"]

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "bilingual.yaml"

PUBLISHED: dict[str, tuple[float, float, float]] = {
    # measure: (mean, 95% CI low, high) per week, from Bilingual.res (1,000 weeks)
    "calls (arrivals and retrials)": (5110.161, 5105.009, 5115.313),
    "retrials after abandonment": (107.168, 105.841, 108.495),
    "served": (4967.235, 4962.946, 4971.524),
    "served English": (2483.933, 2480.916, 2486.950),
    "served Spanish": (2483.302, 2480.233, 2486.371),
    "abandoned": (142.868, 141.209, 144.527),
    "disconnected": (0.058, 0.040, 0.076),
    "in target (total wait < 1 min)": (4896.885, 4892.789, 4900.981),
    "occupancy English-only (busy / scheduled)": (0.47624, 0.47563, 0.47684),
    "occupancy Spanish-only (busy / scheduled)": (0.47639, 0.47580, 0.47699),
    "occupancy bilingual (busy / scheduled)": (0.63254, 0.63197, 0.63310),
    "occupancy all groups (busy / scheduled)": (0.51103, 0.51059, 0.51148),
}
"""Published means and intervals; the abandonment ratio below is derived from two of them."""

PUBLISHED_ABANDONMENT = PUBLISHED["abandoned"][0] / PUBLISHED["calls (arrivals and retrials)"][0]


def week_figures(result) -> dict[str, float]:
    """The published measures of one simulated week (a :class:`~sim.model.simulation.RunResult`
    with records), plus the project's own KPIs for the same week."""
    from sim.records.calls import Origin, Outcome

    c, k, sc = result.records.calls, result.kpis, result.scenario
    answered = c.outcome == Outcome.ANSWERED
    wait = np.nan_to_num(np.where(answered, c.answer, c.end) - c.queue_entry)
    total_wait = np.zeros(int(c.customer.max()) + 1 if len(c) else 1)
    np.add.at(total_wait, c.customer, wait)  # every attempt of the same contact
    types = list(sc.call_types)
    out = {
        "calls (arrivals and retrials)": float(len(c)),
        "retrials after abandonment": float((c.origin == Origin.AFTER_ABANDON).sum()),
        "served": float(answered.sum()),
        "abandoned": float((c.outcome == Outcome.ABANDONED).sum()),
        "disconnected": float((c.outcome == Outcome.DISCONNECTED).sum()),
        "in target (total wait < 1 min)": float((answered & (total_wait[c.customer] < 60)).sum()),
    }
    for t, name in ((types.index("english"), "English"), (types.index("spanish"), "Spanish")):
        out[f"served {name}"] = float((answered & (c.call_type == t)).sum())
    busy_all = scheduled_all = 0.0
    window = np.array([0.0, sc.horizon_s])
    for g, (group, label) in enumerate(
        zip(result.records.groups, ("English-only", "Spanish-only", "bilingual"), strict=True)
    ):
        busy = float(np.sum((c.release - c.answer)[answered & (c.group == g)]))
        scheduled = float(result.records.scheduled[g].integral(window)[0])
        busy_all, scheduled_all = busy_all + busy, scheduled_all + scheduled
        out[f"occupancy {label} (busy / scheduled)"] = busy / scheduled
        out[f"occupancy {label} (project KPI)"] = k[f"occupancy.group={group}"]
    out["occupancy all groups (busy / scheduled)"] = busy_all / scheduled_all
    out["occupancy all groups (project KPI)"] = k["occupancy"]
    out["abandonment (project abandon_rate)"] = k["abandon_rate"]
    return out


def bilingual_weeks(weeks: int, scenario: Scenario | None = None) -> dict[str, list[float]]:
    """Per-week figures of ``weeks`` independent replications (one week each), serially: a
    week of this model takes a few hundredths of a second."""
    sc = scenario if scenario is not None else load_scenario(SCENARIO)
    return replication_figures(sc, weeks, week_figures)


def bilingual_case(settings):
    """The dossier's case: each published mean against the simulated mean and its 95% interval
    (``20 x settings.replications`` weeks, the published interval in the measure's name)."""
    case = Case(
        "Published model: ContactCenters 'Bilingual'",
        "ContactCenters simulation library, Université de Montréal (E. Buist, P. L'Ecuyer), "
        "*Examples of simulation programs*, section 'Bilingual contact center': "
        "`doc/examples/Bilingual.java` and its output `Bilingual.res` (1,000 weeks) in "
        "github.com/umontreal-simul/contactcenters; written as `scenarios/bilingual.yaml` "
        "(`agent_selection: random`, `redraw: false`, `at_close: disconnect`). Figures per week.",
    )
    if not SCENARIO.is_file():
        case.skipped = f"{SCENARIO} not found (run from a clone of the project)"
        return case
    weeks = 20 * settings.replications
    figures = bilingual_weeks(weeks)
    case.rows += published_rows(f"{weeks} weeks", PUBLISHED, figures)
    case.rows.append(
        row(
            f"{weeks} weeks",
            "abandonment: abandoned / calls (published means' ratio)",
            PUBLISHED_ABANDONMENT,
            figures["abandonment (project abandon_rate)"],
        )
    )
    case.note = (
        "The published intervals are over 1,000 weeks, ours over fewer, so ours are wider. "
        "Occupancy here is the library's definition (busy time / scheduled agent time); the "
        "project's `occupancy.group` KPI divides by the time present, overtime included, and "
        "reads about 0.1 point lower (e.g. "
        f"{np.mean(figures['occupancy bilingual (project KPI)']):.4f} for the bilingual group). "
        "Not modelled: the library's 40 phone lines (blocking is practically never reached)."
    )
    return case
