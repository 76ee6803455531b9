"""Decisions a planner asks for: Erlang formulas, staffing per interval, shifts, fulfilment
sizing.

May import ``sim.experiments``, ``sim.kpi``, ``sim.model`` and ``sim.scenario``.
"""
