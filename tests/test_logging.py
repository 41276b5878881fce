"""Logs: JSON, with a request id, and never a national code or mobile in plain text."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from conftest import CITIZEN, OPERATOR, pay_body
from pishkhan_gateway.logs import redact_text
from pishkhan_gateway.store.tables import LogEntry, Operator, Transaction


def test_redaction_catches_national_codes_and_mobiles_in_any_digits():
    text = f"code {CITIZEN} mob 09121234567 +989121234567 fa ۰۴۹۹۳۷۰۸۹۹ bill 1117753200140"
    redacted = redact_text(text)
    assert CITIZEN not in redacted and "9121234567" not in redacted
    assert "۰۴۹۹۳۷۰۸۹۹" not in redacted
    assert "1117753200140" in redacted  # a 13-digit bill id is not personal data


def test_log_lines_are_json_with_the_request_id_and_no_personal_data(client, counter, gw, capfd):
    body = pay_body()
    body["citizen"]["mobile"] = "09121234567"
    logging.getLogger("test").warning("operator %s slipped into a message", OPERATOR)
    client.post(
        "/v1/transactions", json=body, headers={**counter.headers(), "X-Request-Id": "rid-123"}
    )
    client.post("/v1/transactions", json=pay_body(fee=10**9), headers=counter.headers())
    err = capfd.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines, err
    assert any(
        line.get("request_id") == "rid-123" and line["event"] == "transaction" for line in lines
    )
    for personal in (CITIZEN, OPERATOR, "09121234567"):
        assert personal not in err
    with gw.store.read() as session:
        stored = [
            repr(row.__dict__)
            for model in (Transaction, Operator)
            for row in session.scalars(select(model))
        ]
        stored += [entry.decode() for entry in session.scalars(select(LogEntry.entry))]
    for personal in (CITIZEN, OPERATOR, "09121234567"):
        assert not any(personal in text for text in stored)


def test_a_refused_agency_connection_names_the_address_tried_and_no_path(capfd):
    """An operator whose agency or sandbox moved sees where the gateway looked; the path (which
    may hold a mobile number) stays out of the log."""
    import socket

    from pishkhan_gateway.errors import AgencyUnavailable
    from pishkhan_gateway.sdk import rest
    from pishkhan_gateway.sdk.values import AgencyContext

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    agency = AgencyContext(name="telecom", url=f"http://127.0.0.1:{port}/", timeout=1.0)
    with pytest.raises(AgencyUnavailable):
        rest.call("inquiry", agency, "GET", "v1/mobiles/09121234567")
    err = capfd.readouterr().err
    failed = [json.loads(line) for line in err.splitlines() if "agency_call_failed" in line]
    assert failed and failed[0]["address"] == f"http://127.0.0.1:{port}"
    assert "09121234567" not in err
