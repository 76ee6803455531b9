"""Input modelling: histories read as untrusted input, and ``sim fit``, a scenario estimated
from them, calibrated and back-tested by simulation.

Readers: :mod:`.calllog` (the generic call log), :mod:`.interval_report`, with what they share:
:mod:`.logtable` (tables opened in batches), :mod:`.logparse` (cells parsed, bad rows counted),
:mod:`.logmapping` (mapping files for exports). ``sim.forecast`` reads histories through them.
Fitting: :mod:`.estimators` (intervals, families, censored data), :mod:`.arrivals`,
:mod:`.behaviour` (shares, handle times, patience, priority), :mod:`.redials`, :mod:`.agents`,
:mod:`.calibrate` (calibration and back-test by simulation), :mod:`.diagnosis`,
:mod:`.scenario_out` (the commented scenario), :mod:`.pipeline` (the steps in order) and
:mod:`.from_intervals` (the same from an interval report). Methods: docs/fit.md.

May import ``sim.planning`` (Erlang) and everything below it; ``sim.scenario`` never imports it.
"""
