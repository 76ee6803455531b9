"""The fitted scenario: built from the estimates, written as YAML with every number's source.

:func:`build_scenario` returns plain data plus a comment per dotted path; :func:`to_yaml`
writes it with the comments at the end of the lines, so a planner reading ``scenario.yaml``
sees where each number came from (how many calls, which estimator, its 95% interval).
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

from sim.fit.agents import agent_hours, staffing_maps
from sim.fit.answer_delay import service_level_ceiling
from sim.scenario.resolved import SECONDS_NOTE
from sim.scenario.units import DAY, WEEKDAYS, format_clock

__all__ = ["build_scenario", "to_yaml"]

MAX_CV = 20.0  # the largest cv a scenario distribution takes
TARGET_SERVICE_LEVEL = 0.8  # the placeholder target of a fitted scenario (the log has none)
DEFAULT_HANDLE = 180.0  # s, only when no call of the log was answered (said in the comment)


def _ci(entry: dict | None, key: str, fmt: str = ".4g") -> str:
    ci = (entry or {}).get(key)
    return f", 95% CI {ci[0]:{fmt}}..{ci[1]:{fmt}}" if ci else ""


def _dist(fit: dict | None, fallback: str = "never") -> dict:
    """A scenario distribution from a family fit (mean and cv rounded to 4 significant digits)."""
    if not fit or not fit.get("family") or fit.get("mean") is None:
        return {"dist": fallback}
    family, mean = fit["family"], float(f"{fit['mean']:.4g}")
    if family == "never":
        return {"dist": "never"}
    if not math.isfinite(mean):
        return {"dist": fallback}
    if family == "fixed" or mean <= 0:  # every value 0 (e.g. every abandon at once): fixed
        return {"dist": "fixed", "value": max(mean, 0.0)}
    if family == "exponential":
        return {"dist": "exponential", "mean": mean}
    cv = float(f"{fit['cv']:.4g}")  # the schema's range: 0 .. MAX_CV
    return {"dist": family, "mean": mean, "cv": min(max(cv, 0.0), MAX_CV) if cv == cv else 1.0}


def _profile(arr: dict, interval: float) -> tuple[dict, dict]:
    """intraday_profile weights (shares per slot; 0 where no call) and their comments."""
    slots = round(DAY / interval)
    shares = np.zeros(slots)
    notes = {}
    for clock, entry in arr["intraday_profile"].items():
        s = round((int(clock[:2]) * 3600 + int(clock[3:]) * 60) / interval)
        shares[s] = entry["share"]
        notes[clock] = f"share of first calls{_ci(entry, 'share_ci95', '.4f')}"
    out, comments, last = {}, {}, None
    for s in range(slots):
        v = float(f"{shares[s]:.5g}")
        if v != last:
            clock = format_clock(s * interval)
            out[clock] = v
            comments[clock] = notes.get(clock, "no first call in this interval")
            last = v
    return out, comments


def build_scenario(fit: dict, name: str, factor: float, horizon_days: int) -> tuple[dict, dict]:
    """(scenario data, comments by dotted path) from the fit, with staffing scaled by ``factor``."""
    arr, interval = fit["arrivals"], fit["interval_s"]
    c: dict[tuple, str] = {}
    sc: dict = {
        "name": name,
        "description": f"fitted by sim fit from {fit['log']['file']} ({fit['log']['calls_used']:,} "
        f"calls, {arr['first_date']} to {arr['last_date']})",
        "horizon": {"days": horizon_days, "start_weekday": fit["start_weekday"]},
        "interval": f"{interval / 60:g}min",
    }
    c[("horizon",)] = "the log's span, starting on its first weekday"
    open_wd = [w for w, e in arr["weekdays"].items() if e["factor"] > 0]
    if arr["profile_by_weekday"]:
        sc["arrivals"] = {"file": "arrivals.csv"}
        c[("arrivals", "file")] = (
            "mean first calls per weekday and interval (weekday profiles differ: chi-square "
            f"p = {arr['profile_test']['p_value']:.2g})"
        )
    else:
        profile, pc = _profile(arr, interval)
        factors = {}
        for wd, e in arr["weekdays"].items():
            factors[wd] = float(f"{e['factor']:.4f}")
            c[("arrivals", "weekday_factors", wd)] = e.get("note") or (
                f"mean {e.get('mean_calls', 0):.1f} first calls on {e['open_days']} open days"
                f"{_ci(e, 'factor_ci95', '.3f')}"
            )
        sc["arrivals"] = {
            "daily_volume": float(f"{arr['daily_volume']:.5g}"),
            "weekday_factors": factors,
            "intraday_profile": profile,
        }
        c[("arrivals", "daily_volume")] = (
            f"mean first calls per open day over weekdays{_ci(arr, 'daily_volume_ci95', '.1f')}"
        )
        for clock, note in pc.items():
            c[("arrivals", "intraday_profile", clock)] = note
    d2d = arr["day_to_day_cv"]
    sc["arrivals"]["day_to_day_cv"] = float(f"{d2d['value']:.3f}")
    c[("arrivals", "day_to_day_cv")] = f"{d2d['estimator']} ({d2d['days']} days)" + (
        f"; {d2d['note']}" if "note" in d2d else ""
    )
    prio = fit["tier_priority"]["priority"]
    tiers = {}
    for t, e in fit["tiers"].items():
        p = fit["patience"].get(t, {})
        tiers[t] = {
            "share": float(f"{e['share']:.5g}"),
            "priority": int(prio.get(t, 0)),
            "patience": _dist(p),
        }
        c[("customer_tiers", t, "share")] = f"{e['calls']:,} first calls{_ci(e, 'share_ci95')}"
        c[("customer_tiers", t, "priority")] = fit["tier_priority"]["source"]
        exp = p.get("exponential", {})
        c[("customer_tiers", t, "patience")] = p.get("note") or (
            f"censored ML {p.get('family')} ({exp.get('abandoned', 0):,} abandons of "
            f"{exp.get('n', 0):,} queued); exponential MLE mean {exp.get('mean') or 0:.1f} s"
            f"{_ci(exp, 'mean_ci95', '.1f')}"
        )
    delays = fit.get("answer_delay", {})
    for t, e in delays.get("by_tier", {}).items() if delays.get("use") else ():
        tiers[t]["answer_delay"] = _dist(e, "exponential")
        chosen = delays.get("chosen_by_calibration", {})
        c[("customer_tiers", t, "answer_delay")] = (
            f"INFERRED: censored ML {e['family']} of {e['answered']:,} answered waits in "
            f"{delays['quiet_intervals']:,} uncongested intervals (tier "
            f"{delays['reference_tier']} answered at once there); kept by calibration (misfit "
            f"{chosen.get('misfit_with', math.nan):.2f} against "
            f"{chosen.get('misfit_without', math.nan):.2f} without)"
        )
    sc["customer_tiers"] = {**tiers, "normalize": True}
    c[("customer_tiers", "normalize")] = "shares rounded: rescale to sum 1"
    redial = fit["redials"]
    types = {}
    for t, e in fit["call_types"].items():
        h = fit["handle_times"]["by_type"].get(t, {})
        own = bool(h.get("family"))
        if not own:  # no (or one) answered call of this type: the handle time of all calls
            h = fit["handle_times"].get("pooled") or {}
        entry = {"share": float(f"{e['share']:.5g}"), "handle_time": _dist(h, "exponential")}
        if entry["handle_time"] == {"dist": "exponential"}:
            entry["handle_time"] = {"dist": "exponential", "mean": DEFAULT_HANDLE}
        c[("call_types", t, "share")] = f"{e['calls']:,} first calls{_ci(e, 'share_ci95')}"
        c[("call_types", t, "handle_time")] = h.get("note") or (
            (
                ("" if own else "too few answered calls of this type: all answered calls' ")
                + f"{h.get('family')} by AIC of {h.get('n', 0):,} answered calls; mean"
                f"{_ci(h, 'mean_ci95', '.1f')}; cv{_ci(h, 'cv_ci95', '.3f')}; "
                f"KS {h.get('ks', 0):.3f}" + ("; FITS BADLY" if h.get("fits_badly") else "")
            )
            if h.get("family")
            else f"too few answered calls to fit: {DEFAULT_HANDLE:g} s assumed"
        )
        again = redial.get("after_answered_by_type", {}).get(t) if redial.get("modelled") else None
        if again and again["share"]:
            entry["first_contact_resolution"] = float(f"{1 - again['share']:.4f}")
            c[("call_types", t, "first_contact_resolution")] = (
                f"1 - share of answered calls followed by a call within the window "
                f"({again['followed']:,} of {again['calls']:,})"
            )
        types[t] = entry
    sc["call_types"] = {**types, "normalize": True}
    c[("call_types", "normalize")] = "shares rounded: rescale to sum 1"
    rd = {}
    ab, an = redial.get("after_abandon"), redial.get("after_answered")
    if not redial.get("modelled"):
        ab = an = None
    if ab and ab.get("probability"):
        rd["after_abandon"] = {
            "probability": float(f"{ab['probability']:.4f}"),
            "delay": _dist(ab.get("delay"), "exponential"),
        }
        c[("redial", "after_abandon")] = (
            f"{ab['followed']:,} of {ab['calls']:,} abandoned calls followed"
            + _ci(ab, "probability_ci95")
        )
    if (
        an
        and an.get("probability")
        and any("first_contact_resolution" in t for t in types.values())
    ):
        rd["after_unresolved"] = {
            "probability": 1.0,
            "delay": _dist(an.get("delay"), "exponential"),
        }
        c[("redial", "after_unresolved")] = (
            "every unresolved call is followed (the log cannot tell the two apart; docs/fit.md)"
        )
    if rd:
        sc["redial"] = rd
    elif redial.get("note"):
        c[("arrivals",)] = "every call of the log, repeats included: " + redial["note"]
    self_served = fit["log"].get("self_served_share", 0.0)
    if self_served > 0:
        sc["ivr"] = {
            "self_service": float(f"{self_served:.4f}"),
            "time": {"dist": "fixed", "value": 0},
        }
        c[("ivr",)] = "share of rows with outcome self_served; IVR time not in the log"
    staffing = staffing_maps(fit["agents"]["seen"], factor, interval, open_wd, arr.get("open_grid"))
    skills, routing = _routing(fit["agents"], staffing, c)
    groups = {g: {"skills": skills[g], "staffing": staffing[g]} for g in staffing if g in skills}
    served = {t for grp in groups.values() for t in grp["skills"]} | set(routing)
    for t in [t for t in types if t not in served and groups]:  # its group has no staffing left
        g = max(groups, key=lambda n: agent_hours({n: groups[n]["staffing"]}, interval))
        groups[g]["skills"].append(t)
    agents: dict = {}
    acw = fit["handle_times"].get("after_call_work")
    if acw:
        agents["after_call_work"] = _dist(acw, "exponential")
        c[("agents", "after_call_work")] = f"{acw['family']} by AIC of {acw['n']:,} calls"
    agents["groups"] = groups
    sc["agents"] = agents
    if routing:
        sc["routing"] = routing
    for g in groups:
        given = [t for t, a in fit["agents"].get("assigned", {}).items() if a["group"] == g]
        c[("agents", "groups", g, "skills")] = "the call types this group answered in the log" + (
            f"; {', '.join(given)}: never answered, given to the group answering the same "
            "traffic (fit.json agents.assigned)"
            if given
            else ""
        )
        c[("agents", "groups", g, "staffing")] = (
            f"{fit['agents']['seen']['method']} (mean over open days) x {factor:.3f} "
            f"({fit['agents'].get('factor_source', 'not calibrated')})"
        )
    sc["targets"] = {
        "service_level": {"within": f"{fit['within_s']:g}s", "at_least": TARGET_SERVICE_LEVEL}
    }
    c[("targets",)] = "placeholder target (the log has none); the threshold is the fit's"
    ceiling = service_level_ceiling(fit)
    if ceiling < TARGET_SERVICE_LEVEL:
        c[("targets",)] += (
            f"; OUT OF REACH with the answer delays: at most {ceiling:.1%} within "
            f"{fit['within_s']:g} s at any staffing (sim staff plans without them, and says so)"
        )
    sc["replications"] = 10
    sc["seed"] = 1
    return sc, c


def _routing(agents: dict, staffing: dict, c: dict) -> tuple[dict, dict]:
    """Skills without the overflow-only types, and ``routing`` for types with overflow steps."""
    skills = {g: list(s) for g, s in agents["skills"].items()}
    routing = {}
    for ctype, steps in agents.get("routing", {}).items():
        route: list = []
        for st in steps:
            g = st["group"]
            if g not in staffing:
                continue
            if st["after"]:
                route.append({"group": g, "after": st["after"]})
                if ctype in skills.get(g, []) and len(skills[g]) > 1:
                    skills[g].remove(ctype)  # an overflow skill is the route's, not the group's
            else:
                route.append(g)
        if any(isinstance(r, str) for r in route):
            routing[ctype] = route
            late = ", ".join(
                f"{s['group']} after {s['after']} s ({s['pile_share']:.0%} of {s['answered']:,})"
                for s in steps
                if s["after"]
            )
            c[("routing", ctype)] = f"overflow: answered waits pile up at {late}"
    return skills, routing


def arrivals_csv(fit: dict) -> str:
    """``arrivals.csv`` rows (day 1 = the scenario's start weekday) when profiles differ."""
    by_wd, interval = fit["arrivals"]["profile_by_weekday"], fit["interval_s"]
    start = WEEKDAYS.index(fit["start_weekday"])
    lines = ["day,start,calls"]
    for d in range(7):
        wd = WEEKDAYS[(start + d) % 7]
        for s, calls in enumerate(by_wd.get(wd, [])):
            if calls > 0:
                lines.append(f"{d + 1},{format_clock(s * interval)},{calls:.4f}")
    return "\n".join(lines) + "\n"


def _scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return f"{v:.10g}" if math.isfinite(v) else json.dumps(str(v))
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)}: {_scalar(x)}" for k, x in v.items()) + "}"
    text = str(v)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", text) and text.lower() not in _YAML_WORDS
    return text if plain else json.dumps(text)


_YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}


def _key(k: str) -> str:
    return _scalar(k)


def _flow(v, path: tuple) -> bool:
    """Distributions, redial rules and one day's staffing go on one line."""
    return isinstance(v, dict) and (
        "dist" in v or "probability" in v or (len(path) >= 2 and path[-2] == "staffing")
    )


def to_yaml(
    data: dict, comments: dict, header: str = "", _path: tuple = (), _indent: int = 0
) -> str:
    """YAML text of ``data`` with ``comments[path]`` at the end of each key's line."""
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    if header:  # bare numbers below are seconds: loading the file does not warn about them
        lines.append(f"# Written by the program: {SECONDS_NOTE}.")
    pad = " " * _indent
    for k, v in data.items():
        path = (*_path, k)
        tail = f"  # {comments[path]}" if path in comments else ""
        if isinstance(v, dict) and v and not _flow(v, path):
            lines.append(f"{pad}{_key(k)}:{tail}")
            lines.append(to_yaml(v, comments, "", path, _indent + 2).rstrip("\n"))
        else:
            lines.append(f"{pad}{_key(k)}: {_scalar(v)}{tail}")
    return "\n".join(lines) + "\n"
