"""Outbound KPIs: numbers dialed, customers reached and served, and mismatches, per day.

Pure functions of the counts the dialers kept (:class:`sim.model.dialer.OutboundCampaign`),
of the numbers dialed inside [warm-up, horizon); a scenario without ``outbound:`` has none of
these figures."""

from __future__ import annotations

from collections.abc import Mapping

from sim.kpi.calls import ratio

__all__ = ["outbound_kpis"]


def outbound_kpis(counts: Mapping[str, Mapping[str, int]], days: float) -> dict[str, float | None]:
    """``counts``: per campaign, its ``dialed``, ``reached``, ``served`` and ``mismatched``;
    ``days``: the days counted. All campaigns together, and per campaign
    (``.campaign=<name>``) when there are several. ``mismatch_rate`` is the share of reached
    customers who hung up before an agent was free."""
    out: dict[str, float | None] = {}
    labels: list[tuple[str, Mapping[str, int]]] = [
        ("", {k: sum(c[k] for c in counts.values()) for k in _KEYS})
    ]
    if len(counts) > 1:
        labels += [(f".campaign={name}", c) for name, c in counts.items()]
    for label, c in labels:
        out[f"outbound_dialed{label}"] = c["dialed"] / days
        out[f"outbound_reached{label}"] = c["reached"] / days
        out[f"outbound_served{label}"] = c["served"] / days
        out[f"mismatch_rate{label}"] = ratio(c["mismatched"], c["reached"])
    return out


_KEYS = ("dialed", "reached", "served", "mismatched")
