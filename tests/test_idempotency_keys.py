"""Idempotency keys are stored keyed-hashed (an office may put a national code in one), and a key
is found under every form it was stored in: its pseudonym under any key of the keyring, or as sent
by rows from before keys were hashed. (Across a pseudonym-key rotation:
``test_secrets.py::test_rotating_every_key_keeps_old_receipts_heads_records_and_searches``.)"""

from __future__ import annotations

from sqlalchemy import select, update

from conftest import pay_body
from pishkhan_gateway.pipeline import replays
from pishkhan_gateway.store.tables import IdempotencyRecord, Transaction


def test_a_key_is_stored_keyed_hashed_never_as_sent(client, counter, gw):
    sent = "0499370899-pay"
    assert (
        client.post("/v1/transactions", json=pay_body(), headers=counter.headers(sent)).status_code
        == 201
    )
    with gw.store.read() as session:
        stored = session.scalars(select(IdempotencyRecord.key)).all()
        kept = session.scalars(select(Transaction.idempotency_key)).all()
    expected = gw.pseudonyms.idempotency_key("office-1", sent)
    assert stored == [expected] and kept == [expected]
    assert all(sent not in value for value in (*stored, *kept))


def test_a_key_stored_as_sent_before_hashing_still_answers_its_first_request(
    client, counter, gw, sandbox
):
    first = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("old-1"))
    with gw.store.write() as session:  # as the gateway stored it before 2026-12-02: the key
        # as sent, and (as until 2026-12-08) the answer in plain
        session.execute(
            update(IdempotencyRecord).values(key="old-1", response_body=first.get_data())
        )
    replays.seal_plain(gw.store, gw.vault)  # what db upgrade does
    again = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("old-1"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert sandbox.state("postbank")["calls"]["PayBill"] == 1


def test_the_same_key_at_two_offices_is_two_keys(client, counter, gw):
    from conftest import open_counter

    other = open_counter(gw, "office-2")
    one = client.post("/v1/transactions", json=pay_body(), headers=counter.headers("k"))
    two = client.post("/v1/transactions", json=pay_body(), headers=other.headers("k"))
    assert one.status_code == 201 and "Idempotent-Replayed" not in two.headers
