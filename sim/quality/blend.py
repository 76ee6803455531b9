"""The "Blend" example of the ContactCenters library, against its published figures.

The library (Université de Montréal; E. Buist and P. L'Ecuyer) publishes the program
``doc/examples/Blend.java`` and its output ``Blend.res`` over 1,000 simulated days: inbound
calls served by inbound-only and blend agents, and outbound calls placed from 11:00 by a
threshold dialer and served by the blend agents only (Bell Canada's inputs, Deslauriers et al.
2007). ``scenarios/blend.yaml`` writes that model in this project's format; this module
simulates it and lays the figures side by side for the validation dossier
(:mod:`sim.quality.validation`) and the tests.

The published occupancy is the library's: busy agent time over agent time present (agents
finishing a call after their shift ended included) over the three main periods, 08:00-14:00;
the project's ``occupancy.group`` KPI spans the whole day, so it is computed here from the
records. Figures per day, from the calls that arrived (inbound) or were reached (outbound)
that day.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.quality.dossier import Case, published_rows, replication_figures, row
from sim.scenario.loading import load_scenario
from sim.scenario.schema import Scenario

__all__ = ["PUBLISHED", "SCENARIO", "blend_case", "blend_days", "day_figures"]

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "blend.yaml"

PUBLISHED: dict[str, tuple[float, float, float]] = {
    # measure: (mean, 95% CI low, high) per day, from Blend.res (1,000 days)
    "inbound offered": (848.592, 838.899, 858.285),
    "inbound served": (843.477, 834.193, 852.761),
    "inbound abandoned": (5.115, 4.495, 5.735),
    "outbound reached": (321.896, 317.279, 326.513),
    "outbound served": (298.876, 294.637, 303.115),
    "outbound mismatches (abandoned)": (23.020, 22.548, 23.492),
    "occupancy inbound-only 08:00-14:00": (0.81596, 0.81135, 0.82058),
    "occupancy blend 08:00-14:00": (0.55665, 0.55237, 0.56092),
    "occupancy all groups 08:00-14:00": (0.70514, 0.70091, 0.70936),
}
"""Published means and intervals (occupancy as shares, published in %)."""

PUBLISHED_DIALED = 1109.040
"""Numbers dialed per day (Blend.res: mean 1,109.04, standard deviation 258.167, no interval)."""

_MAIN = (8 * 3600.0, 14 * 3600.0)  # the three main periods of the published model


def day_figures(result) -> dict[str, float]:
    """The published measures of one simulated day (a
    :class:`~sim.model.simulation.RunResult` with records of a one-day horizon), plus the
    numbers dialed."""
    from sim.kpi.calls import busy_time
    from sim.records.calls import Origin, Outcome

    c, rec, k = result.records.calls, result.records, result.kpis
    answered = c.outcome == Outcome.ANSWERED
    abandoned = c.outcome == Outcome.ABANDONED
    outbound = c.origin == Origin.OUTBOUND
    out = {
        "inbound offered": float((~outbound).sum()),
        "inbound served": float((answered & ~outbound).sum()),
        "inbound abandoned": float((abandoned & ~outbound).sum()),
        "outbound reached": float(outbound.sum()),
        "outbound served": float((answered & outbound).sum()),
        "outbound mismatches (abandoned)": float((abandoned & outbound).sum()),
        "numbers dialed": float(k["outbound_dialed"]),
    }
    edges = np.array(_MAIN)
    busy_all = present_all = 0.0
    for g, label in enumerate(("inbound-only", "blend")):
        mine = answered & (c.group == g)
        busy = float(busy_time(c.answer[mine], c.release[mine], edges)[0])
        present = float(rec.present[g].integral(edges)[0])
        busy_all, present_all = busy_all + busy, present_all + present
        out[f"occupancy {label} 08:00-14:00"] = busy / present
    out["occupancy all groups 08:00-14:00"] = busy_all / present_all
    return out


def blend_days(days: int, scenario: Scenario | None = None) -> dict[str, list[float]]:
    """Per-day figures of ``days`` independent replications (one day each), serially: a day of
    this model takes a few hundredths of a second."""
    sc = scenario if scenario is not None else load_scenario(SCENARIO)
    return replication_figures(sc, days, day_figures)


def blend_case(settings):
    """The dossier's case: each published mean against the simulated mean and its 95% interval
    (``100 x settings.replications`` days: 1,000 as published in the full dossier; the published
    interval in the measure's name)."""
    case = Case(
        "Published model: ContactCenters 'Blend'",
        "ContactCenters simulation library, Université de Montréal (E. Buist, P. L'Ecuyer), "
        "*Examples of simulation programs*, section 'Blend call center': "
        "`doc/examples/Blend.java` and its output `Blend.res` (1,000 days) in "
        "github.com/umontreal-simul/contactcenters, inputs from Deslauriers et al. (2007); "
        "written as `scenarios/blend.yaml` (`outbound:` with a threshold dialer). Figures per "
        "day.",
    )
    if not SCENARIO.is_file():
        case.skipped = f"{SCENARIO} not found (run from a clone of the project)"
        return case
    days = 100 * settings.replications
    figures = blend_days(days)
    case.rows += published_rows(f"{days} days", PUBLISHED, figures)
    case.rows.append(
        row(
            f"{days} days",
            "numbers dialed (published mean)",
            PUBLISHED_DIALED,
            figures["numbers dialed"],
        )
    )
    case.note = (
        "The published intervals are over 1,000 days, as ours in the full dossier (fewer "
        "with --quick, so wider). "
        "Occupancy is the library's: busy over present agent time, 08:00-14:00, the mean of "
        "the daily ratios (the library's is the ratio of the sums; staffing is the same every "
        "day, so the two differ by far less than the interval). Not modelled: the library's "
        "total queue capacity of 80 calls."
    )
    return case
