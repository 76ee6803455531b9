"""E-mails worked between calls against Cobham's non-preemptive priority M/M/c (a dossier case).

Voice calls and e-mails with one exponential handle time, Poisson arrivals, nobody hanging up,
one team answering both: an agent takes an e-mail only when no call waits and finishes it before
the next call, so the calls are the first class and the e-mails the second of a non-preemptive
priority M/M/c (:func:`sim.planning.erlang.priority_waits`). The formula was checked against two
results it must reduce to: for ``c = 1``, the M/M/1 priority queue (Cobham 1954; Kleinrock
1976, *Queueing Systems* II, eq. 3.30), and for any ``c`` the conservation law (the
load-weighted mean wait of the classes is Erlang C's: ``tests/test_email.py``).
"""

from __future__ import annotations

from sim.quality.dossier import Case, row
from sim.scenario.loading import scenario_from_dict

__all__ = ["EMAIL_CASES", "email_case", "email_scenario", "exact_waits"]

EMAIL_CASES = [  # (mean handle s, agents, load per agent, share of e-mails)
    (60.0, 1, 0.8, 0.4),
    (180.0, 5, 0.85, 0.3),
    (240.0, 20, 0.9, 0.5),
]
SEED = 20261123  # the dossier's root seed (sim.quality.validation.SEED)


def email_scenario(
    aht_s: float, agents: int, load: float, share: float, days: int, warmup_s: float
):
    """One team, calls of type ``voice`` and e-mails of type ``mail`` at ``load`` per agent."""
    handle = {"dist": "exponential", "mean": aht_s}
    data = {
        "name": "email validation",
        "horizon": {"days": days, "warmup": warmup_s},
        "arrivals": {"rate_per_hour": load * agents / aht_s * 3600},
        "call_types": {
            "voice": {"share": 1 - share, "handle_time": handle},
            "mail": {"share": share, "handle_time": handle, "channel": "email"},
        },
        "customer_tiers": {"standard": {"share": 1, "patience": {"dist": "never"}}},
        "agents": {"groups": {"team": {"skills": ["voice", "mail"], "staffing": agents}}},
        "seed": SEED,
    }
    return scenario_from_dict(data, source="<e-mail validation case>")


def exact_waits(aht_s: float, agents: int, load: float, share: float) -> list[float]:
    """Cobham's mean waits of the calls and the e-mails of :func:`email_scenario`, seconds."""
    from sim.planning.erlang import priority_waits

    rate = load * agents / aht_s
    return priority_waits([rate * (1 - share), rate * share], aht_s, agents)


def email_case(settings) -> Case:
    """The dossier's case: per load, the calls' ASA, the e-mails' ASA and the occupancy."""
    from sim.quality.regress import run_kpis

    case = Case(
        "E-mails worked between calls (non-preemptive priority M/M/c)",
        "`sim.planning.erlang.priority_waits` with the calls as the first class and the e-mails "
        "as the second: W_k = W0 / ((1 - s_{k-1})(1 - s_k)), W0 = C(c, a) / (c mu), s_k = "
        "sum_{i<=k} lambda_i / (c mu) (Cobham 1954, JORSA 2(1); Gross & Harris). Measured: "
        "`asa` (calls; nobody hangs up, so all are answered), `asa.type=mail` (e-mails taken "
        "by the horizon) and `occupancy` (exact: a / c).",
    )
    for aht, agents, load, share in EMAIL_CASES:
        days = settings.days * (3 if agents == 1 else 1)  # M/M/1 at 80 % mixes slowly
        scenario = email_scenario(aht, agents, load, share, days, settings.warmup_s)
        calls, emails = exact_waits(aht, agents, load, share)
        k = run_kpis(scenario, scenario.seed, list(range(settings.replications)), settings.workers)
        label = f"AHT {aht:g} s, {agents} agent(s), load {load:g}, e-mail share {share:g}"
        case.rows.append(row(label, "wait of calls (asa)", calls, k["asa"]))
        case.rows.append(row(label, "wait of e-mails (asa.type=mail)", emails, k["asa.type=mail"]))
        case.rows.append(row(label, "occupancy", load, k["occupancy"]))
    case.note = (
        "E-mails still waiting at the horizon are not in `asa.type=mail` (their wait is not "
        "known yet); with e-mail waits of minutes against a horizon of days the bias is far "
        "below the interval."
    )
    return case
