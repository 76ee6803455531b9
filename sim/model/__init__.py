"""The SimPy model of one replication: ``simulate(scenario, seed) -> RunResult``.

Owns events and scheduling, named random streams, columnar records, the calendar (rates,
staffing, opening hours), callers and their redials, the contact-center router and its
agent-selection policies, crews, back office, delivery and the on-duty workforce. May import
``sim.scenario`` only (and ``sim.kpi`` inside ``simulation.py``, which summarises the records
it produced); knows nothing of files or the CLI.
"""
