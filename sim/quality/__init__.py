"""Checks of the model itself: regression against saved baselines and the validation dossier
(simulation against closed forms).

May import ``sim.planning`` and everything below it.
"""
