"""The supervisors' API (and the public parts of the log: tree head, public key).

Every supervisor read and action is itself appended to the log, with the filters used (a
national code only as its pseudonym). Office credentials are refused here outright.
"""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, Response, current_app, request, stream_with_context

from pishkhan_gateway import ids, oversight, tariffchanges
from pishkhan_gateway.api import denials
from pishkhan_gateway.api.problem import json_body, json_response, object_body
from pishkhan_gateway.auditlog import notes
from pishkhan_gateway.errors import Forbidden, InvalidRequest
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.registry import supervisors
from pishkhan_gateway.registry.supervisors import Scope

bp = Blueprint("audit", __name__)
log = structlog.get_logger(__name__)
MAX_ENTRIES = 1000


def _gateway() -> Gateway:
    return current_app.extensions["pishkhan"]


def _supervisor(action: str, **details: Any) -> Scope:
    """Authenticate the supervisor and log the access before anything is read."""
    gw = _gateway()
    scope = supervisors.authenticate(gw.store, request.headers.get("Authorization"))
    denials.set_actor(supervisor=scope.supervisor_id)
    oversight.log_access(gw.store, scope, action, details)
    return scope


def _int(name: str, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None and default is not None:
        return default
    return ids.index(raw, name)


def _filters() -> oversight.Filters:
    return oversight.Filters.parse(request.args, _gateway().pseudonyms)


@bp.get("/v1/audit/tree-head")
def tree_head() -> Response:
    """The latest signed tree head (public: anyone may hold the gateway to it)."""
    gw = _gateway()
    return json_response(oversight.tree_head(gw.store, gw.sealer))


@bp.get("/v1/audit/public-key")
def public_key() -> Response:
    """The Ed25519 key that signs receipts and tree heads (PEM SubjectPublicKeyInfo); ``keys``
    lists it with every key rotated out before it (what older receipts and heads name)."""
    gw = _gateway()
    signer = gw.signer
    return json_response(
        {
            "key_id": signer.key_id,
            "algorithm": "Ed25519",
            "public_key": signer.public_pem,
            "keys": signer.public_keys(),
            # the C2SP verifier key of the log's checkpoints (/log/checkpoint), as Go's
            # golang.org/x/mod/sumdb/note.NewVerifier takes it
            "note_verifier_key": notes.vkey(gw.sealer.origin, notes.ED25519, signer.public_key),
            "origin": gw.sealer.origin,
        }
    )


@bp.get("/v1/audit/entries")
def entries() -> Response:
    """Entries [start, end) as exact bytes (base64), in order; out-of-scope ones are null."""
    start, end = _int("start"), _int("end")
    if not start < end <= start + MAX_ENTRIES:
        raise InvalidRequest(f"need start < end <= start + {MAX_ENTRIES}", field="end")
    scope = _supervisor("entries", start=start, end=end)
    out = oversight.entries_in_scope(_gateway().store, scope, start, end)
    return json_response({"start": start, "end": start + len(out), "entries": out})


@bp.get("/v1/audit/proof/inclusion")
@denials.own_record_lookup
def inclusion_proof() -> Response:
    """RFC 6962 audit path for the entry at ``index`` in the tree of ``tree_size``."""
    index, size = _int("index"), _int("tree_size")
    scope = _supervisor("proof_inclusion", index=index, tree_size=size)
    return json_response(oversight.inclusion(_gateway().store, index, size, scope))


@bp.get("/v1/audit/proof/consistency")
def consistency_proof() -> Response:
    """RFC 6962 consistency path between two signed tree sizes."""
    first, second = _int("first"), _int("second")
    _supervisor("proof_consistency", first=first, second=second)
    return json_response(oversight.consistency(_gateway().store, first, second))


@bp.get("/v1/audit/transactions")
def search() -> Response:
    """Transactions in scope, filtered, newest first, paged by ``cursor``."""
    filters = _filters()
    scope = _supervisor("search", **filters.described())
    return json_response(
        oversight.search(
            _gateway().store,
            scope,
            filters,
            limit=_int("limit", 100),
            cursor=request.args.get("cursor"),
        )
    )


@bp.get("/v1/audit/export")
def export() -> Response:
    """Transactions in scope as CSV or JSON lines, streamed."""
    filters = _filters()
    fmt = request.args.get("format", "csv")
    scope = _supervisor("export", format=fmt, **filters.described())
    body = oversight.export(_gateway().store, scope, filters, fmt)
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return Response(
        stream_with_context(body),
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename=pishkhan-transactions.{fmt}"},
    )


@bp.post("/v1/audit/transactions/<transaction_id>/reveal")
@denials.own_record_lookup
def reveal(transaction_id: str) -> Response:
    """The citizen's national code and mobile of one transaction, for the regulator only, with
    a stated reason; the request (who, which transaction, why) is logged before anything opens."""
    gw = _gateway()
    body = object_body()
    reason = str(body.get("reason", "")).strip()
    if not 10 <= len(reason) <= 2000:
        raise InvalidRequest("state the legal reason (10-2000 characters)", field="reason")
    scope = _supervisor("reveal_personal_data", transaction=transaction_id, reason=reason)
    if scope.role != "regulator":
        raise Forbidden("only the regulator may reveal personal data")
    revealed = oversight.reveal(gw.store, gw.vault, transaction_id)
    return json_response({"transaction_id": transaction_id, "reason": reason, **revealed})


@bp.get("/v1/audit/offices/<office_id>/scorecard")
@denials.own_record_lookup
def scorecard(office_id: str) -> Response:
    """Volumes, fees, violations, identity failures and error rates of one office."""
    filters = _filters()
    scope = _supervisor("scorecard", **{**filters.described(), "office": office_id})
    return json_response(oversight.scorecard(_gateway().store, scope, office_id, filters))


@bp.post("/v1/offices/<office_id>/<any(suspend, reinstate, revoke):action>")
def licence_action(office_id: str, action: str) -> Response:
    """Suspend, reinstate or revoke an office, with a reason (regulator or its province)."""
    body = object_body()
    scope = _supervisor("licence_" + action, office=office_id)
    return json_response(
        oversight.licence_action(
            _gateway().store, scope, office_id, action, str(body.get("reason", ""))
        )
    )


@bp.post("/v1/supervisors/credentials/revoke")
def revoke_supervisor_credential() -> Response:
    """The regulator revokes a supervisor credential: body ``{"credential": "psk_<id>",
    "reason": …}``; effective on its next request, recorded with the reason."""
    body = object_body()
    credential = str(body.get("credential", ""))[:200]
    scope = _supervisor("revoke_supervisor_credential", credential=credential.split(".")[0])
    return json_response(
        oversight.revoke_supervisor_key(
            _gateway().store, scope, credential, str(body.get("reason", ""))
        )
    )


@bp.post("/v1/tariffs")
def publish_tariffs() -> Response:
    """The regulator publishes a tariff schedule (the JSON form of a schedule file), and a
    provincial working group its province's (``"scope": "province:<name>"``); ``?amend=true``
    changes only the services it names, ``?drop=A,B`` stops pricing those."""
    gw = _gateway()
    document = json_body()
    if not isinstance(document, dict):
        _supervisor("tariffs_publish")
        raise InvalidRequest("send the schedule as a JSON object")
    scope = _supervisor(
        "tariffs_publish", effective=document.get("effective"), scope=document.get("scope")
    )
    _may_set_tariffs(scope, document.get("scope"))
    drop = [s for s in request.args.get("drop", "").split(",") if s]
    schedule = tariffchanges.publish(
        gw.tariffs,
        document,
        amend=request.args.get("amend") in ("1", "true", "yes"),
        drop=drop,
        by=scope.supervisor_id,
    )
    return json_response(
        {
            "name": schedule.name,
            "effective": schedule.effective_jalali,
            "services": len(schedule.caps),
            "amends": schedule.document.get("amends"),
            "dropped": schedule.document.get("dropped", []),
        },
        201,
    )


@bp.post("/v1/tariffs/withdraw")
def withdraw_tariffs() -> Response:
    """The regulator (or a province, its own schedule) withdraws a schedule not yet in force,
    or loaded today by mistake: ``{"effective": "1405-10-01", "reason": …, "scope": …}``."""
    gw = _gateway()
    body = object_body()
    tariff_scope = str(body.get("scope") or "national")[:80]
    scope = _supervisor(
        "tariffs_withdraw", effective=str(body.get("effective"))[:20], scope=tariff_scope
    )
    _may_set_tariffs(scope, tariff_scope)
    return json_response(
        tariffchanges.withdraw(
            gw.tariffs,
            str(body.get("effective", "")),
            str(body.get("reason", "")),
            by=scope.supervisor_id,
            scope=tariff_scope,
        )
    )


def _may_set_tariffs(scope: Scope, tariff_scope: Any) -> None:
    """The regulator sets any schedule; a province's working group only its own province's."""
    if scope.role == "regulator":
        return
    if scope.role == "province" and tariff_scope == f"province:{scope.name}":
        return
    raise Forbidden(
        "only the regulator sets the national tariff, and a province's working group its province's"
    )
