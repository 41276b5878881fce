"""Keys: files only the gateway's user may read; AES-GCM seals bound to their row; rotation of the
signing, encryption and pseudonym keys without losing old receipts, heads, records or searches.
(That no key reaches a log line, row, export or response is in test_personal_data.)"""

from __future__ import annotations

import base64
import os
import stat

import pytest
from sqlalchemy import update

from conftest import BILL_2, CITIZEN, make_app, pay_body
from pishkhan_gateway.crypto.keyfiles import KeyFileError
from pishkhan_gateway.crypto.vault import Vault
from pishkhan_gateway.registry import supervisors
from pishkhan_gateway.store.tables import Transaction
from test_reference_agencies import FULL_CITIZEN

KEY_FILES = ("signing-key.pem", "pseudonym.key", "encryption.key", "session.key")
HISTORY = "insurance.socialsecurity.history"  # level 2: the citizen's national code is sealed


def test_key_files_are_created_private(app, tmp_path):
    for name in KEY_FILES:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize("name", KEY_FILES)
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620])
def test_a_key_file_others_may_read_is_refused_at_start(
    app, db_url, tmp_path, plugins, sandboxes, name, mode
):
    os.chmod(tmp_path / name, mode)
    with pytest.raises(KeyFileError, match=f"chmod 600 .*{name}"):
        make_app(db_url, tmp_path, plugins, sandboxes)


def test_an_encrypted_value_is_fresh_each_time_and_bound_to_its_row():
    vault = Vault([os.urandom(32)])
    one, two = vault.encrypt("tx_a", {"national_code": CITIZEN}), vault.encrypt("tx_a", {"x": 1})
    raw_one, raw_two = base64.b64decode(one), base64.b64decode(two)
    assert raw_one[9:21] != raw_two[9:21]  # a fresh 96-bit nonce per record
    nonces = {base64.b64decode(vault.encrypt("tx_a", {}))[9:21] for _ in range(1000)}
    assert len(nonces) == 1000
    assert vault.decrypt("tx_a", one) == {"national_code": CITIZEN}
    with pytest.raises(ValueError, match="does not open"):
        vault.decrypt("tx_b", one)  # moved to another row
    flipped = bytearray(raw_one)
    flipped[-1] ^= 1
    with pytest.raises(ValueError):
        vault.decrypt("tx_a", base64.b64encode(bytes(flipped)).decode())
    with pytest.raises(ValueError, match="does not hold"):
        Vault([os.urandom(32)]).decrypt("tx_a", one)


def _regulator(gw) -> dict[str, str]:
    supervisors.add(gw.store, "reg", "regulator", None)
    return {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'reg')}"}


def _history(client, counter) -> str:
    body = {"service": HISTORY, "citizen": FULL_CITIZEN, "params": {}, "office_fee": 0}
    reply = client.post("/v1/transactions", json=body, headers=counter.headers())
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["transaction_id"]


def _reveal(client, auth, transaction_id):
    return client.post(
        f"/v1/audit/transactions/{transaction_id}/reveal",
        json={"reason": "court order 1405/77, this transaction"},
        headers=auth,
    )


def test_a_seal_moved_to_another_row_does_not_open(client, gw, counter, sandbox):
    first, second = _history(client, counter), _history(client, counter)
    with gw.store.read() as session:
        sealed = session.get(Transaction, first).citizen_encrypted
    with gw.store.write() as session:
        session.execute(
            update(Transaction).where(Transaction.id == second).values(citizen_encrypted=sealed)
        )
    auth = _regulator(gw)
    assert _reveal(client, auth, first).get_json()["national_code"] == CITIZEN
    moved = _reveal(client, auth, second)
    assert moved.status_code == 500 and moved.get_json()["code"] == "sealed_data_invalid"


def _restart(app, db_url, tmp_path, plugins, sandboxes):
    app.extensions["pishkhan"].store.dispose()
    fresh = make_app(db_url, tmp_path, plugins, sandboxes)
    return fresh, fresh.extensions["pishkhan"], fresh.test_client()


def test_rotating_every_key_keeps_old_receipts_heads_records_and_searches(
    app, client, gw, counter, runner, db_url, tmp_path, plugins, sandboxes, sandbox
):
    auth = _regulator(gw)
    before = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("k-rot"))
    old_receipt = before.get_json()["receipt"]
    old_history = _history(client, counter)
    gw.sealer.seal_all()
    old_pem = (tmp_path / "signing-key.pem").read_bytes()

    for kind in ("signing", "encryption", "pseudonym"):
        result = runner.invoke(args=["keys", "rotate", kind])
        assert result.exit_code == 0 and "retired" in result.stderr, result.output
    retired = sorted(p.name for p in tmp_path.glob("*.retired"))
    assert len(retired) == 3
    signing_retired = next(tmp_path.glob("signing-key.pem.*.retired")).read_bytes()
    assert b"PUBLIC KEY" in signing_retired and b"PRIVATE" not in signing_retired
    assert old_pem not in (tmp_path / "signing-key.pem").read_bytes()
    for path in tmp_path.glob("*.retired"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    app, gw, client = _restart(app, db_url, tmp_path, plugins, sandboxes)
    # the operator registered before the pseudonym key changed still works the counter
    after = client.post("/v1/transactions", json=pay_body(BILL_2), headers=counter.headers())
    assert after.status_code == 201, after.get_json()
    new_receipt = after.get_json()["receipt"]
    assert new_receipt["key_id"] != old_receipt["key_id"]
    for receipt in (old_receipt, new_receipt):
        assert client.post("/v1/receipts/verify", json=receipt).get_json()["valid"]
    listed = client.get("/v1/audit/public-key").get_json()
    assert [k["key_id"] for k in listed["keys"]] == [new_receipt["key_id"], old_receipt["key_id"]]
    # a key claimed under the old pseudonym key still answers its first request
    again = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("k-rot"))
    assert (
        again.headers.get("Idempotent-Replayed") == "true" and again.get_json() == before.get_json()
    )
    # the agency's result, encrypted under the old encryption key, still opens
    shown = client.get(
        f"/v1/transactions/{old_receipt['transaction_id']}", headers=counter.headers()
    )
    assert shown.get_json()["result"] == before.get_json()["result"]
    # heads signed before and after the rotation verify, in the database and offline
    new_history = _history(client, counter)
    gw.sealer.seal_all()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify", "--deep"]).exit_code == 0
    exported = tmp_path / "log.jsonl"
    runner.invoke(args=["audit", "export", str(exported)])
    assert runner.invoke(args=["audit", "verify", "--export", str(exported)]).exit_code == 0
    # records sealed under the old and the new encryption key both open
    for transaction_id in (old_history, new_history):
        assert _reveal(client, auth, transaction_id).get_json()["national_code"] == CITIZEN
    # a search by national code finds what was recorded under the old and the new pseudonym key
    found = client.get(f"/v1/audit/transactions?national_code={CITIZEN}", headers=auth)
    ids = {t["transaction_id"] for t in found.get_json()["items"]}
    assert {old_history, new_history} <= ids
    listing = runner.invoke(args=["keys", "list"]).stdout
    assert listing.count("retired: -") == 0 and "signing" in listing
    app.extensions["pishkhan"].store.dispose()


def test_without_the_retired_key_old_records_stay_closed(
    app, client, gw, counter, runner, db_url, tmp_path, plugins, sandboxes, sandbox
):
    old = _history(client, counter)
    assert runner.invoke(args=["keys", "rotate", "encryption"]).exit_code == 0
    for path in tmp_path.glob("encryption.key.*.retired"):
        path.unlink()  # the old key destroyed: what it sealed is gone for good
        key_id = path.name.split(".")[2]
        # said on purpose (else a host missing it refuses to start: test_keyring_and_sealing)
        forgotten = runner.invoke(args=["keys", "forget", "encryption", key_id])
        assert forgotten.exit_code == 0, forgotten.output
    app, gw, client = _restart(app, db_url, tmp_path, plugins, sandboxes)
    closed = _reveal(client, _regulator(gw), old)
    assert closed.get_json()["code"] == "sealed_data_invalid"
    app.extensions["pishkhan"].store.dispose()
