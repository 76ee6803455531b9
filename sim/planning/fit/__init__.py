"""``sim fit``: estimate a scenario from a center's call log, calibrate it, back-test it.

Modules: :mod:`.estimators` (intervals, families, censored data), :mod:`.arrivals`,
:mod:`.behaviour` (shares, handle times, patience, priority), :mod:`.redials`, :mod:`.agents`,
:mod:`.calibrate` (calibration and back-test by simulation), :mod:`.scenario_out` (the commented
scenario) and :mod:`.pipeline` (the steps in order). Methods and references: docs/fit.md.
"""
