"""The staff log: agents present per group over time, written by the agent pool and read by
the occupancy KPIs."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["StaffLog"]


@dataclass
class StaffLog:
    """Agents present per group over time (scheduled plus those finishing a call after shift)."""

    groups: list[str]
    times: list[list[float]] = field(default_factory=list)
    present: list[list[int]] = field(default_factory=list)

    def __post_init__(self):
        self.times = [[] for _ in self.groups]
        self.present = [[] for _ in self.groups]

    def record(self, group: int, t: float, present: int) -> None:
        times, counts = self.times[group], self.present[group]
        if times and times[-1] == t:
            counts[-1] = present
        else:
            times.append(t)
            counts.append(present)
