"""Scenario files: the validated, frozen description of one operation to simulate.

Owns the schema (pydantic, ``extra="forbid"``) and its loading, YAML 1.2 with line numbers and
``extends:``, units and durations, distributions (specs with their moments and batch samplers),
the JSON Schema and the bounds on inputs. Imports nothing else from ``sim``: every other layer
reads a :class:`Scenario`.
"""
