"""The ``sim fit`` report page (issue 26): one interval whose few calls waited hours must not
flatten the ASA history, the patience figure names the family the scenario uses for every
tier, and the scenario block wraps inside the page instead of running off its right edge."""

from __future__ import annotations

import re

import numpy as np

from sim.report.fit_report import _STYLE, _backtest_figure, _patience_figure, scale_top


class _Sink:
    """Keeps the figure a report function hands over, instead of rendering it."""

    def add(self, fig, name, title, caption):
        self.fig, self.caption = fig, caption
        return {"title": title, "src": f"figures/{name}.png", "caption": caption}


def _table(asa: np.ndarray) -> dict:
    n = len(asa)
    rng = np.random.default_rng(3)
    table = {"weekday": np.repeat(["mon", "tue"], n // 2)}
    for name, values in (
        ("offered", 40 + 10 * rng.random(n)),
        ("service_level", 0.7 + 0.1 * rng.random(n)),
        ("abandon_rate", 0.1 * rng.random(n)),
        ("asa", asa),
    ):
        model = np.where(values > 1000, 30.0, values) * 1.05
        table[f"history_{name}"] = values
        table[f"model_{name}"] = model
        table[f"model_{name}_ci_low"] = model * 0.9
        table[f"model_{name}_ci_high"] = model * 1.1
    return table


def _asa_axis(table: dict):
    sink = _Sink()
    assert _backtest_figure(table, sink) is not None
    return sink, sink.fig.axes[3]


def test_one_huge_asa_does_not_set_the_scale_and_is_marked():
    asa = 20 + 40 * np.random.default_rng(1).random(96)
    asa[30] = 10_000.0  # one interval of the history whose calls waited hours
    sink, ax = _asa_axis(_table(asa))
    top = ax.get_ylim()[1]
    assert 55 < top < 500  # the ordinary 20-60 s keep most of the height
    notes = [t.get_text() for t in ax.texts]
    assert any("▲" in t and "history in 1" in t and "10,000 s" in t for t in notes), notes
    assert "▲" in sink.caption
    markers = [line for line in ax.lines if line.get_marker() == "^"]
    assert len(markers) == 1 and list(markers[0].get_xdata()) == [30]


def test_an_ordinary_history_keeps_its_whole_range():
    asa = 20 + 40 * np.random.default_rng(1).random(96)
    asa[30] = 150.0  # a busy interval: a real peak, drawn whole
    sink, ax = _asa_axis(_table(asa))
    assert ax.get_ylim()[1] >= 150 * 1.1 * 1.05  # the model's CI above the peak too
    assert not ax.texts and "▲" not in sink.caption
    assert scale_top(asa) is None
    assert scale_top(np.array([np.nan, np.nan])) is None


def test_the_patience_figure_names_the_family_each_tier_uses():
    t = [0.0, 50.0, 100.0, 200.0]
    km = {"t": t, "survival": [1.0, 0.7, 0.5, 0.3]}
    fit = {
        "patience": {
            "a": {"kaplan_meier": km, "exponential": {"mean": 150.0}, "family": "exponential"},
            "b": {
                "kaplan_meier": km,
                "exponential": {"mean": 150.0},
                "family": "gamma",
                "family_survival": [1.0, 0.75, 0.55, 0.3],
            },
        }
    }
    sink = _Sink()
    assert _patience_figure(fit, sink) is not None
    labels = [t.get_text() for t in sink.fig.legends[0].get_texts()]
    # the second tier's gamma is listed although the first tier uses the exponential
    assert labels == ["Kaplan–Meier", "exponential MLE (used)", "exponential MLE", "gamma (used)"]


def test_the_scenario_block_wraps_inside_the_page():
    rules = dict(re.findall(r"([a-z]+)\{([^}]*)\}", _STYLE))
    assert "max-width:1100px" in rules["body"]  # the page keeps its width
    pre = rules["pre"].split(";")
    assert "white-space:pre-wrap" in pre and "overflow-wrap:anywhere" in pre
    assert not any(p.startswith(("width", "min-width", "white-space:pre;")) for p in pre)
