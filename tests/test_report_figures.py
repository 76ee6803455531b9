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


def business(days: int = 5) -> tuple[dict, dict]:
    """KPIs of an order funnel with two channels and ``days`` days of business flows."""
    kpis = {}
    for c, scale in (("own", 1.0), ("courier", 2.0)):
        for stage, mean in (("created", 100), ("delivered", 90), ("open", 300)):
            kpis[f"orders_{stage}.channel={c}"] = {"mean": mean * scale, "ci95": None}
        kpis[f"cost_per_delivery.channel={c}"] = {"mean": 1500.0 * scale, "ci95": None}
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    daily = {
        "day": np.arange(1, days + 1),
        "weekday": np.array([names[d % 7] for d in range(days)], dtype=object),
        "delivery_on_time_mean": np.full(days, 0.8),
        "cash_collected_mean": np.linspace(20_000, 60_000, days),
        "pos_collected_mean": np.linspace(10_000, 50_000, days),
    }
    return kpis, daily


def test_order_funnel_shows_the_open_orders_apart_from_the_flows_per_day(tmp_path):
    from sim.report.plots import business_figures

    kpis, daily = business()
    sink = Keeping(tmp_path)
    business_figures(kpis, daily, {}, sink)
    flows, stock = sink.figures["order_funnel"].axes
    assert [t.get_text() for t in flows.get_xticklabels()] == ["created", "delivered"]
    assert flows.get_ylabel() == "orders per day"
    assert [t.get_text() for t in stock.get_xticklabels()] == ["open"]
    assert "end" in stock.get_ylabel() and "per day" not in stock.get_ylabel()
    assert "own panel" in sink.captions["order_funnel"]


def test_money_is_written_with_thousands_separators(tmp_path):
    from sim.report.plots import business_figures

    kpis, daily = business()
    sink = Keeping(tmp_path)
    business_figures(kpis, daily, {}, sink)
    fig = sink.figures["cash_pos"]
    labels = tick_labels(fig, fig.axes[0])
    big = [t for t in labels if float(t.replace(",", "")) >= 1000]
    assert big and all("," in t for t in big), labels
    fig = sink.figures["cost_per_delivery"]
    labels = tick_labels(fig, fig.axes[0], "x")
    assert any("," in t for t in labels), labels


def test_per_day_figures_name_the_days_as_the_tables_do(tmp_path):
    from sim.report.plots import business_figures

    kpis, daily = business(days=5)
    sink = Keeping(tmp_path)
    business_figures(kpis, daily, {}, sink)
    for name in ("delivery_on_time", "cash_pos"):
        fig = sink.figures[name]
        assert tick_labels(fig, fig.axes[0], "x") == [
            "Mon (day 1)",
            "Tue (day 2)",
            "Wed (day 3)",
            "Thu (day 4)",
            "Fri (day 5)",
        ]
    assert "created" in sink.figures["delivery_on_time"].axes[0].get_xlabel()
    kpis, daily = business(days=28)  # a long run: fewer labels, still named
    business_figures(kpis, daily, {}, sink)
    labels = tick_labels(
        sink.figures["delivery_on_time"], sink.figures["delivery_on_time"].axes[0], "x"
    )
    assert 1 < len(labels) <= 12 and labels[0] == "Mon (day 1)" and labels[1].endswith("(day 4)")


def sweep_points() -> dict:
    agents, rate = np.meshgrid([12.0, 13.0, 14.0, 15.0], [180.0, 200.0, 220.0])
    agents, rate = agents.ravel(), rate.ravel()
    sl = np.clip(0.63 + 0.05 * (agents - 12) - 0.001 * (rate - 180), 0, 1)
    sl[0] = 0.63  # a round value beside 78.3: the heat map must not write "63"
    occ = 0.9 - 0.03 * (agents - 12) + 0.001 * (rate - 180)
    pts = {"agents.groups.team.staffing": agents, "arrivals.rate_per_hour": rate}
    for kpi, mean in (("service_level", sl), ("occupancy", occ)):
        pts |= {f"{kpi}_mean": mean, f"{kpi}_ci_low": mean - 0.02, f"{kpi}_ci_high": mean + 0.02}
    return pts


def test_sweep_legends_stay_off_the_data(tmp_path):
    from sim.report.sweep_figures import sweep_lines

    sink = Keeping(tmp_path)
    p, q = "agents.groups.team.staffing", "arrivals.rate_per_hour"
    targets = {"service_level": ("at_least", 0.8)}
    sweep_lines(sweep_points(), p, [q], ["service_level", "occupancy"], targets, sink)
    fig = next(iter(sink.figures.values()))
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2
    for ax in panels:
        box, area = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
        assert box.y0 >= area.y1 - 1, (box, area)  # above the plotting area, not on it
        assert 0 <= box.x0 and box.x1 <= fig.bbox.x1  # whole, not cut at the figure's edge
        for other in fig.axes:  # nor on a neighbour
            if other is not ax and other.get_visible():
                assert not box.overlaps(other.get_window_extent(renderer))


def test_heat_map_writes_every_cell_with_the_same_decimals(tmp_path):
    from sim.report.sweep_figures import heat_map

    sink = Keeping(tmp_path)
    p, q = "agents.groups.team.staffing", "arrivals.rate_per_hour"
    heat_map(sweep_points(), p, q, "service_level", ("at_least", 0.8), sink)
    fig = next(iter(sink.figures.values()))
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert len(cells) == 12 and "63.0" in cells, cells
    assert {len(c.split(".")[1]) if "." in c else 0 for c in cells} == {1}, cells
    from sim.report.sweep_figures import _decimals

    # a small value beside a large one keeps two significant digits: 0.40 and 150.00, never 0
    assert _decimals(np.array([0.4, 150.0, np.nan])) == 2
    assert _decimals(np.array([63.0, 78.3])) == 1 and _decimals(np.array([0.0, np.nan])) == 0


def test_staffing_figure_is_scaled_to_the_plan_not_to_a_scenario_far_above_it():
    """Issue 26: a scenario's 60-96 agents set the scale and the recommended 3-11 lay flat."""
    from sim.report.staffing_report import _group_figure

    class Sink:
        def add(self, fig, name, title, caption):
            self.fig, self.caption = fig, caption
            return {"name": name}

    n = 24
    table = {
        "group": ["team"] * n,
        "day_type": ["mon"] * n,
        "start": [f"{h:02d}:00" for h in range(n)],
        "agents": [3 + h % 9 for h in range(n)],  # 3 to 11
        "erlang_agents": [2 + h % 9 for h in range(n)],
        "scenario_agents": [60 if h < 12 else 96 for h in range(n)],
        "service_level": [0.85] * n,
        "service_level_ci_low": [0.8] * n,
        "service_level_ci_high": [0.9] * n,
    }
    sink = Sink()
    assert _group_figure(table, "team", "mon", 0.8, sink) == {"name": "staffing_team_mon"}
    top = sink.fig.axes[0]
    low, high = top.get_ylim()
    assert low == 0 and 11 < high < 20  # the plan fills the panel
    notes = [t.get_text() for t in top.texts]
    assert any("above the scale in 24 intervals: up to 96 agents" in t for t in notes), notes
    table["scenario_agents"] = [10] * n  # near the plan: drawn as it is, no note
    _group_figure(table, "team", "mon", 0.8, sink)
    assert len(sink.fig.axes[0].texts) == 0 and sink.fig.axes[0].get_ylim()[1] > 11
