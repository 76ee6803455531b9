"""The answer delay per tier: how long a tier's calls wait before an agent may answer them.

A center may hold some callers before any agent can take them (an announcement, an
identification step) while others reach an agent at once. In a log that shows as a tier that is
rarely answered at once even when agents were free. Agents were clearly free where the tier
answered fastest (the *reference* tier) was answered at once in nearly every call of the
interval; there the waits of another tier are its delay, not congestion. A tier still answered
at once most of the time there has no delay. Otherwise its delay is fitted to those waits as
patience is (docs/fit.md): an answered call's wait is its delay, an abandoned call's wait a
lower bound of it (the caller left first: right-censored), with the family (exponential,
lognormal, gamma) by AIC of censored maximum likelihood. The estimate is inferred, and the
fit keeps it only when the calibration reproduces the history better with it
(:func:`sim.fit.pipeline._delay_by_calibration`).
"""

from __future__ import annotations

import numpy as np

from sim.fit.arrivals import LogCalendar
from sim.fit.behaviour import ALL, tier_groups
from sim.fit.calllog import ABANDONED, ANSWERED, CallLogData
from sim.fit.estimators import censored_family_fit, kaplan_meier

__all__ = ["AT_ONCE", "fit_answer_delays", "service_level_ceiling"]

AT_ONCE = 1.0  # s: a call answered within this was answered at once (as tier_priorities counts)
QUIET_AT_ONCE = 0.9  # the reference tier answered at once in this share of an interval's calls
QUIET_MIN_ANSWERS = 5  # ... of at least this many of its answers: the interval was not congested
HELD_AT_ONCE = 0.5  # a tier answered at once in less than this share of its quiet calls is held
MIN_ANSWERS = 30  # answers of a held tier in quiet intervals needed to fit its delay


def fit_answer_delays(data: CallLogData, cal: LogCalendar, interval: float) -> dict:
    """Per tier, the answer delay estimated in the intervals where the center was not congested
    (see the module); ``by_tier`` holds the tiers that get one. ``use`` is set by the
    calibration's choice (False until then)."""
    out: dict = {
        "source": "inferred from answered waits in uncongested intervals (censored ML)",
        "rule": (
            f"an interval is uncongested when the reference tier (answered at once most often) "
            f"answered at least {QUIET_AT_ONCE:.0%} of its calls there within {AT_ONCE:g} s "
            f"({QUIET_MIN_ANSWERS} answers or more); a tier answered at once in less than "
            f"{HELD_AT_ONCE:.0%} of its calls there gets a delay fitted to its waits there"
        ),
        "by_tier": {},
        "not_held": {},
        "use": False,
    }
    tiers = [(n, m) for n, m in tier_groups(data) if n != ALL]
    answered = data.outcome == ANSWERED
    at_once = answered & (data.wait < AT_ONCE)
    shares = {
        n: float(at_once[m].sum() / n_ans)
        for n, m in tiers
        if (n_ans := int((m & answered).sum())) >= MIN_ANSWERS
    }
    if len(tiers) < 2 or len(shares) < 2:
        out["note"] = "fewer than two tiers with answers: no tier to compare with"
        return out
    reference = max(shares, key=shares.__getitem__)
    ref_mask = dict(tiers)[reference]
    cell = (cal.seconds // interval).astype(np.int64)
    n_cells = int(cell.max()) + 1
    ref_answers = np.bincount(cell[ref_mask & answered], minlength=n_cells)
    ref_at_once = np.bincount(cell[ref_mask & at_once], minlength=n_cells)
    quiet_cells = (ref_answers >= QUIET_MIN_ANSWERS) & (
        ref_at_once >= QUIET_AT_ONCE * np.maximum(ref_answers, 1)
    )
    quiet = quiet_cells[cell]
    out.update(reference_tier=reference, quiet_intervals=int(quiet_cells.sum()))
    if not quiet_cells.any():
        out["note"] = f"no interval where tier {reference} was answered at once: none fitted"
        return out
    offered = answered | (data.outcome == ABANDONED)
    for name, mask in tiers:
        if name == reference:
            continue
        m = mask & quiet & offered
        n_ans = int((m & answered).sum())
        share = float((m & at_once).sum() / n_ans) if n_ans else None
        if n_ans < MIN_ANSWERS or share is None or share >= HELD_AT_ONCE:
            why = (
                f"{n_ans} answers in uncongested intervals (fewer than {MIN_ANSWERS})"
                if n_ans < MIN_ANSWERS or share is None
                else f"answered at once in {share:.0%} of its calls in uncongested intervals"
            )
            out["not_held"][name] = why
            continue
        w, got = data.wait[m], data.outcome[m] == ANSWERED
        fam = censored_family_fit(w, got)
        family = fam["family"]
        out["by_tier"][name] = {
            "family": family,
            "mean": fam["params"][family]["mean"],
            "cv": fam["params"][family]["cv"],
            "families": fam,
            "answered": n_ans,
            "abandoned": int((~got).sum()),
            "answered_at_once_share": share,
            "median_answered_wait": float(np.median(w[got])),
            "kaplan_meier": kaplan_meier(w, got),
        }
    return out


def service_level_ceiling(fit: dict) -> float:
    """The largest service level any staffing gives with the answer delays in use
    (:meth:`~sim.scenario.schema.Scenario.answerable_within` of the fitted scenario, kept by
    the fit once the delay is chosen); 1 when none is in use."""
    ad = fit.get("answer_delay", {})
    return ad.get("service_level_ceiling", 1.0) if ad.get("use") else 1.0
