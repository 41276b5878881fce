"""What a transaction finally is: its settlement when reconcile settled it, else the outcome it
was recorded with — one definition for every query and view that counts outcomes (the office's
history, settlements, scorecards, the ranking, crowding, the agencies' ledgers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case

from pishkhan_gateway.store.tables import Transaction

OUTCOMES = ("succeeded", "refused", "failed", "unknown")

# ``final_outcome`` in SQL, for queries that count or filter by it.
FINAL_OUTCOME = case(
    (Transaction.settled_outcome.is_not(None), Transaction.settled_outcome),
    else_=Transaction.outcome,
)


def final_outcome(row: Any) -> str:
    """``succeeded``, ``refused``, ``failed``, ``unknown`` or (settled) ``not_applied``."""
    return str(row.settled_outcome or row.outcome)
