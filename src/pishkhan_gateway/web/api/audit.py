"""The supervisors' API (and the public parts of the log: tree head, public key).

Every supervisor read and action is itself appended to the log, with the filters used (a
national code only as its pseudonym). Office credentials are refused here outright.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, stream_with_context

from pishkhan_gateway import errors
from pishkhan_gateway.auditlog import notes
from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.records import reads, scorecards
from pishkhan_gateway.records import search as searches
from pishkhan_gateway.regulation import licences as licence_actions
from pishkhan_gateway.web import denials
from pishkhan_gateway.web.operations import PUBLIC, SUPERVISORS, Call, operation, supervisors_of
from pishkhan_gateway.web.shapes import (
    CURSOR,
    INCLUSION_PROOF,
    LOG_INDEX,
    OFFICE_ID,
    REASON,
    SEARCH_QUERY,
    TRANSACTION_ID,
    array,
    nullable,
    obj,
    text,
)

bp = Blueprint("audit", __name__)
MAX_ENTRIES = 1000
TAGS = ("supervisors",)
TREE_HEAD = obj(
    {
        "tree_size": {"type": "integer", "minimum": 0},
        "root_hash": {"type": "string"},
        "timestamp": {"type": "string"},
        "key_id": {"type": "string"},
        "signature": {"type": "string"},
    },
    "tree_size",
    "root_hash",
    "signature",
    extra=True,
)
AUDIT_ROW = obj(
    {
        "log_index": LOG_INDEX,
        "transaction_id": TRANSACTION_ID,
        "time": {"type": "string"},
        "office_id": {"type": ["string", "null"]},
        "service": {"type": ["string", "null"]},
        "outcome": {"type": "string"},
        "code": {"type": ["string", "null"]},
        "citizen": {"type": ["string", "null"], "description": "a pseudonym, never the code"},
    },
    "log_index",
    "transaction_id",
    extra=True,
)
SCORECARD = obj({"office": {"type": ["string", "object"]}}, extra=True)


def _filters(call: Call) -> searches.Filters:
    return searches.Filters.parse(call.query, call.gateway.pseudonyms)


@operation(
    bp,
    "GET",
    "/v1/audit/tree-head",
    summary="The latest signed tree head",
    audience=PUBLIC,
    tags=("log",),
    response=TREE_HEAD,
    problems=(errors.NotFound,),
)
def tree_head(call: Call) -> Any:
    """The latest signed tree head (public: anyone may hold the gateway to it)."""
    return reads.tree_head(call.gateway.store, call.gateway.sealer)


@operation(
    bp,
    "GET",
    "/v1/audit/public-key",
    summary="The gateway's Ed25519 public key",
    audience=PUBLIC,
    tags=("log",),
    response=obj(
        {
            "key_id": {"type": "string"},
            "algorithm": {"const": "Ed25519"},
            "public_key": {"type": "string", "description": "PEM SubjectPublicKeyInfo"},
            "keys": array(
                obj(
                    {
                        "key_id": {"type": "string"},
                        "algorithm": {"const": "Ed25519"},
                        "public_key": {"type": "string"},
                        "current": {"type": "boolean"},
                    },
                    "key_id",
                    "algorithm",
                    "public_key",
                    "current",
                ),
                1000,
            ),
            "note_verifier_key": {"type": "string"},
            "origin": {"type": "string"},
        },
        "key_id",
        "public_key",
        "note_verifier_key",
    ),
)
def public_key(call: Call) -> Any:
    """The Ed25519 key that signs receipts and tree heads (PEM SubjectPublicKeyInfo); ``keys``
    lists it with every key rotated out before it (what older receipts and heads name)."""
    gw = call.gateway
    signer = gw.signer
    return {
        "key_id": signer.key_id,
        "algorithm": "Ed25519",
        "public_key": signer.public_pem,
        "keys": signer.public_keys(),
        # the C2SP verifier key of the log's checkpoints (/log/checkpoint), as Go's
        # golang.org/x/mod/sumdb/note.NewVerifier takes it
        "note_verifier_key": notes.vkey(gw.sealer.origin, notes.ED25519, signer.public_key),
        "origin": gw.sealer.origin,
    }


@operation(
    bp,
    "GET",
    "/v1/audit/entries",
    summary="Log entries [start, end) as exact bytes",
    audience=SUPERVISORS,
    tags=TAGS,
    query={"start": LOG_INDEX, "end": LOG_INDEX},
    required_query=("start", "end"),
    response=obj(
        {
            "start": LOG_INDEX,
            "end": LOG_INDEX,
            "entries": array(nullable({"type": "string", "contentEncoding": "base64"}), 1000),
        },
        "start",
        "end",
        "entries",
    ),
)
def entries(call: Call) -> Any:
    """Entries [start, end) as exact bytes (base64), in order; out-of-scope ones are null."""
    start, end = call.query["start"], call.query["end"]
    if not start < end <= start + MAX_ENTRIES:
        raise InvalidRequest(f"need start < end <= start + {MAX_ENTRIES}", field="end")
    scope = call.supervisor("entries", start=start, end=end)
    out = reads.entries_in_scope(call.gateway.store, scope, start, end)
    return {"start": start, "end": start + len(out), "entries": out}


@operation(
    bp,
    "GET",
    "/v1/audit/proof/inclusion",
    summary="RFC 6962 inclusion proof",
    audience=SUPERVISORS,
    tags=TAGS,
    query={"index": LOG_INDEX, "tree_size": LOG_INDEX},
    required_query=("index", "tree_size"),
    response=INCLUSION_PROOF,
    problems=(errors.NotFound,),
)
@denials.own_record_lookup
def inclusion_proof(call: Call) -> Any:
    """RFC 6962 audit path for the entry at ``index`` in the tree of ``tree_size``."""
    index, size = call.query["index"], call.query["tree_size"]
    scope = call.supervisor("proof_inclusion", index=index, tree_size=size)
    return reads.inclusion(call.gateway.store, index, size, scope)


@operation(
    bp,
    "GET",
    "/v1/audit/proof/consistency",
    summary="RFC 6962 consistency proof",
    audience=SUPERVISORS,
    tags=TAGS,
    query={"first": LOG_INDEX, "second": LOG_INDEX},
    required_query=("first", "second"),
    response=obj(
        {
            "first": LOG_INDEX,
            "second": LOG_INDEX,
            "consistency_path": array({"type": "string"}, 128),
        },
        "first",
        "second",
        "consistency_path",
    ),
    problems=(errors.NotFound,),
)
def consistency_proof(call: Call) -> Any:
    """RFC 6962 consistency path between two signed tree sizes."""
    first, second = call.query["first"], call.query["second"]
    call.supervisor("proof_consistency", first=first, second=second)
    return reads.consistency(call.gateway.store, first, second)


@operation(
    bp,
    "GET",
    "/v1/audit/transactions",
    summary="Transactions in scope, filtered, newest first",
    audience=SUPERVISORS,
    tags=TAGS,
    query={
        **SEARCH_QUERY,
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
        "cursor": CURSOR,
    },
    response=obj(
        {"items": array(AUDIT_ROW, 1000), "next_cursor": nullable(CURSOR)}, "items", "next_cursor"
    ),
)
def search(call: Call) -> Any:
    """Transactions in scope, filtered, newest first, paged by ``cursor``."""
    filters = _filters(call)
    scope = call.supervisor("search", **filters.described())
    return searches.search(
        call.gateway.store,
        scope,
        filters,
        limit=call.query.get("limit", 100),
        cursor=call.query.get("cursor"),
    )


@operation(
    bp,
    "GET",
    "/v1/audit/export",
    summary="Transactions in scope as CSV or JSON lines, streamed",
    audience=SUPERVISORS,
    tags=TAGS,
    query={**SEARCH_QUERY, "format": {"enum": ["csv", "jsonl"], "default": "csv"}},
    response={"type": "string"},
    other_content={
        "text/csv": "the default (spreadsheet-safe cells)",
        "application/x-ndjson": "with ?format=jsonl",
    },
)
def export(call: Call) -> Response:
    """Transactions in scope as CSV or JSON lines, streamed."""
    filters = _filters(call)
    fmt = call.query.get("format", "csv")
    scope = call.supervisor("export", format=fmt, **filters.described())
    body = searches.export(call.gateway.store, scope, filters, fmt)
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    return Response(
        stream_with_context(body),
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename=pishkhan-transactions.{fmt}"},
    )


@operation(
    bp,
    "POST",
    "/v1/audit/transactions/<transaction_id>/reveal",
    summary="Reveal a transaction's personal data (the regulator, with a legal reason)",
    audience=supervisors_of("regulator"),
    tags=TAGS,
    path={"transaction_id": TRANSACTION_ID},
    body=obj({"reason": text(10, 2000)}, "reason"),
    response=obj(
        {
            "transaction_id": TRANSACTION_ID,
            "reason": {"type": "string"},
            "national_code": {"type": ["string", "null"]},
            "mobile": {"type": ["string", "null"]},
        },
        "transaction_id",
        "reason",
        extra=True,
    ),
    problems=(errors.NotFound,),
    example={"reason": "court order 1404/123 of the Tehran public prosecutor"},
)
@denials.own_record_lookup
def reveal(call: Call) -> Any:
    """The citizen's national code and mobile of one transaction, for the regulator only, with
    a stated reason; the request (who, which transaction, why) is logged before anything opens."""
    transaction_id = call.path["transaction_id"]
    reason = call.body["reason"].strip()
    if len(reason) < 10:
        raise InvalidRequest("state the legal reason (10-2000 characters)", field="reason")
    call.supervisor("reveal_personal_data", transaction=transaction_id, reason=reason)
    revealed = reads.reveal(call.gateway.store, call.gateway.vault, transaction_id)
    return {"transaction_id": transaction_id, "reason": reason, **revealed}


@operation(
    bp,
    "GET",
    "/v1/audit/offices/<office_id>/scorecard",
    summary="One office's volumes, fees, violations and error rates",
    audience=SUPERVISORS,
    tags=TAGS,
    path={"office_id": OFFICE_ID},
    query={k: v for k, v in SEARCH_QUERY.items() if k != "office"},
    response=SCORECARD,
    problems=(errors.NotFound,),
)
@denials.own_record_lookup
def scorecard(call: Call) -> Any:
    """Volumes, fees, violations, identity failures and error rates of one office."""
    office_id = call.path["office_id"]
    filters = _filters(call)
    scope = call.supervisor("scorecard", **{**filters.described(), "office": office_id})
    return scorecards.scorecard(call.gateway.store, scope, office_id, filters)


@operation(
    bp,
    "POST",
    "/v1/supervisors/credentials/revoke",
    summary="Revoke a supervisor credential (the regulator)",
    audience=supervisors_of("regulator"),
    tags=TAGS,
    body=obj(
        {
            "credential": {
                "type": "string",
                "pattern": r"^psk_[0-9a-fA-F]{16}(\..*)?$",
                "examples": ["psk_0123456789abcdef"],
            },
            "reason": REASON,
        },
        "credential",
        "reason",
    ),
    response=obj(
        {
            "credential": {"type": "string"},
            "supervisor": {"type": "string"},
            "revoked": {"const": True},
            "log_index": LOG_INDEX,
        },
        "credential",
        "revoked",
    ),
    problems=(errors.NotFound,),
)
def revoke_supervisor_credential(call: Call) -> Any:
    """The regulator revokes a supervisor credential (``psk_<id>``, with or without its
    secret); effective on its next request, recorded with the reason."""
    credential = call.body["credential"][:200]
    scope = call.supervisor("revoke_supervisor_credential", credential=credential.split(".")[0])
    return licence_actions.revoke_supervisor_key(
        call.gateway.store, scope, credential, call.body["reason"]
    )
