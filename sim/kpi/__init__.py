"""KPIs: pure numpy functions of the records a replication produced.

Owns the call KPIs (overall and per interval) and the business KPIs (orders, leads, work
orders, per day). May import ``sim.scenario``, ``sim.records`` and
``sim.model.calendar`` (facts and time), never the SimPy parts of the model.
"""
