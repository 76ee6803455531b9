"""Chat with concurrency against Erlang A and C (a dossier case).

N agents holding up to K chats each, exponential handle times, no slowdown, a chat taking any
free slot: each slot is a server, so the chats wait exactly as calls on N x K agents (Erlang C
without patience, Erlang A with exponential patience). Occupancy counts a chat as 1/K of its
agent, so it is the share of slots busy: Erlang's occupancy of N x K servers.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.quality.dossier import Case, row
from sim.scenario.schema import Scenario

__all__ = ["CHAT_QUEUES", "chat_case", "chat_scenario"]

CHAT_QUEUES = [  # (chats/h, mean handle s, agents, chats per agent, mean patience s or None)
    (100, 360, 4, 3, None),  # 10 Erlang on 12 slots
    (240, 240, 4, 4, 120.0),  # 16 Erlang on 16 slots: critically loaded but for abandonment
    (300, 300, 6, 3, 180.0),  # 25 Erlang on 18 slots: stable only by abandonment
]
MEASURES = ("service_level", "abandon_rate", "asa", "mean_queue_length", "occupancy")


def chat_scenario(
    rate: float,
    aht: float,
    agents: int,
    slots: int,
    patience: float | None,
    make: Callable[..., Scenario],
) -> Scenario:
    """The queue of ``make`` (the dossier's ``queue_scenario(rate, aht, agents,
    patience_s=..., extra=...)``) with its calls made chats and its agents given ``slots``."""
    return make(
        rate,
        aht,
        agents,
        patience_s=patience,
        extra={
            "call_types": {
                "general": {
                    "share": 1,
                    "channel": "chat",
                    "handle_time": {"dist": "exponential", "mean": aht},
                }
            },
            "agents": {
                "groups": {
                    "team": {"skills": ["general"], "staffing": agents, "concurrency": slots}
                }
            },
        },
    )


def chat_case(make: Callable[..., Scenario], samples: Callable, within: float) -> Case:
    """Each queue of :data:`CHAT_QUEUES` simulated (``samples(scenario)``: the KPIs per
    replication) against Erlang C or A with agents x chats servers."""
    from sim.planning.erlang import erlang_a_metrics, erlang_c_metrics

    case = Case(
        "Chat with concurrency (N agents x K chats = Erlang with N K servers)",
        "`sim.planning.erlang.erlang_c_metrics` / `erlang_a_metrics` with N x K servers: "
        "without slowdown and with exponential handle times every free slot serves as one "
        "agent would (`agents.groups.G.concurrency`, docs/chat.md); occupancy is the share of "
        "slots busy.",
    )
    case.note = (
        "With the same seed the chats wait exactly as calls on N x K agents, bit for bit "
        "(`tests/test_chats.py`): a row outside its interval here is outside for that voice "
        "queue too (chance, one row in twenty), not a difference of the chat model."
    )
    for rate, aht, agents, slots, patience in CHAT_QUEUES:
        servers = agents * slots
        k = samples(chat_scenario(rate, aht, agents, slots, patience, make))
        if patience is None:
            exact = erlang_c_metrics(rate / 3600, aht, servers, within)
            measures: tuple[str, ...] = ("service_level", "asa", "mean_queue_length", "occupancy")
        else:
            exact = erlang_a_metrics(rate / 3600, aht, servers, patience, within)
            measures = MEASURES
        label = f"{rate:g}/h, AHT {aht:g} s, {agents} agents x {slots} chats" + (
            f", patience {patience:g} s" if patience else ""
        )
        for m in measures:
            case.rows.append(row(label, m, getattr(exact, m), k[m]))
    return case
