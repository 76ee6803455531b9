"""Many replications: executors (serial, processes, Dask), replicate with confidence intervals
and stopping rules, paired comparison with common random numbers, parameter sweeps, progress.

May import ``sim.scenario``, ``sim.model`` and ``sim.kpi``.
"""
