"""Agents actually on duty: the scheduled staffing less shrinkage and a random daily absenteeism.

Owns the two workforce-management discounts (``agents.shrinkage``, ``agents.absenteeism``) in
both directions: the timeline the model runs and the inflation the staffing tools apply.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model.calendar import Timeline, compress, staffing_timeline
from sim.model.streams import Streams
from sim.scenario.schema import Scenario
from sim.scenario.units import DAY

__all__ = ["on_duty_timeline", "scheduled_for"]


def on_duty_timeline(scenario: Scenario, group: str, streams: Streams) -> Timeline:
    """Agents of ``group`` on duty and available for calls over the horizon.

    With neither ``agents.shrinkage`` nor ``agents.absenteeism`` set this is exactly
    :func:`sim.model.calendar.staffing_timeline` and no random number is drawn. Otherwise, on day
    d::

        on_duty(t) = floor(scheduled(t) x (1 - absent_d / peak_d) x (1 - shrinkage) + 1/2)

    (rounded half up), where ``peak_d`` is the day's largest scheduled headcount and
    ``absent_d ~ Binomial(peak_d, absenteeism)`` is drawn from the stream
    ``absenteeism.<group>`` (one draw per day, so adding a group or a day elsewhere does not
    shift it). Absence thus removes the same share of every shift that day, which keeps the
    expected on-duty level at ``scheduled x (1 - absenteeism) x (1 - shrinkage)``.
    """
    base = staffing_timeline(scenario, scenario.agents.groups[group])
    shrinkage = scenario.agents.shrinkage or 0.0
    absenteeism = scenario.agents.absenteeism or 0.0
    if shrinkage == 0.0 and absenteeism == 0.0:
        return base
    days = scenario.horizon.days
    times = np.union1d(base.times, np.arange(days, dtype=float) * DAY)  # a piece per day at least
    values = base.values[np.searchsorted(base.times, times, side="right") - 1]
    day = np.minimum((times // DAY).astype(np.int64), days - 1)
    present = np.ones(days)
    if absenteeism > 0.0:
        peak = np.zeros(days)
        np.maximum.at(peak, day, values)
        absent = streams(f"absenteeism.{group}").binomial(peak.astype(np.int64), absenteeism)
        present = np.where(peak > 0, 1.0 - absent / np.maximum(peak, 1.0), 1.0)
    on_duty = np.floor(values * present[day] * (1.0 - shrinkage) + 0.5)
    return compress(times, on_duty, base.end)


def scheduled_for(on_duty: int, scenario: Scenario) -> int:
    """Agents to schedule so that ``on_duty`` are expected on duty: the inverse discount.

    ``ceil(on_duty / (1 - shrinkage) / (1 - absenteeism))``: with shrinkage alone the rounding
    of :func:`on_duty_timeline` then gives at least ``on_duty`` agents.
    """
    shrinkage = scenario.agents.shrinkage or 0.0
    absenteeism = scenario.agents.absenteeism or 0.0
    if on_duty <= 0:
        return 0
    return math.ceil(on_duty / (1.0 - shrinkage) / (1.0 - absenteeism) - 1e-9)
