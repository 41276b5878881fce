"""``rest.call`` against a real HTTP server: success statuses and reply schemas from the
agency's OpenAPI (``$ref`` resolved), the agency's Persian message carried, a 201 no longer an
unknown outcome; and a reconcile that cannot reach the agency names the address it tried."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, jsonify
from werkzeug.serving import make_server

from pishkhan_gateway.errors import AgencyError, AgencyRejected, AgencyTimeout
from pishkhan_gateway.sdk import rest
from pishkhan_gateway.sdk.values import AgencyContext

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "fines", "version": "1"},
    "paths": {
        "/fines/{fine_id}/payments": {
            "post": {
                "responses": {
                    "201": {
                        "description": "paid",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Paid"}}
                        },
                    }
                }
            }
        },
        "/fines/{fine_id}": {
            "get": {
                "responses": {
                    "200": {
                        "description": "a fine",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Fine"}}
                        },
                    },
                    "204": {"description": "nothing to show"},
                }
            }
        },
    },
    "components": {
        "schemas": {
            "Paid": {
                "type": "object",
                "required": ["reference", "amount"],
                "properties": {"reference": {"type": "string"}, "amount": {"type": "integer"}},
            },
            "Fine": {
                "type": "object",
                "required": ["amount"],
                "properties": {"amount": {"$ref": "#/components/schemas/Rials"}},
            },
            "Rials": {"type": "integer", "minimum": 0},
        }
    },
}


@pytest.fixture
def agency() -> Iterator[dict[str, Any]]:
    """A fines agency whose next reply the test sets: ``(status, body)``."""
    app = Flask("fines")
    reply: dict[str, Any] = {"status": 200, "body": {}}

    @app.route("/<path:_path>", methods=["GET", "POST"])
    def answer(_path: str) -> Any:
        if reply["status"] == 204:
            return "", 204
        return jsonify(reply["body"]), reply["status"]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = AgencyContext("fines", f"http://127.0.0.1:{server.server_port}/", 5.0)
    yield {"context": context, "reply": reply}
    server.shutdown()


def pay(agency: dict[str, Any], status: int, body: Any) -> Any:
    agency["reply"].update(status=status, body=body)
    return rest.call(
        "payment", agency["context"], "POST", "fines/12/payments",
        openapi=OPENAPI, operation="/fines/{fine_id}/payments",
    )  # fmt: skip


def test_a_201_the_contract_lists_is_success_not_an_unknown_outcome(agency):
    assert pay(agency, 201, {"reference": "F-1", "amount": 500000}) == {
        "reference": "F-1",
        "amount": 500000,
    }
    with pytest.raises(AgencyTimeout):  # a 200 the contract does not list: unclear
        pay(agency, 200, {"reference": "F-1", "amount": 500000})
    agency["reply"].update(status=201, body={"reference": "F-2", "amount": 1})
    plain = rest.call("payment", agency["context"], "POST", "fines/12/payments")
    assert plain["reference"] == "F-2"  # without a contract any 2xx is success


def test_the_reply_is_checked_against_the_contract_with_refs(agency):
    with pytest.raises(AgencyTimeout, match="off its contract"):
        pay(agency, 201, {"reference": "F-1", "amount": 500000.5})  # money is never a float
    agency["reply"].update(status=200, body={"amount": -1})
    with pytest.raises(AgencyError, match="off its contract"):
        rest.call(
            "inquiry", agency["context"], "GET", "fines/12",
            openapi=OPENAPI, operation="/fines/{fine_id}",
        )  # fmt: skip
    agency["reply"].update(status=204, body=None)
    answer = rest.call(
        "inquiry", agency["context"], "GET", "fines/12",
        openapi=OPENAPI, operation="/fines/{fine_id}",
    )  # fmt: skip
    assert answer is None


def test_the_agencys_persian_message_reaches_the_counter(agency):
    with pytest.raises(AgencyRejected) as refused:
        pay(
            agency,
            404,
            {"error": "NO_FINE", "message": "no such fine", "message_fa": "جریمه‌ای نیست"},
        )
    problem = refused.value.problem()
    assert problem["agency_code"] == "NO_FINE"
    assert problem["agency_reason_fa"] == "جریمه‌ای نیست"


def test_an_operation_the_contract_lacks_is_a_plugin_bug(agency):
    with pytest.raises(ValueError, match="no POST /nowhere"):
        rest.call("payment", agency["context"], "POST", "x", openapi=OPENAPI, operation="/nowhere")


def test_reconcile_names_the_address_it_could_not_reach(client, gw, counter, sandbox):
    """The sandbox moved (here: the gateway points at a closed port): the settlement says where
    it looked, so an operator running ``reconcile`` sees the wrong address at once."""
    from conftest import pay_body
    from pishkhan_gateway.pipeline.reconcile import reconcile

    sandbox.faults("postbank", mode="drop_after_apply", times=1)
    answer = client.post("/v1/transactions", json=pay_body(), headers=counter.headers())
    assert answer.get_json()["outcome"] == "unknown"
    closed = "http://127.0.0.1:9/"
    gw.config["AGENCIES"]["postbank"]["url"] = closed
    settled = reconcile(gw)
    assert settled and settled[0].outcome == "unknown"
    assert closed in settled[0].detail
