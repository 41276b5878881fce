"""The yearly evaluation of offices, its windows enforced by the Tehran date
(../shared/seeds/000, lines 4–8 and 169–182).

The regulator opens an evaluation for a period of activity; from its ``opens`` day run, in
whole Tehran days (defaults from the sources; the regulator may set others):

    declaration 20  offices declare their indicators (``ranking.DECLARED``)
    review      10  each office's region checks them, records the provincial association's
                    score, corrects what it finds wrong, and may refer a declaration back
    correction   5  a referred office corrects its declaration
    objection    7  the results are out (a provisional ranking per province and category); an
                    office may object to its region, which rules: upheld (unchanged) or with
                    corrected indicators
    then            the regulator publishes the final ranking (frozen, its digest in the log)

An action outside its window is ``evaluation_window_closed`` (409, naming the window open now).
Every step is a log entry in the same database transaction as its row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from sqlalchemy import select

from pishkhan_gateway import persian
from pishkhan_gateway.auditlog.append import ENTRY_VERSION, append
from pishkhan_gateway.errors import (
    EvaluationWindowClosed,
    Forbidden,
    InvalidRequest,
    NotFound,
    WrongState,
)
from pishkhan_gateway.jalali import format_date, iso, midnight_utc, parse_date
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.registry.offices import today
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation import authority, ranking
from pishkhan_gateway.regulation.licencelog import note
from pishkhan_gateway.store import Store, utcnow
from pishkhan_gateway.store.tables import Evaluation, EvaluationEntry, Office

WINDOWS = {"declaration": 20, "review": 10, "correction": 5, "objection": 7}
WINDOW_FA = persian.WINDOWS


def windows(evaluation: Evaluation) -> dict[str, tuple[dt.date, dt.date]]:
    """Each window's first day and the day after its last (Tehran)."""
    out, start = {}, evaluation.opens_on
    for name, days in json.loads(evaluation.windows).items():
        out[name] = (start, start + dt.timedelta(days=days))
        start += dt.timedelta(days=days)
    return out


def window_now(evaluation: Evaluation, day: dt.date | None = None) -> str:
    """The window open on ``day`` (today, Tehran): a name, ``not_open`` or ``closed``."""
    day = day or today()
    for name, (first, after) in windows(evaluation).items():
        if first <= day < after:
            return name
    return "not_open" if day < evaluation.opens_on else "closed"


def _require(evaluation: Evaluation, *allowed: str) -> None:
    now = window_now(evaluation)
    if now not in allowed:
        spans = windows(evaluation)
        wanted = (
            ", ".join(
                f"{w} ({format_date(spans[w][0], '-')} to "
                f"{format_date(spans[w][1] - dt.timedelta(days=1), '-')})"
                for w in allowed
                if w in spans
            )
            or "after the objection window"
        )
        raise EvaluationWindowClosed(
            f"this step belongs to {wanted}; the window open now is {now}", window=now
        )


def describe(evaluation: Evaluation) -> dict[str, Any]:
    """An evaluation as the API shows it, with its windows in Jalali dates."""
    spans = windows(evaluation)
    return {
        "id": evaluation.id,
        "name": evaluation.name,
        "period": {
            "from": format_date(evaluation.period_from, "-"),
            "to": format_date(evaluation.period_to, "-"),
        },
        "windows": {
            w: {"from": format_date(a, "-"), "to": format_date(b - dt.timedelta(days=1), "-")}
            for w, (a, b) in spans.items()
        },
        "window_now": window_now(evaluation),
        "published": evaluation.published_at is not None,
    }


def _date(body: dict[str, Any], name: str, default: dt.date | None = None) -> dt.date:
    raw = body.get(name)
    if raw is None and default is not None:
        return default
    try:
        return parse_date(raw, gregorian_too=True)
    except (TypeError, ValueError):
        raise InvalidRequest(f"{name}: a Jalali date (YYYY-MM-DD)", field=name) from None


def open_evaluation(store: Store, scope: Scope, body: dict[str, Any]) -> dict[str, Any]:
    """The regulator opens an evaluation: ``name``, ``period_from``/``period_to`` (the activity
    measured), ``opens`` (default today), ``windows`` (days; default ``WINDOWS``)."""
    if scope.role != "regulator":
        raise Forbidden("only the regulator opens an evaluation")
    name = redact_text(str(body.get("name") or "").strip())
    if not 3 <= len(name) <= 200:
        raise InvalidRequest("name: 3-200 characters", field="name")
    start, end = _date(body, "period_from"), _date(body, "period_to")
    if end < start:
        raise InvalidRequest("period_to is before period_from", field="period_to")
    days = {**WINDOWS, **(body.get("windows") or {})}
    if set(days) != set(WINDOWS) or any(
        type(v) is not int or not 1 <= v <= 60 for v in days.values()
    ):
        raise InvalidRequest(f"windows: days (1-60) for {', '.join(WINDOWS)}", field="windows")
    now = utcnow()
    with store.write() as session:
        evaluation = Evaluation(
            id=f"ev_{secrets.token_hex(6)}",
            name=name,
            period_from=start,
            period_to=end,
            opens_on=_date(body, "opens", today()),
            windows=json.dumps({w: days[w] for w in WINDOWS}),
            created_by=scope.supervisor_id,
            created_at=now,
        )
        session.add(evaluation)
        index = append(
            session,
            {"v": ENTRY_VERSION, "type": "evaluation_opened", "time": iso(now),
             "evaluation": evaluation.id, **describe(evaluation), "by": scope.supervisor_id},
            now,
        )  # fmt: skip
        return {**describe(evaluation), "log_index": index}


def get(session: Any, evaluation_id: str) -> Evaluation:
    """The evaluation, or ``NotFound``."""
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None:
        raise NotFound(f"no evaluation {evaluation_id}")
    return evaluation


def listing(store: Store) -> list[dict[str, Any]]:
    """Every evaluation, newest first."""
    with store.read() as session:
        rows = session.scalars(select(Evaluation).order_by(Evaluation.opens_on.desc()))
        return [describe(e) for e in rows]


def _entry(session: Any, evaluation_id: str, office_id: str) -> EvaluationEntry:
    entry = session.get(EvaluationEntry, (evaluation_id, office_id), with_for_update=True)
    if entry is None:
        entry = EvaluationEntry(evaluation_id=evaluation_id, office_id=office_id, referred=False)
        session.add(entry)
    return entry


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def declare(store: Store, office_id: str, evaluation_id: str, body: Any) -> dict[str, Any]:
    """The office declares its indicators (declaration window; correction window if its region
    referred it back)."""
    values = ranking.indicators(body)
    now = utcnow()
    with store.write() as session:
        evaluation = get(session, evaluation_id)
        entry = _entry(session, evaluation_id, office_id)
        _require(evaluation, "declaration", *(("correction",) if entry.referred else ()))
        entry.declared, entry.declared_at = json.dumps(values), now
        entry.referred = False
        index = note(session, office_id=office_id, entry_type="evaluation_declared",
                     by="office", scope="office", now=now, evaluation=evaluation_id,
                     sha256=_digest(values))  # fmt: skip
    return {"evaluation": evaluation_id, "declared": values, "log_index": index}


def review(
    store: Store, scope: Scope, evaluation_id: str, office_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The region (or the regulator) reviews one office: corrected ``indicators`` (any of
    them), the provincial association's score, and ``refer`` to send it back for correction."""
    corrections = ranking.indicators(body.get("indicators") or {}, partial=True)
    association = body.get("association_score")
    if association is not None and (
        type(association) is not int or not 0 <= association <= ranking.ASSOCIATION_MAX
    ):
        raise InvalidRequest("association_score: 0-10", field="association_score")
    refer = bool(body.get("refer"))
    reason = redact_text(str(body.get("note") or "").strip())[:2000] or None
    now = utcnow()
    with store.write() as session:
        authority.office_for(session, scope, office_id, "evaluate")
        evaluation = get(session, evaluation_id)
        _require(evaluation, "review")
        entry = _entry(session, evaluation_id, office_id)
        declared = json.loads(entry.declared) if entry.declared else None
        if declared is None and not refer:
            raise WrongState("the office has not declared: refer it to declare in correction")
        reviewed = {**(declared or {}), **corrections}
        entry.reviewed = json.dumps(reviewed) if declared is not None else None
        entry.association_score = association
        entry.referred, entry.review_note = refer, reason
        entry.reviewed_by, entry.reviewed_at = scope.supervisor_id, now
        index = note(session, office_id=office_id, entry_type="evaluation_reviewed",
                     by=scope.supervisor_id, scope=scope.label, now=now,
                     evaluation=evaluation_id, corrected=sorted(corrections),
                     association_score=association, referred=refer)  # fmt: skip
    return {"evaluation": evaluation_id, "office": office_id, "reviewed": reviewed,
            "association_score": association, "referred": refer, "log_index": index}  # fmt: skip


def object_to(store: Store, office_id: str, evaluation_id: str, text: Any) -> dict[str, Any]:
    """The office objects to its result, in the objection window."""
    words = redact_text(str(text or "").strip())
    if not 3 <= len(words) <= 2000:
        raise InvalidRequest("text: 3-2000 characters", field="text")
    now = utcnow()
    with store.write() as session:
        evaluation = get(session, evaluation_id)
        _require(evaluation, "objection")
        entry = _entry(session, evaluation_id, office_id)
        if entry.objected_at is not None:
            raise WrongState("this office has objected to this evaluation already")
        entry.objection, entry.objected_at = words, now
        index = note(session, office_id=office_id, entry_type="evaluation_objected",
                     by="office", scope="office", now=now, evaluation=evaluation_id)  # fmt: skip
    return {"evaluation": evaluation_id, "objected": True, "log_index": index}


def rule(
    store: Store, scope: Scope, evaluation_id: str, office_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """The region (or the regulator) rules on an objection: ``uphold`` (the result stands) or
    corrected ``indicators`` / ``association_score``, with a ``reason``; before publication."""
    reason = redact_text(str(body.get("reason") or "").strip())
    if not 3 <= len(reason) <= 2000:
        raise InvalidRequest("reason: 3-2000 characters", field="reason")
    uphold = body.get("uphold") is True
    corrections = {} if uphold else ranking.indicators(body.get("indicators") or {}, partial=True)
    now = utcnow()
    with store.write() as session:
        authority.office_for(session, scope, office_id, "evaluate")
        evaluation = get(session, evaluation_id)
        if evaluation.published_at is not None:
            raise WrongState("the final ranking is published")
        entry = _entry(session, evaluation_id, office_id)
        if entry.objected_at is None or entry.ruled_at is not None:
            raise WrongState("no objection of this office waits for a ruling")
        if corrections:
            base = json.loads(entry.reviewed or entry.declared or "{}")
            entry.reviewed = json.dumps({**base, **corrections})
        if not uphold and "association_score" in body:
            entry.association_score = int(body["association_score"])
        entry.ruling = "upheld" if uphold else "corrected"
        entry.ruling_reason, entry.ruled_by, entry.ruled_at = reason, scope.supervisor_id, now
        index = note(session, office_id=office_id, entry_type="evaluation_objection_ruled",
                     by=scope.supervisor_id, scope=scope.label, now=now,
                     evaluation=evaluation_id, ruling=entry.ruling,
                     corrected=sorted(corrections))  # fmt: skip
    return {"evaluation": evaluation_id, "office": office_id, "ruling": entry.ruling,
            "log_index": index}  # fmt: skip


def _entries(session: Any, evaluation_id: str) -> dict[str, dict[str, Any]]:
    out = {}
    for e in session.scalars(
        select(EvaluationEntry).where(EvaluationEntry.evaluation_id == evaluation_id)
    ):
        chosen = e.reviewed or e.declared
        out[e.office_id] = {
            "indicators": json.loads(chosen) if chosen else None,
            "association": e.association_score,
            "objected": e.objected_at is not None,
            "ruling": e.ruling,
        }
    return out


def results(
    store: Store, evaluation_id: str, province: str, category: str | None, installed: int
) -> dict[str, Any]:
    """The ranking of ``province`` (and ``category``): the published one once final, a
    provisional one computed now from the objection window on, nothing before."""
    with store.read() as session:
        evaluation = get(session, evaluation_id)
        if evaluation.published_at is not None:
            final = json.loads(evaluation.final_ranking or "[]")
            rows = [r for r in final if r["province"] == province
                    and (category is None or r["category"] == category)]  # fmt: skip
            return {**describe(evaluation), "final": True, "ranking": rows}
        if window_now(evaluation) not in ("objection", "closed"):
            raise EvaluationWindowClosed(
                "the results are out when the objection window opens", window=window_now(evaluation)
            )
        entries = _entries(session, evaluation_id)
        start, end = _period(evaluation)
    rows = ranking.rank(store, entries, province, category, start, end, installed)
    for row in rows:
        row.update(
            province=province, objected=entries.get(row["office"], {}).get("objected", False)
        )
    return {**describe(evaluation), "final": False, "ranking": rows}


def _period(evaluation: Evaluation) -> tuple[dt.datetime, dt.datetime]:
    return (
        midnight_utc(evaluation.period_from),
        midnight_utc(evaluation.period_to + dt.timedelta(days=1)),
    )


def publish(store: Store, scope: Scope, evaluation_id: str, installed: int) -> dict[str, Any]:
    """The regulator freezes the final ranking of every province, once the objection window
    has closed and every objection is ruled on."""
    if scope.role != "regulator":
        raise Forbidden("only the regulator publishes the final ranking")
    with store.read() as session:
        evaluation = get(session, evaluation_id)
        _require(evaluation, "closed")
        if evaluation.published_at is not None:
            raise WrongState("the final ranking is published already")
        waiting = [o for o, e in _entries(session, evaluation_id).items()
                   if e["objected"] and e["ruling"] is None]  # fmt: skip
        if waiting:
            raise WrongState(f"objections wait for a ruling: {', '.join(sorted(waiting))}")
        provinces = sorted(set(session.scalars(select(Office.province).distinct())))
        entries = _entries(session, evaluation_id)
        start, end = _period(evaluation)
    final = []
    for province in provinces:
        for row in ranking.rank(store, entries, province, None, start, end, installed):
            final.append({**row, "province": province})
    now = utcnow()
    body = json.dumps(final, sort_keys=True, ensure_ascii=False)
    with store.write() as session:
        evaluation = get(session, evaluation_id)
        evaluation.final_ranking, evaluation.published_at = body, now
        evaluation.published_by = scope.supervisor_id
        index = append(
            session,
            {"v": ENTRY_VERSION, "type": "evaluation_published", "time": iso(now),
             "evaluation": evaluation_id, "offices": len(final),
             "sha256": hashlib.sha256(body.encode()).hexdigest(), "by": scope.supervisor_id},
            now,
        )  # fmt: skip
    return {"evaluation": evaluation_id, "offices": len(final), "log_index": index}


def rank_of(store: Store, office_id: str) -> dict[str, Any] | None:
    """The office's place in the newest published ranking (its province and category)."""
    with store.read() as session:
        latest = session.scalars(
            select(Evaluation)
            .where(Evaluation.published_at.is_not(None))
            .order_by(Evaluation.published_at.desc())
            .limit(1)
        ).first()
        if latest is None:
            return None
        for row in json.loads(latest.final_ranking or "[]"):
            if row["office"] == office_id:
                return {"evaluation": latest.id, "rank": row["rank"], "score": row["score"]}
    return None
