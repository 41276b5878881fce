"""An office's evaluation score and the ranking per province and location category.

The score is whole points: the indicators the office declared, as its region reviewed them
(../shared/seeds/000 line 179: floor space, staff, location, the holder's experience, …), plus
what the transaction record measured over the evaluation's period. The weights are SAMPLE
weights — the regulator's are in its decision 289, which the sources do not give — kept in one
table here so they are easy to replace:

    declared (as reviewed)     floor space ≤ 120 m² → 0–10, staff ≤ 10 → 0–10, facilities for
                               veterans, disabled and elderly people → 10 (line 180 makes their
                               absence a negative), the holder's experience ≤ 10 years → 0–10,
                               equipment ≤ 10 items → 0–10, the provincial association's score
                               (the region records it) → 0–10
    measured from the record   volume → 0–20 against the busiest peer (same province and
                               category), services sold / services installed → 0–10,
                               refusals for a fee above the cap → −1 each (at most −10),
                               decided violations → −their negative points, citizens'
                               complaints → −2 each (at most −10), satisfaction with 3 ratings
                               or more → (average − 3) × 5, rounded (−10 to +10)

Peers are ranked by score, then volume, then office id (a stable order); rank 1 is the best.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, case, func, select

from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.regulation.fines import COUNTING
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.outcomes import FINAL_OUTCOME
from pishkhan_gateway.store.tables import Feedback, Office, Transaction, ViolationCase

# declared indicator -> (lowest, highest accepted, points = f(value))
DECLARED: dict[str, tuple[int, int, Any]] = {
    "floor_space_m2": (0, 10_000, lambda v: min(v, 120) // 12),
    "staff": (0, 500, lambda v: min(v, 10)),
    "accessibility": (0, 1, lambda v: 10 if v else 0),
    "experience_years": (0, 80, lambda v: min(v, 10)),
    "equipment": (0, 1_000, lambda v: min(v, 10)),
}
ASSOCIATION_MAX = 10


def indicators(body: Any, partial: bool = False) -> dict[str, int]:
    """The declared indicators in ``body``, checked (whole numbers in range; ``accessibility``
    true/false); all of them unless ``partial``."""
    if not isinstance(body, dict):
        raise InvalidRequest("indicators: an object", field="indicators")
    out = {}
    for name, (low, high, _points) in DECLARED.items():
        if name not in body:
            if partial:
                continue
            raise InvalidRequest(f"{name}: required", field=name)
        value = body[name]
        if name == "accessibility":
            if not isinstance(value, bool):
                raise InvalidRequest(f"{name}: true or false", field=name)
            value = int(value)
        if type(value) is not int or not low <= value <= high:
            raise InvalidRequest(f"{name}: a whole number from {low} to {high}", field=name)
        out[name] = value
    return out


def measured(
    store: Store, office_ids: list[str], start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, int | float | None]]:
    """Per office over [start, end): succeeded transactions, distinct services sold, over-cap
    refusals, decided violation points, complaints, ratings and their average."""
    out: dict[str, dict[str, Any]] = {
        o: {"volume": 0, "services": 0, "over_cap": 0, "points": 0, "complaints": 0,
            "ratings": 0, "average": None}
        for o in office_ids
    }  # fmt: skip
    period = and_(
        Transaction.office_id.in_(office_ids),
        Transaction.created_at >= start,
        Transaction.created_at < end,
    )
    ok = FINAL_OUTCOME == "succeeded"
    with store.read() as session:
        for office, volume, services, over in session.execute(
            select(
                Transaction.office_id,
                func.sum(case((ok, 1), else_=0)),
                func.count(func.distinct(case((ok, Transaction.service), else_=None))),
                func.sum(case((Transaction.code == "tariff_exceeded", 1), else_=0)),
            )
            .where(period)
            .group_by(Transaction.office_id)
        ):
            out[office].update(volume=int(volume), services=int(services), over_cap=int(over))
        for office, points in session.execute(
            select(ViolationCase.office_id, func.sum(ViolationCase.points))
            .where(
                ViolationCase.office_id.in_(office_ids),
                ViolationCase.state.in_(COUNTING),
                ViolationCase.decided_at >= start,
                ViolationCase.decided_at < end,
            )
            .group_by(ViolationCase.office_id)
        ):
            out[office]["points"] = int(points or 0)
        for office, n, total, complaints in session.execute(
            select(
                Feedback.office_id,
                func.count(),
                func.sum(Feedback.rating),
                func.count(Feedback.case_id),
            )
            .where(
                Feedback.office_id.in_(office_ids),
                Feedback.given_at >= start,
                Feedback.given_at < end,
            )
            .group_by(Feedback.office_id)
        ):
            out[office].update(
                ratings=int(n), average=int(total) / int(n), complaints=int(complaints)
            )
    return out


def score(
    declared: dict[str, int] | None,
    association: int | None,
    seen: dict[str, Any],
    busiest: int,
    installed: int,
) -> dict[str, Any]:
    """One office's points, item by item, and their sum."""
    items = {
        name: points(declared.get(name, 0)) if declared else 0
        for name, (_low, _high, points) in DECLARED.items()
    }
    items["association"] = association or 0
    items["volume"] = 20 * seen["volume"] // busiest if busiest else 0
    items["services"] = 10 * seen["services"] // installed if installed else 0
    items["over_cap_refusals"] = -min(10, seen["over_cap"])
    items["violations"] = -seen["points"]
    items["complaints"] = -min(10, 2 * seen["complaints"])
    average = seen["average"]
    items["satisfaction"] = (
        max(-10, min(10, round((average - 3) * 5))) if seen["ratings"] >= 3 and average else 0
    )
    return {"items": items, "score": sum(items.values())}


def rank(
    store: Store,
    entries: dict[str, dict[str, Any]],
    province: str,
    category: str | None,
    start: dt.datetime,
    end: dt.datetime,
    installed: int,
) -> list[dict[str, Any]]:
    """The ranking of the offices of ``province`` (one ``category``, or each category on its
    own when None), from their evaluation ``entries`` (office → declared/reviewed indicators,
    association score) and the record."""
    with store.read() as session:
        offices = session.execute(
            select(Office.id, Office.name, Office.category, Office.type).where(
                Office.province == province,
                Office.status != "revoked",
                *([Office.category == category] if category else []),
            )
        ).all()
    seen = measured(store, [o.id for o in offices], start, end)
    out = []
    for group in sorted({o.category for o in offices}):
        peers = [o for o in offices if o.category == group]
        busiest = max((seen[o.id]["volume"] for o in peers), default=0)
        scored = []
        for office in peers:
            entry = entries.get(office.id, {})
            result = score(entry.get("indicators"), entry.get("association"), seen[office.id],
                           busiest, installed)  # fmt: skip
            scored.append(
                {
                    "office": office.id,
                    "name": office.name,
                    "type": office.type,
                    "category": group,
                    "declared": entry.get("indicators") is not None,
                    **result,
                    "measured": seen[office.id],
                }
            )
        scored.sort(key=lambda r: (-r["score"], -r["measured"]["volume"], r["office"]))
        out += [{**r, "rank": i} for i, r in enumerate(scored, 1)]
    return out
