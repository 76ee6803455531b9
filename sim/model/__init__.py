"""The SimPy model of one replication: ``simulate(scenario, seed) -> RunResult``.

Owns events and scheduling, named random streams, the calendar (rates, staffing, opening
hours), callers and their redials, the contact-center router and its agent-selection policies,
crews, back office, delivery and the on-duty workforce; it writes :mod:`sim.records`. May
import ``sim.scenario`` and ``sim.records`` (and ``sim.kpi`` inside ``simulation.py``, which
summarises the records it produced); knows nothing of files or the CLI.
"""
