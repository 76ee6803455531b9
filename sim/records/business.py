"""The codes in the business records (orders, leads, work orders): how each ended, and how an
order is paid. Their columns are the model's (:mod:`sim.model.delivery`,
:mod:`sim.model.back_office`); the KPIs read the codes from here."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["PAYMENTS", "LeadState", "OrderState", "Payment", "WorkOrderState"]


class OrderState(IntEnum):
    """How an order ended. OPEN: not yet delivered or returned at the horizon."""

    OPEN = 0
    DELIVERED = 1
    FAILED = 2


class Payment(IntEnum):
    """How the customer pays for an order (the ``payment`` column of the orders)."""

    CASH = 0
    POS = 1  # card at the door
    ONLINE = 2


PAYMENTS = tuple(p.name.lower() for p in Payment)
"""Payment names as scenario files spell them, in code order: ``PAYMENTS.index(name)``."""


class LeadState(IntEnum):
    """How a lead ended: bought, reached but said no, never reached. OPEN: not yet ended."""

    OPEN = 0
    CONVERTED = 1
    DECLINED = 2
    UNREACHED = 3


class WorkOrderState(IntEnum):
    """How a work order ended. OPEN: waiting or in hand at the horizon."""

    OPEN = 0
    RESOLVED = 1
    UNRESOLVED = 2
