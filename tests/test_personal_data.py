"""Personal data never leaves in plain text: after a counter day through every service and every
identity refusal, an unknown outcome reconciled, an Idempotency-Key holding a national code,
supervisor searches and exports, no national code
or mobile of the sample people appears in any log line, stored row, export or response body — in
ASCII or in Persian digits — no surname or employer the agencies answered appears in any log
line, stored row (every table, every column: replayable answers included) or export, and no key
(signing, pseudonym, encryption, session) appears there in any encoding — appointments booked and
complaints filed included. (Sandboxes are the agencies' side and are not scanned.)"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, select

from conftest import OPERATOR, OTHER_OPERATOR, open_counter
from pishkhan_gateway.jalali import ascii_digits, format_date
from pishkhan_gateway.registry import offices, supervisors
from test_reference_agencies import FULL_CITIZEN, NINE, send_otp, transact

SAMPLE_CODES = ["0499370899", "0684159414", "0963695398", "0650451252", OPERATOR, OTHER_OPERATOR]
SAMPLE_MOBILES = ["09121234567", "09122223344", "09351112233"]
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _forms() -> list[str]:
    values = SAMPLE_CODES + SAMPLE_MOBILES + [m[1:] for m in SAMPLE_MOBILES]
    return values + [v.translate(PERSIAN) for v in values]


def _leaks(text: str) -> list[str]:
    return [v for v in _forms() if v in text]


def _names() -> list[str]:
    """The sample people's surnames and employers, from the sandboxes' own data: what an agency
    answers to the office (in its response, rightly) and the gateway must not keep in plain."""
    from pishkhan_civilregistry.sandbox import sample_people
    from pishkhan_insurance.sandbox import RECORDS

    people = [p["last_name"] for p in sample_people().values()]
    return people + [job["Name"] for jobs in RECORDS.values() for job in jobs]


def _kept(text: str) -> list[str]:
    """Codes, mobiles, surnames and employers in ``text`` (for what the gateway keeps)."""
    return _leaks(text) + [n for n in _names() if n in text]


def test_no_national_code_or_mobile_in_logs_rows_exports_or_bodies(
    app, client, counter, gw, sandbox, runner, tmp_path, capfd
):
    bodies: list[str] = []

    def keep(reply):
        bodies.append(reply.get_data(as_text=True))
        return reply

    # every service, OTP included
    for service, (params, _, _) in NINE.items():
        citizen = dict(FULL_CITIZEN)
        if gw.plugins.service(service).service.identity_level == 3:
            citizen["otp"] = send_otp(client, counter, sandbox, service, FULL_CITIZEN)
        keep(transact(client, counter, service, params, citizen))
        keep(client.get("/v1/transactions?limit=50", headers=counter.headers()))
    # every identity refusal, with the personal data in the request
    history = "insurance.socialsecurity.history"
    sim = "telecom.mobile.sim.replace"
    for citizen in (
        dict(FULL_CITIZEN, birth_date="1369-05-13"),
        {"national_code": "0650451252", "birth_date": "1369-05-12"},
        {"national_code": "0963695398", "birth_date": "1340-07-15"},
        {"national_code": "0499370898", "birth_date": "1369-05-12"},
        {"national_code": "۰۴۹۹۳۷۰۸۹۹", "birth_date": "۱۳۶۹-۰۵-۱۲"},
    ):
        keep(transact(client, counter, history, {}, citizen))
    keep(transact(client, counter, sim, {"reason": "lost"}, dict(FULL_CITIZEN, otp="000000")))
    keep(
        client.post(
            "/v1/otp",
            json={"service": sim, "citizen": dict(FULL_CITIZEN, mobile="09122223344")},
            headers=counter.headers(),
        )
    )
    keep(transact(client, counter, "postbank.bill.pay", NINE["postbank.bill.pay"][0], FULL_CITIZEN))
    # an office that puts a national code in its Idempotency-Key (stored keyed-hashed)
    keyed = {"Idempotency-Key": f"pay-{SAMPLE_CODES[2]}"}
    inquiry = NINE["postbank.bill.inquiry"][0]
    keep(transact(client, counter, "postbank.bill.inquiry", inquiry, FULL_CITIZEN, **keyed))
    # a level-2 history (surname, employers) under a key, and its replay
    for _ in range(2):
        keep(transact(client, counter, history, {}, FULL_CITIZEN, **{"Idempotency-Key": "h-1"}))
    # a citizen books an appointment with a sample mobile, and complains about a receipt with one
    week = {str(d): ["08:00", "14:00"] for d in range(7)}
    office_key = {"Authorization": f"Bearer {counter.credential}"}
    client.put(
        "/v1/appointments/capacity",
        json={"counters": 1, "slot_minutes": 30, "days": week},
        headers=office_key,
    )
    day = format_date(offices.today() + dt.timedelta(days=1), "-")
    booking = {"office": counter.office_id, "service": "postbank.bill.inquiry", "date": day,
               "time": "10:00", "mobile": SAMPLE_MOBILES[0]}  # fmt: skip
    booked = keep(client.post("/v1/appointments", json=booking))
    assert booked.status_code == 201, booked.get_json()
    keep(client.get(f"/v1/appointments?date={day}", headers=office_key))
    rated = transact(client, counter, "postbank.bill.inquiry", inquiry, FULL_CITIZEN).get_json()
    ticket = rated["receipt"]["signature"][:16].replace("+", "-").replace("/", "_")
    complaint = {"s": ticket, "rating": 1, "complaint": f"با {SAMPLE_MOBILES[1]} تماس بگیرید"}
    filed = keep(client.post(f"/v1/receipts/{rated['transaction_id']}/feedback", json=complaint))
    assert filed.status_code == 201 and filed.get_json()["case"]
    keep(transact(client, counter, "postbank.bill.inquiry", inquiry, FULL_CITIZEN, **keyed))
    # an operator of another office, an unknown operator
    other = open_counter(gw, "office-2", operator=OTHER_OPERATOR)
    keep(transact(client, other, history, {}, FULL_CITIZEN, **{"X-Operator": OPERATOR}))
    # an unknown outcome, reconciled
    sandbox.faults("insurance", mode="drop_after_apply", times=1, only="RegisterHealth")
    keep(transact(client, counter, "insurance.health.register", {"plan": "family"}, FULL_CITIZEN))
    runner.invoke(args=["reconcile"])
    # supervisors search by national code, export, read a scorecard
    supervisors.add(gw.store, "reg", "regulator", None)
    auth = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'reg')}"}
    keep(
        client.get(
            f"/v1/audit/transactions?national_code={FULL_CITIZEN['national_code']}", headers=auth
        )
    )
    keep(client.get("/v1/audit/export?format=csv", headers=auth))
    keep(client.get("/v1/audit/export?format=jsonl", headers=auth))
    keep(client.get("/v1/audit/offices/office-1/scorecard", headers=auth))
    client.post("/console/signin", data={"credential": auth["Authorization"].split()[1]})
    keep(client.get(f"/console/transactions?national_code={FULL_CITIZEN['national_code']}"))
    keep(client.get(f"/console/export.csv?national_code={FULL_CITIZEN['national_code']}"))
    page = client.get("/v1/transactions?limit=5&outcome=succeeded", headers=counter.headers())
    for tx in keep(page).get_json()["items"][:3]:
        keep(
            client.get(
                f"/v1/receipts/{tx['transaction_id']}?format=html", headers=counter.headers()
            )
        )
    gw.sealer.seal_all()
    exported = tmp_path / "log.jsonl"
    runner.invoke(args=["audit", "export", str(exported)])

    assert any('"succeeded"' in b for b in bodies)  # the scenario really ran
    found = {}
    for i, body in enumerate(bodies):
        if _leaks(body):
            found[f"response {i}"] = _leaks(body)
    out, err = capfd.readouterr()
    if _kept(out + err):
        found["logs"] = _kept(out + err)
    if _kept(exported.read_text(encoding="utf-8")):
        found["audit export"] = _kept(exported.read_text(encoding="utf-8"))
    secrets = _key_forms(tmp_path)
    for where, text in [("logs", out + err), ("audit export", exported.read_text("utf-8"))] + [
        (f"response {i}", body) for i, body in enumerate(bodies)
    ]:
        if any(form in text for form in secrets):
            found[f"a key in {where}"] = True
    metadata = MetaData()
    metadata.reflect(gw.store.engine)
    with gw.store.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in connection.execute(select(table)):
                text = ascii_digits(
                    " ".join(v.decode(errors="replace") if isinstance(v, bytes) else str(v)
                             for v in row)
                )  # fmt: skip
                if _kept(text):
                    found[f"{table.name} row"] = _kept(text)
                raw = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
                if any(form.encode() in raw for form in secrets) or any(
                    key in raw for key in _raw_keys(tmp_path)
                ):
                    found[f"a key in a {table.name} row"] = True
    assert not found, found


def _raw_keys(data_dir) -> list[bytes]:
    """The gateway's secret keys as they sit in their files (DATA_DIR defaults)."""
    names = ("pseudonym.key", "encryption.key", "session.key", "signing-key.pem")
    return [(data_dir / name).read_bytes() for name in names]


def _key_forms(data_dir) -> list[str]:
    """Every text form a key could leak in: hex, base64 (both alphabets), the PEM body."""
    import base64

    forms = []
    for raw in _raw_keys(data_dir)[:3]:
        forms += [raw.hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    pem = _raw_keys(data_dir)[3].decode().splitlines()
    forms += [line for line in pem if line and not line.startswith("-----")]
    return forms


def test_a_replayed_answer_is_sealed_at_rest(client, counter, gw, runner):
    """The answer a retried Idempotency-Key replays holds the agency's answer (a surname, the
    employers): it is stored sealed, replayed byte for byte, refused when edited or moved to
    another key, and a plain row from before sealing is sealed by ``db upgrade``."""
    from sqlalchemy import update

    from pishkhan_gateway.pipeline import replays
    from pishkhan_gateway.store.tables import IdempotencyRecord

    history = "insurance.socialsecurity.history"
    first = transact(client, counter, history, {}, FULL_CITIZEN, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and "کارگاه نجاری امید" in first.get_data(as_text=True)
    again = transact(client, counter, history, {}, FULL_CITIZEN, **{"Idempotency-Key": "k-1"})
    assert again.get_data() == first.get_data()  # the same bytes
    transact(client, counter, history, {}, FULL_CITIZEN, **{"Idempotency-Key": "k-2"})
    with gw.store.read() as session:
        rows = {r.transaction_id: r for r in session.scalars(select(IdempotencyRecord))}
    stored = rows[first.get_json()["transaction_id"]]
    raw = bytes(stored.response_body)
    assert raw.startswith(replays.SEALED)
    assert not [n for n in _names() if n.encode() in raw] and b"total_months" not in raw

    def set_body(tid: str, body: bytes) -> None:
        with gw.store.write() as session:
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.transaction_id == tid)
                .values(response_body=body)
            )

    other = next(t for t in rows if t != stored.transaction_id)
    set_body(other, raw)  # one key's sealed answer copied onto another key
    moved = transact(client, counter, history, {}, FULL_CITIZEN, **{"Idempotency-Key": "k-2"})
    assert moved.status_code == 500 and moved.get_json()["code"] == "sealed_data_invalid"
    flipped = raw[:-8] + bytes([raw[-8] ^ 1]) + raw[-7:]  # one bit of the sealed answer
    set_body(stored.transaction_id, flipped)
    edited = transact(client, counter, history, {}, FULL_CITIZEN, **{"Idempotency-Key": "k-1"})
    assert edited.get_json()["code"] == "sealed_data_invalid"
    set_body(stored.transaction_id, first.get_data())  # as a row from before sealing (or an
    # edit that put plain bytes in): refused until db upgrade seals it
    plain = transact(client, counter, history, {}, FULL_CITIZEN, **{"Idempotency-Key": "k-1"})
    assert plain.get_json()["code"] == "sealed_data_invalid"
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with gw.store.read() as session:
        resealed = session.get(IdempotencyRecord, (stored.office_id, stored.key))
    assert bytes(resealed.response_body).startswith(replays.SEALED)
    replayed = transact(client, counter, history, {}, FULL_CITIZEN, **{"Idempotency-Key": "k-1"})
    assert replayed.get_data() == first.get_data()
