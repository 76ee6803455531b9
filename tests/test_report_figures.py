"""What the report's figures say to a planner: captions naming the panels drawn, whole agents,
the end-of-run stock apart from the daily flows, money with thousands separators, days named
as the tables name them, legends off the data and one number format per heat map.

The figures are checked as objects (texts, ticks, legend positions), not as pixels.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sim.report.drawing import FigureSink


class Keeping(FigureSink):
    """A sink that keeps the drawn figures by name instead of rendering them."""

    def add(self, fig, name, title, caption):
        self.figures = {**getattr(self, "figures", {}), name: fig}
        self.captions = {**getattr(self, "captions", {}), name: caption}
        return {"name": name, "title": title, "caption": caption, "src": ""}


def plan(abandon: float, agents: tuple[float, float] = (14.0, 15.0)) -> dict:
    return {
        "weekday": np.array(["mon", "mon"]),
        "start": np.array(["09:00", "09:30"], dtype=object),
        "service_level_mean": np.array([0.9, 0.8]),
        "abandon_rate_mean": np.array([0.0, abandon]),
        "agents_on_duty_mean": np.array(agents),
    }


def tick_labels(fig, ax, axis: str = "y") -> list[str]:
    FigureCanvasAgg(fig).draw()
    ticks = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in ticks if t.get_text()]


def test_overlay_caption_names_exactly_the_panels_drawn(tmp_path):
    from sim.report.plan_figures import overlay

    sink = Keeping(tmp_path)
    overlay({"a": plan(0.0), "b": plan(0.0)}, sink, {})
    caption = sink.captions["compare_overlay"]
    assert caption.startswith("Service level and agents on duty per interval"), caption
    assert "abandon" not in caption
    overlay({"a": plan(0.0), "b": plan(0.02)}, sink, {})
    assert sink.captions["compare_overlay"].startswith(
        "Service level, abandonment and agents on duty per interval"
    )


def test_overlay_counts_agents_in_whole_people(tmp_path):
    from sim.report.plan_figures import overlay

    sink = Keeping(tmp_path)
    overlay({"a": plan(0.0, (14.0, 14.0)), "b": plan(0.0, (15.0, 15.0))}, sink, {})
    fig = sink.figures["compare_overlay"]
    agents = next(ax for ax in fig.axes if ax.get_ylabel().startswith("agents on duty"))
    ticks = [float(t.replace("−", "-")) for t in tick_labels(fig, agents)]
    assert ticks and all(t == int(t) for t in ticks), ticks


def test_offered_vs_agents_counts_agents_in_whole_people(tmp_path):
    from sim.report.plots import interval_figures

    table = {
        "day": np.array([1, 1, 1]),
        "weekday": np.array(["mon"] * 3, dtype=object),
        "start": np.array(["09:00", "09:30", "10:00"], dtype=object),
        "offered_mean": np.array([40.0, 50.0, 45.0]),
        "agents_on_duty_mean": np.array([2.0, 3.0, 2.5]),
    }
    sink = Keeping(tmp_path)
    interval_figures(table, sink, {}, 1800, 20, {}, [])
    fig = sink.figures["offered_vs_agents"]
    agents = next(ax for ax in fig.axes if ax.get_ylabel().startswith("agents on duty"))
    ticks = [float(t.replace("−", "-")) for t in tick_labels(fig, agents)]
    assert ticks and all(t == int(t) for t in ticks), ticks
