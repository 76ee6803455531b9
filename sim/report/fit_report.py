"""``report.html`` of a ``sim fit`` folder: what was fitted, from how much, and how well the
fitted model reproduces the history (the back-test), in one self-contained page.

Reads ``fit.json``, ``backtest.csv`` and ``scenario.yaml`` of the folder (never the model):
patience per tier (Kaplan–Meier against the fitted family), the history and the model side by
side per weekday and interval (offered, service level, abandonment, ASA), and the tables of
estimates with their sample sizes, estimators and intervals.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from sim.report.drawing import PALETTE, FigureSink, above_note, legend, mark_above, new_figure
from sim.report.files import write_atomic
from sim.report.folder import read_table, read_text
from sim.scenario.kpis import format_ci, format_value, unit_of

__all__ = ["build_fit_report"]

_FIGURES = (
    ("offered", "offered calls per interval", 1.0, "calls"),
    ("service_level", "service level (%)", 100.0, "%"),
    ("abandon_rate", "abandonment (%)", 100.0, "%"),
    ("asa", "ASA (s)", 1.0, "s"),
)
_STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}"
    ".bad{color:#b00}img{max-width:100%}"
    # long scenario lines (a day's staffing map) wrap inside the page, never widen or cut it
    "pre{background:#f7f7f7;padding:.5em;white-space:pre-wrap;overflow-wrap:anywhere}"
)


def _n(v, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, int):
        return f"{v:,}"
    if abs(v) >= 10**digits:  # 13,470, not 1.347e+04
        return f"{v:,.0f}"
    return f"{v:,.{digits}g}"


def _ci(v, fmt=None) -> str:
    fmt = fmt or _n
    return f"{fmt(v[0])} … {fmt(v[1])}" if v else "-"


def _factor(v) -> str:
    """A weekday factor, always with 3 decimals (1.030 beside 0.786, not 1.03 and 0.7856)."""
    return "-" if v is None or not math.isfinite(v) else f"{v:.3f}"


def _error(v, name: str, signed: bool = False) -> str:
    """A back-test error of one weekday and interval in the figure's unit (shares in pp)."""
    if v is None or not math.isfinite(v):
        return "-"
    if unit_of(name).is_share:
        return f"{v * 100:{'+' if signed else ''}.2f} pp"
    if name == "offered":
        return f"{v:{'+' if signed else ''},.1f} calls"
    return format_value(v, name, signed=signed)


def _table(head: list[str], rows: list[list]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _patience_figure(fit: dict, sink: FigureSink) -> dict | None:
    tiers = [t for t, e in fit["patience"].items() if e.get("kaplan_meier")]
    if not tiers:
        return None
    fig, axes = new_figure(1, len(tiers), height=3.0, width=min(5.0 * len(tiers), 10.0))
    for ax, tier in zip(axes.flat, tiers, strict=False):
        e = fit["patience"][tier]
        km = e["kaplan_meier"]
        ax.step(km["t"], km["survival"], where="post", color="#000000", label="Kaplan–Meier")
        mean = (e.get("exponential") or {}).get("mean")
        if mean:
            t = np.linspace(0, max(km["t"][-1], 1.0), 200)
            used = " (used)" if e.get("family") == "exponential" else ""
            ax.plot(
                t, np.exp(-t / mean), color=PALETTE["abandon_rate"], label=f"exponential MLE{used}"
            )
        if e.get("family_survival") and e.get("family") != "exponential":
            ax.plot(
                km["t"],
                e["family_survival"],
                color=PALETTE["asa"],
                linestyle="--",
                label=f"{e['family']} (used)",
            )
        ax.set_title(f"tier {tier}", fontsize=9)
        ax.set_xlabel("wait (s)")
        ax.set_ylabel("still waiting (patience survival)")
        ax.set_ylim(0, 1.02)
    legend(fig, *axes.flat)  # every tier's family: tiers may use different ones
    return sink.add(
        fig,
        "patience",
        "Patience: Kaplan–Meier, the exponential fit and the family used",
        "Survival of patience from censored waits (answered calls are right-censored); "
        "'(used)' marks the family chosen by AIC, the one the scenario uses (dashed when it is "
        "not the exponential).",
    )


def _backtest_figure(table: dict, sink: FigureSink) -> dict | None:
    if not table or "history_offered" not in table:
        return None
    x = np.arange(len(table["weekday"]))
    fig, axes = new_figure(4, 1, height=2.2, width=10.0)
    notes = []
    for ax, (name, label, scale, unit) in zip(axes.flat, _FIGURES, strict=True):
        h = np.asarray(table[f"history_{name}"], dtype=float) * scale
        m = np.asarray(table[f"model_{name}"], dtype=float) * scale
        lo = np.asarray(table[f"model_{name}_ci_low"], dtype=float) * scale
        hi = np.asarray(table[f"model_{name}_ci_high"], dtype=float) * scale
        top = None if unit == "%" else scale_top(h, m)  # shares stop at 100% anyway
        lo, hi, m_cut, h_cut = (np.minimum(v, top or np.inf) for v in (lo, hi, m, h))
        ax.fill_between(x, lo, hi, color=PALETTE[name], alpha=0.25, linewidth=0)
        ax.plot(x, m_cut, color=PALETTE[name], label="fitted model")
        ax.plot(x, h_cut, color="#000000", linewidth=0.8, marker=".", markersize=2, label="history")
        ax.set_ylabel(label, fontsize=8)
        if top is not None:  # a few far values (one call waiting an hour) would flatten the rest
            ax.set_ylim(min(0.0, float(np.nanmin(np.concatenate((h, m, lo))))), top * 1.06)
            counts = [mark_above(ax, x, v, top, c) for v, c in ((h, "#000000"), (m, PALETTE[name]))]
            above_note(
                ax,
                f"▲ above the scale: history in {counts[0]}, model in {counts[1]} intervals; "
                f"up to {_n(float(np.nanmax(np.concatenate((h, m)))))} {unit}",
            )
            notes.append(label)
        days = np.asarray(table["weekday"])
        firsts = np.flatnonzero(np.concatenate(([True], days[1:] != days[:-1])))
        ax.set_xticks(firsts, [str(d) for d in days[firsts]])
    legend(fig, axes.flat[0], ci=True)
    return sink.add(
        fig,
        "backtest",
        "Back-test: history and fitted model per weekday and interval",
        "Black: the log (mean over its open days); colour: the fitted scenario (mean of "
        "replications, shaded 95% CI)."
        + (
            f" Cut at the top ({', '.join(notes)}) where a few values lie far above the rest: ▲ "
            "marks them."
            if notes
            else ""
        ),
    )


def scale_top(*values: np.ndarray) -> float | None:
    """Top of a back-test axis when a few values lie far above the rest (an interval whose
    few calls waited an hour): 4 x the 95th percentile of history and model, so peaks of an
    ordinary day stay whole; None when nothing lies above it (the axis then fits the data)."""
    v = np.concatenate(values)
    v = v[np.isfinite(v)]
    if not len(v):
        return None
    top = 4.0 * float(np.quantile(v, 0.95))
    return top if top > 0 and v.max() > top else None


def _answer_delay_part(ad: dict | None) -> list[str]:
    """The inferred answer delays per tier, and whether the calibration kept them."""
    if not ad or not ad.get("by_tier"):
        return []
    chosen = ad.get("chosen_by_calibration")
    said = (
        f"kept by calibration: misfit {_n(chosen['misfit_with'], 3)} with, "
        f"{_n(chosen['misfit_without'], 3)} without"
        if chosen and ad.get("use")
        else f"NOT used: misfit {_n(chosen['misfit_with'], 3)} with, "
        f"{_n(chosen['misfit_without'], 3)} without"
        if chosen
        else "NOT used: not calibrated"
    )
    return [
        "<h2>Answer delay (inferred)</h2>",
        f"<p>{html.escape(ad['rule'])}: {_n(ad['quiet_intervals'])} such intervals, reference "
        f"tier {html.escape(str(ad['reference_tier']))}; {html.escape(said)}.</p>",
        _table(
            [
                "tier",
                "answered",
                "abandoned",
                "at once",
                "median wait (s)",
                "family",
                "mean (s)",
                "cv",
            ],
            [
                [
                    t,
                    _n(e["answered"]),
                    _n(e["abandoned"]),
                    f"{e['answered_at_once_share']:.1%}",
                    _n(e["median_answered_wait"]),
                    e["family"],
                    _n(e["mean"]),
                    _n(e["cv"]),
                ]
                for t, e in ad["by_tier"].items()
            ],
        ),
    ]


def build_fit_report(folder: str | Path, jobs: int | None = None) -> Path:
    """Write ``report.html`` (and ``figures/``) for a ``sim fit`` folder; return its path.
    ``jobs``: processes rendering the figures (None: one per core)."""
    folder = Path(folder)
    fit = json.loads(read_text(folder / "fit.json") or "")
    backtest = read_table(folder / "backtest.csv") if (folder / "backtest.csv").exists() else {}
    log, arr = fit["log"], fit["arrivals"]
    parts = [f"<h1>sim fit: {html.escape(log['file'])}</h1>"]
    parts.append(
        f"<p>{_n(log['rows_read'])} rows read, {_n(log['calls_used'])} calls used "
        f"({_n(log['short_calls_removed'])} very short calls removed), {arr['first_date']} to "
        f"{arr['last_date']}: {arr['open_days']} open days of {arr['days']}.</p>"
    )
    bt = fit.get("backtest")
    if bt and bt.get("verdict"):  # the first screen: is the fit usable, and if not, why
        miss = "MISS" in bt["verdict"]
        parts.append(
            f"<p{' class=bad' if miss else ''}><strong>{html.escape(bt['verdict'])}</strong></p>"
        )
    if bt and bt.get("diagnosis"):
        parts.append(
            _table(
                ["what is off", "by how much", "likely cause", "what to try"],
                [[d["figure"], d["off"], d["cause"], d["try"]] for d in bt["diagnosis"]],
            )
        )
    notes = [m for m in fit.get("messages", []) if not m.startswith("off: ")]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(m)}</li>" for m in notes) + "</ul>")
    if log["rows_dropped"]:
        parts.append("<h2>Rows not used</h2>")
        parts.append(
            _table(["reason", "rows"], [[k, _n(v)] for k, v in log["rows_dropped"].items()])
        )
    if bt:
        parts.append(f"<h2>Back-test ({bt['days']} days, {bt['replications']} replications)</h2>")
        rows = [
            [
                k,
                format_value(v["history"], k),
                format_value(v["model"], k),
                format_ci(v["model_ci95"], k),
                ("yes" if v["inside"] else "no") if v["model_ci95"] else "-",
                format_ci(v.get("model_range95"), k),
                {True: "yes", False: "no", None: "-"}[v.get("within_tolerance")],
            ]
            for k, v in bt["overall"].items()
        ]
        heads = [
            "figure",
            "history",
            "model",
            "model 95% CI",
            "history inside",
            "one run 95%",
            "within tolerance",
        ]
        parts.append(_table(heads, rows))
        shape = (bt.get("shape") or {}).get("service_level") or {}
        if shape.get("correlation") is not None:
            parts.append(
                f"<p>Intraday shape: the service level per weekday-interval correlates "
                f"{shape['correlation']:.2f} between history and model over {shape['slots']} "
                f"weekday-intervals with {shape['min_calls']}+ calls.</p>"
            )
        parts.append(
            _table(
                [
                    "figure (per weekday and interval)",
                    "MAE",
                    "RMSE",
                    "bias (model - history)",
                    "offered-weighted MAE",
                ],
                [
                    [
                        k,
                        _error(e["mae"], k),
                        _error(e["rmse"], k),
                        _error(e["bias"], k, signed=True),
                        _error(e["weighted_mae"], k),
                    ]
                    for k, e in bt["errors"].items()
                ],
            )
        )
    with FigureSink(folder / "figures", jobs) as sink:
        items = (_backtest_figure(backtest, sink), _patience_figure(fit, sink))
    for item in items:
        if item:
            parts.append(
                f'<h2>{html.escape(item["title"])}</h2><img src="{item["src"]}">'
                f"<p>{html.escape(item['caption'])}</p>"
            )
    parts.append("<h2>Arrivals</h2>")
    parts.append(
        _table(
            ["weekday", "open days", "mean first calls", "95% CI", "factor", "95% CI"],
            [
                [
                    w,
                    e["open_days"],
                    _n(e.get("mean_calls")),
                    _ci(e.get("mean_calls_ci95")),
                    _factor(e["factor"]),
                    _ci(e.get("factor_ci95"), _factor),
                ]
                for w, e in arr["weekdays"].items()
            ],
        )
    )
    parts.append(
        f"<p>daily volume {_n(arr['daily_volume'])} (95% CI {_ci(arr['daily_volume_ci95'])});"
        f" day-to-day cv {_n(arr['day_to_day_cv']['value'])}; closed days inside the log: "
        f"{', '.join(arr['holidays']) or 'none'}.</p>"
    )
    parts.append("<h2>Handle times</h2>")
    parts.append(
        _table(
            ["call type", "calls", "family", "mean (s)", "95% CI", "cv", "95% CI", "KS"],
            [
                [
                    t,
                    _n(h["n"]),
                    h["family"],
                    _n(h["mean"]),
                    _ci(h.get("mean_ci95")),
                    _n(h["cv"]),
                    _ci(h.get("cv_ci95")),
                    _n(h["ks"], 3) + (" (fits badly)" if h["fits_badly"] else ""),
                ]
                for t, h in fit["handle_times"]["by_type"].items()
                if h.get("family")
            ],
        )
    )
    parts.append("<h2>Patience</h2>")
    parts.append(
        _table(
            ["tier", "queued", "abandoned", "exp. mean (s)", "95% CI", "family used", "mean", "cv"],
            [
                [
                    t,
                    _n(p["exponential"]["n"]),
                    _n(p["exponential"]["abandoned"]),
                    _n(p["exponential"].get("mean")),
                    _ci(p["exponential"].get("mean_ci95")),
                    p.get("family", "-"),
                    _n(p.get("mean")),
                    _n(p.get("cv")),
                ]
                for t, p in fit["patience"].items()
            ],
        )
    )
    parts.extend(_answer_delay_part(fit.get("answer_delay")))
    agents = fit["agents"]
    parts.append(
        f"<h2>Agents</h2><p>{html.escape(agents['seen']['method'])}; factor "
        f"{_n(agents.get('factor'))}: {html.escape(agents.get('factor_source', ''))}.</p>"
    )
    if fit.get("provenance"):  # a fit from an interval report: what rests on what
        parts.append("<h2>Observed, inferred, assumed</h2>")
        parts.append(_table(["figure", "source"], [list(kv) for kv in fit["provenance"].items()]))
    text = read_text(folder / "scenario.yaml")
    if text is not None:
        parts.append(f"<h2>scenario.yaml</h2><pre>{html.escape(text)}</pre>")
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>sim fit: '
        f"{html.escape(log['file'])}</title><style>{_STYLE}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>"
    )
    out = folder / "report.html"
    write_atomic(out, page)
    return out
