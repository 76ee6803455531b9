"""Checks of the model itself: regression against saved baselines and the validation dossier
(simulation against closed forms and against a published model, ContactCenters' Bilingual).

May import ``sim.planning`` and everything below it.
"""
