"""What a missed back-test means: which figure is off, the likely cause, and what to try.

Read from ``fit.json``'s own content (the back-test, the calibration, the redials, the arrivals),
so that the first screen of ``report.html`` and the terminal can say more than "MISS". The
causes are the ones found on real logs (issue 22): repeat calls counted twice, calls where the
center was closed, a staffing factor that ran away, patience that is not exponential.
"""

from __future__ import annotations

from sim.scenario.kpis import format_value

__all__ = ["diagnose"]

SHAPE_FIGURE = "service_level"


def _gap(name: str, e: dict) -> str:
    h, m = e.get("history"), e.get("model")
    if not isinstance(h, float | int) or not isinstance(m, float | int):
        return f"{name}: history {format_value(h, name)}, model {format_value(m, name)}"
    side = "above" if m > h else "below"
    return (
        f"{name}: the model's {format_value(m, name)} is {side} the history's "
        f"{format_value(h, name)} (tolerance {format_value(e.get('tolerance'), name)})"
    )


def diagnose(fit: dict) -> list[dict]:
    """One entry per problem: ``{"figure", "off", "cause", "try"}`` (empty when none)."""
    bt = fit.get("backtest") or {}
    overall = bt.get("overall") or {}
    off = {f for f, e in overall.items() if e.get("within_tolerance") is False}
    cal = (fit.get("agents") or {}).get("calibration") or {}
    redials = fit.get("redials") or {}
    out = []
    if "offered" in off:
        e = overall["offered"]
        more = (e.get("model") or 0) > (e.get("history") or 0)
        if more and redials.get("modelled"):
            cause = (
                "the redial flow adds calls: a repeat the log holds as a first call is counted "
                "twice, and redials can land where the center was closed"
            )
            hint = (
                "a shorter --redial-window (e.g. 1h), or fit without the customer column so "
                "every call stays in the arrivals"
            )
        else:
            cause = (
                "the days: a partial first or last day, or a holiday kept as an open day, "
                "moves a weekday's mean"
            )
            hint = "cut the log at midnight; check arrivals.weekdays and holidays in fit.json"
        out.append({"figure": "offered", "off": _gap("offered", e), "cause": cause, "try": hint})
    waits = off & {"service_level", "asa"}
    if cal.get("at_bound") and (waits or "abandon_rate" in off):
        out.append(
            {
                "figure": ", ".join(sorted(waits | (off & {"abandon_rate"}))),
                "off": "; ".join(_gap(f, overall[f]) for f in sorted(off - {"offered"})),
                "cause": f"the staffing factor is at the {cal['at_bound']} bound of "
                f"{cal.get('bounds')}: the agents seen in the log do not explain its waits",
                "try": "check the agent column (one id per agent; codes for 'unknown' under "
                "missing: in the mapping) and the group column; --no-calibrate shows the "
                "model with the agents seen as they are",
            }
        )
    elif "abandon_rate" in off and not waits:
        family = _patience_families(fit)
        out.append(
            {
                "figure": "abandon_rate",
                "off": _gap("abandon_rate", overall["abandon_rate"]),
                "cause": f"patience: the fitted {family} does not follow the Kaplan-Meier curve "
                "of the log, or hang-ups in the IVR are mapped as abandons",
                "try": "compare the curves under Patience in report.html; map calls that left "
                "before queueing as self_served, not abandoned",
            }
        )
    elif waits:
        late = _never_at_once(fit)
        out.append(
            {
                "figure": ", ".join(sorted(waits)),
                "off": "; ".join(_gap(f, overall[f]) for f in sorted(off - {"offered"})),
                "cause": (late + "; or " if late else "")
                + "the shape of the waits: one staffing factor for every interval "
                "(breaks and partial presence differ by hour), or routing and priority that "
                "the log does not show",
                "try": "the per-interval back-test figure shows the hours where the model "
                "differs; give the group column, or tier_priority in the mapping",
            }
        )
    shape = (bt.get("shape") or {}).get(SHAPE_FIGURE) or {}
    r = shape.get("correlation")
    if r is not None and r < 0.5:
        out.append(
            {
                "figure": "intraday service level",
                "off": f"correlation {r:.2f} between history and model over {shape['slots']} "
                f"weekday-intervals with {shape['min_calls']}+ calls (at least 0.5 wanted)",
                "cause": "the agents per interval: the agents seen miss breaks and partial "
                "presence, which one factor cannot fix hour by hour",
                "try": "look at the per-interval figure; a shorter --interval",
            }
        )
    ident = cal.get("identified") or {}
    if cal and ident.get("well") is False:
        out.append(
            {
                "figure": "agents factor",
                "off": f"factor {cal['factor']:.3f}: {ident['note']}",
                "cause": "the history's waits hardly change over the factor's range (little "
                "congestion), so its staffing is not pinned down",
                "try": "treat the staffing as an estimate; compare with the rota if known",
            }
        )
    return out


AT_ONCE_LOW, AT_ONCE_HIGH = 0.1, 0.5


def _never_at_once(fit: dict) -> str:
    """Tiers almost never answered at once while another tier mostly is: a delay before they
    can be answered (an announcement, an identification step) that the model does not have."""
    shares = (fit.get("tier_priority") or {}).get("answered_at_once") or {}
    low = [t for t, v in shares.items() if v < AT_ONCE_LOW]
    if not low or not any(v > AT_ONCE_HIGH for v in shares.values()):
        return ""
    said = ", ".join(f"{t} {shares[t]:.0%}" for t in low)
    return (
        f"tiers almost never answered at once in the history ({said} of their answered calls, "
        "against over half for another tier), even at quiet hours: a delay before they can be "
        "answered (an announcement, identification) that the model does not have, so it "
        "answers them sooner"
    )


def _patience_families(fit: dict) -> str:
    fams = {t: p.get("family") for t, p in (fit.get("patience") or {}).items() if p.get("family")}
    if not fams:
        return "patience"
    return "patience (" + ", ".join(f"{t}: {f}" for t, f in fams.items()) + ")"
