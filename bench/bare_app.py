"""Baseline (1) of ``make bench``: a bare Flask endpoint returning a receipt-sized JSON — what
this stack (gunicorn + Flask + JSON) can do at all, before the gateway does any work."""

from __future__ import annotations

import json

from flask import Flask, Response

RECEIPT = json.dumps(
    {
        "transaction_id": "tx_01a20cbdfb77d3e93a4f2243bc330cb5",
        "status": "succeeded",
        "service": "bench.noop.inquiry",
        "result": {"echo": "x" * 64},
        "agency_reference": None,
        "agency_amount": 0,
        "office_fee": 0,
        "total": 0,
        "fee_cap": 0,
        "log_index": 123456,
        "receipt": {
            "type": "pishkhan.receipt.v1",
            "transaction_id": "tx_01a20cbdfb77d3e93a4f2243bc330cb5",
            "office": {"id": "bench-office", "name": "دفتر سنجش", "licence_no": "B-1"},
            "service": {"id": "bench.noop.inquiry", "title_fa": "استعلام سنجش"},
            "time_utc": "2026-11-24T08:48:27.123Z",
            "time_jalali": "1405/09/03 12:18:27",
            "agency_amount": 0,
            "office_fee": 0,
            "total": 0,
            "log_index": 123456,
            "key_id": "25c8" * 16,
            "signature": "A" * 88,
        },
    },
    ensure_ascii=False,
).encode()

app = Flask("bare")


@app.route("/v1/transactions", methods=["GET", "POST"])
def receipt() -> Response:
    return Response(RECEIPT, status=201, mimetype="application/json")


@app.get("/v1/ready")
def ready() -> Response:
    return Response(b"{}", mimetype="application/json")
