"""Decisions a planner asks for: Erlang formulas, staffing per interval, shifts, fulfilment
sizing.

May import ``sim.experiments``, ``sim.kpi``, ``sim.model``, ``sim.records``, ``sim.report`` and
``sim.scenario``. Fitting a scenario to a history is input modelling, in :mod:`sim.fit`.
"""
