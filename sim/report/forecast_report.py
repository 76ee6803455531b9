"""``report.html`` of a ``sim forecast`` folder: history and forecast on one time axis with the
prediction bands, the forecast per interval, the back-test table and the special days.

Reads ``forecast.json``, ``history_days.csv``, ``forecast_days.csv``, ``accuracy.csv`` and
``forecast.csv`` (or ``forecast_total.csv``) of the folder, never the forecasting code.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from sim.report.drawing import PALETTE, FigureSink, legend, new_figure
from sim.report.files import write_atomic
from sim.report.fit_report import _STYLE, _n, _table
from sim.report.folder import read_table

__all__ = ["build_forecast_report"]

BAND = PALETTE["offered"]
SHOWN_HISTORY_DAYS = 182  # the last half year of history beside the forecast


def _dates(values) -> np.ndarray:
    return np.array([np.datetime64(str(v), "D") for v in values])


def _bands(ax, x: np.ndarray, table: dict, step: str) -> None:
    """The 95% and 80% prediction intervals of ``table`` as shaded bands over ``x``."""
    for level, alpha in (("95", 0.15), ("80", 0.3)):
        ax.fill_between(x, table[f"lo{level}"], table[f"hi{level}"], color=BAND, alpha=alpha,
                        linewidth=0, step=step, label=f"{level}% prediction interval")  # fmt: skip


def _days_figure(hist: dict, fc: dict, sink: FigureSink) -> dict:
    fig, axes = new_figure(1, 1, height=3.4, width=11.0)
    ax = axes[0, 0]
    hd, hc, kind = _dates(hist["date"]), hist["calls"], hist["kind"]
    keep = hd >= hd[-1] - np.timedelta64(SHOWN_HISTORY_DAYS, "D")
    hd, hc, kind = hd[keep], hc[keep], kind[keep]
    has = kind != "no data"
    ax.plot(
        hd,
        np.where(has, hc, np.nan),
        color="#000000",
        linewidth=0.8,
        marker=".",
        markersize=3,
        label="history (calls per day)",
    )
    special = has & (kind != "normal")
    if special.any():
        ax.plot(
            hd[special],
            hc[special],
            linestyle="none",
            marker="o",
            markersize=5,
            markerfacecolor="none",
            color=PALETTE["abandon_rate"],
            label="special day",
        )
    fd = _dates(fc["date"])
    _bands(ax, fd, fc, "mid")
    ax.plot(fd, fc["mean"], color=BAND, marker=".", label="forecast (mean)")
    ax.set_ylabel("calls per day")
    ax.set_ylim(bottom=0)
    legend(fig, ax)
    return sink.add(
        fig,
        "forecast_days",
        "History and forecast: calls per day",
        "Black: the history's days with data (gaps: no data); circles: special days; blue: "
        "the forecast with its 80% and 95% prediction intervals for the day's count.",
    )


def _intervals_figure(table: dict, sink: FigureSink) -> dict:
    starts = np.array([np.datetime64(str(s)) for s in table["start"]])
    fig, axes = new_figure(1, 1, height=3.2, width=11.0)
    ax = axes[0, 0]
    _bands(ax, starts, table, "post")
    ax.step(starts, table["mean"], where="post", color=BAND, linewidth=0.9, label="forecast (mean)")
    ax.set_ylabel("calls per interval")
    ax.set_ylim(bottom=0)
    legend(fig, ax)
    return sink.add(
        fig,
        "forecast_intervals",
        "Forecast per interval (all call types)",
        "Mean calls per interval and the prediction intervals of the count.",
    )


def _pct(v) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{100 * v:.1f}%"


def build_forecast_report(folder: str | Path, jobs: int | None = None) -> Path:
    """Write ``report.html`` (and ``figures/``) for a ``sim forecast`` folder; return its path."""
    folder = Path(folder)
    meta = json.loads((folder / "forecast.json").read_text(encoding="utf-8"))
    hist = read_table(folder / "history_days.csv")
    days = read_table(folder / "forecast_days.csv")
    acc = read_table(folder / "accuracy.csv")
    total = folder / "forecast_total.csv"
    per_interval = read_table(total if total.exists() else folder / "forecast.csv")
    h = meta["history"]
    title = f"sim forecast: {h['file']}"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    types = (
        "; call types " + ", ".join(map(html.escape, h["call_types"])) if h["call_types"] else ""
    )
    parts.append(
        f"<p>{html.escape(h['kind'])} from {h['first_date']} to {h['last_date']} "
        f"({h['days_with_data']} days with data of {h['days']}; {_n(h['calls'])} calls{types})."
        f" Forecast of {meta['horizon_days']} days from {meta['start_date']} at "
        f"{meta['interval_s'] // 60} min: {_n(meta['forecast_calls'])} calls. Method "
        f"<strong>{html.escape(meta['chosen'])}</strong>: {html.escape(meta['why'])}.</p>"
    )
    with FigureSink(folder / "figures", jobs) as sink:
        items = (_days_figure(hist, days, sink), _intervals_figure(per_interval, sink))
    for item in items:
        parts.append(
            f'<h2>{html.escape(item["title"])}</h2><img src="{item["src"]}">'
            f"<p>{html.escape(item['caption'])}</p>"
        )
    parts.append(
        f"<h2>Back-test</h2><p>Origins {', '.join(meta['origins'])}; each method forecast "
        f"{meta['horizon_days']} days from each, using only the days before it. WAPE and bias "
        f"over every interval of the days with data; MAPE over intervals with at least "
        f"{meta['mape_min_calls']} calls; coverage: share of actual counts inside the 80% and "
        "95% intervals, calibrated on the other origins.</p>"
    )
    overall = acc["horizon_day"] == "all"
    heads = ["method", "origins", "intervals", "WAPE", "MAPE", "bias", "80% holds", "95% holds"]
    rows = [
        [
            acc["method"][i] + (" (chosen)" if str(acc["chosen"][i]) == "True" else ""),
            int(acc["origins"][i]),
            _n(int(acc["intervals"][i])),
            _pct(acc["wape"][i]),
            _pct(acc["mape"][i]),
            _pct(acc["bias"][i]),
            _pct(acc["cover80"][i]),
            _pct(acc["cover95"][i]),
        ]
        for i in np.flatnonzero(overall)
    ]
    parts.append(_table(heads, rows))
    for method, why in meta["skipped"].items():
        parts.append(f"<p>{html.escape(method)}: not chosen ({html.escape(why)}).</p>")
    chosen = np.flatnonzero((acc["method"] == meta["chosen"]) & ~overall)
    parts.append(f"<h3>{html.escape(meta['chosen'])} per horizon day</h3>")
    parts.append(
        _table(
            ["horizon day", "calls", "WAPE", "MAPE", "bias", "80% holds", "95% holds"],
            [
                [
                    acc["horizon_day"][i],
                    _n(float(acc["calls"][i])),
                    _pct(acc["wape"][i]),
                    _pct(acc["mape"][i]),
                    _pct(acc["bias"][i]),
                    _pct(acc["cover80"][i]),
                    _pct(acc["cover95"][i]),
                ]
                for i in chosen
            ],
        )
    )
    parts.append("<h2>Special days</h2>")
    carry, event = (meta["special_day_effects"][k] for k in ("after closure", "event"))
    parts.append(
        "<p>The first open day after a closure receives its normal calls plus a share of the "
        "closed days' normal calls: "
        + ", ".join(
            f"{share:.0%} when it is the {html.escape(name)}"
            if name == "next day"
            else f"{share:.0%} {html.escape(name)}"
            for name, share in carry["share_back"].items()
        )
        + (
            " (assumed: the history has no such day)"
            if carry["assumed"]
            else " (learned from "
            + " and ".join(f"{n} day{'s' if n != 1 else ''}" for n in carry["days_seen"].values())
            + " in the history; a kind with none takes the other's share)"
        )
        + f"; an event has {event['factor']:.3f} times a normal day's calls ({event['days_seen']}"
        " seen in the history"
        + ("" if event["days_seen"] else ", so 1")
        + "). Closed days get no calls.</p>"
    )
    if meta["special_days"]:
        parts.append(
            _table(
                ["date", "what", "name", "in"],
                [[e["date"], e["kind"], e["name"], e["in"]] for e in meta["special_days"]],
            )
        )
    parts.append("<h2>Forecast per day</h2>")
    parts.append(
        _table(
            ["date", "weekday", "kind", "mean", "80%", "95%"],
            [
                [
                    days["date"][i],
                    days["weekday"][i],
                    days["kind"][i],
                    _n(float(days["mean"][i])),
                    f"{_n(float(days['lo80'][i]))} … {_n(float(days['hi80'][i]))}",
                    f"{_n(float(days['lo95'][i]))} … {_n(float(days['hi95'][i]))}",
                ]
                for i in range(len(days["date"]))
            ],
        )
    )
    page = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>" + "\n".join(parts) + "</body></html>"
    )
    out = folder / "report.html"
    write_atomic(out, page)
    return out
