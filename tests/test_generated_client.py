"""The document is a contract a client can be built from: ``openapi-python-client`` (a generator
we did not write) turns the gateway's own ``/openapi.json`` into a typed client, and that client,
used as an office's and a supervisor's programmers would use it, pays the sample bill with an
Idempotency-Key (its 201 parsed, its replay the same answer), is refused over the tariff with a
parsed problem, fetches the receipt and its inclusion proof, and runs a supervisor's search and a
scorecard — each answer parsed into the generated model, not left as raw JSON."""

from __future__ import annotations

import base64
import importlib
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import OPERATOR, pay_body
from pishkhan_gateway.auditlog import merkle
from pishkhan_gateway.registry import supervisors

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def generated(client, tmp_path: Path):
    """The client package generated from this app's document, imported."""
    spec = tmp_path / "openapi.json"
    spec.write_text(client.get("/openapi.json").get_data(as_text=True), encoding="utf-8")
    package = tmp_path / "pishkhan_client"
    bin_dir = Path(sys.executable).parent
    command = [str(bin_dir / "openapi-python-client"), "generate", "--path", str(spec)]
    done = subprocess.run(
        [*command, "--output-path", str(package), "--meta", "none"],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "Warning" not in said and "WARNING" not in said, said  # every schema understood
    sys.path.insert(0, str(tmp_path))
    try:
        for name in [m for m in sys.modules if m.split(".")[0] == "pishkhan_client"]:
            del sys.modules[name]
        yield importlib.import_module("pishkhan_client")
    finally:
        sys.path.remove(str(tmp_path))


def _client(generated, app, token: str):
    return generated.AuthenticatedClient(
        base_url="http://gateway.test",
        token=token,
        raise_on_unexpected_status=True,  # an answer the document does not name fails loudly
        httpx_args={"transport": httpx.WSGITransport(app=app)},
    )


def test_a_generated_client_pays_checks_and_supervises(generated, app, gw, counter):
    from pishkhan_client.api.counter import create_transaction, receipt, transaction_proof
    from pishkhan_client.api.supervisors import scorecard, search
    from pishkhan_client.models import CreateTransactionBody, Problem, Receipt, Transaction

    office = _client(generated, app, counter.credential)
    body = CreateTransactionBody.from_dict(pay_body())
    paid = create_transaction.sync_detailed(
        client=office, body=body, x_operator=OPERATOR, idempotency_key="gen-client-1"
    )
    assert paid.status_code == 201
    assert isinstance(paid.parsed, Transaction), paid.content[:300]
    tx = paid.parsed
    assert tx.status == "succeeded" and tx.total == tx.agency_amount + tx.office_fee
    # the retry a client makes after a lost answer: the same transaction, not a second payment
    again = create_transaction.sync_detailed(
        client=office, body=body, x_operator=OPERATOR, idempotency_key="gen-client-1"
    )
    assert isinstance(again.parsed, Transaction)
    assert again.parsed.transaction_id == tx.transaction_id

    over = create_transaction.sync_detailed(
        client=office,
        body=CreateTransactionBody.from_dict(pay_body(fee=10_000_000)),
        x_operator=OPERATOR,
        idempotency_key="gen-client-2",
    )
    assert over.status_code == 422
    assert over.parsed.code == "tariff_exceeded", over.content[:300]
    assert not isinstance(over.parsed, Transaction)

    signed = receipt.sync(tx.transaction_id, client=office)
    assert isinstance(signed, Receipt), signed
    assert signed.transaction_id == tx.transaction_id and signed.total == tx.total
    assert signed.signature and signed.log_index == tx.log_index
    proof = transaction_proof.sync(tx.transaction_id, client=office)
    assert proof is not None and not isinstance(proof, Problem)
    shown = proof.to_dict()
    assert shown["log_index"] == tx.log_index
    head = shown["tree_head"]  # the proof checks out under the signed head it names
    leaf = merkle.leaf_hash(base64.b64decode(shown["entry"]))  # the entry's bytes, hashed here
    assert leaf.hex() == shown["leaf_hash"]
    assert merkle.verify_inclusion(
        leaf,
        shown["log_index"],
        head["tree_size"],
        [bytes.fromhex(h) for h in shown["audit_path"]],
        bytes.fromhex(head["root_hash"]),
    )

    supervisors.add(gw.store, "gen-regulator", "regulator", None)
    regulator = _client(generated, app, supervisors.issue_key(gw.store, "gen-regulator"))
    found = search.sync(client=regulator, office=counter.office_id, limit=10)
    ids = [item.transaction_id for item in found.items]
    assert tx.transaction_id in ids and over.parsed.transaction_id in ids
    card = scorecard.sync(counter.office_id, client=regulator)
    assert not isinstance(card, (dict, Problem)), card  # parsed into its model
    figures = card.to_dict()
    assert figures["office"]["id"] == counter.office_id
    assert figures["transactions"] == 2 and figures["outcomes"]["succeeded"] == 1, figures
