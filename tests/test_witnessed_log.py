"""The witnessed log (DESIGN.md §8): C2SP signed notes, checkpoints, tiles and witnesses — checked
against Go's own transparency-log code (Debian's ``golang-golang-x-mod-dev``, offline), the
specifications' examples and test vectors, and split views and rollbacks staged for real."""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from werkzeug.serving import make_server

from conftest import BILL, open_counter, pay_body
from pishkhan_gateway.auditlog import merkle, notes, tiles
from pishkhan_gateway.auditlog.witness import State, Witness
from pishkhan_gateway.registry import supervisors
from pishkhan_gateway.web.api.witness import make_app as witness_app

HERE = Path(__file__).resolve().parent
GO_CHECK = HERE / "go" / "tlogcheck"
GOPATH = "/usr/share/gocode"
INQUIRY = {"service": "postbank.bill.inquiry", "params": BILL}

# Test vectors from Go's golang.org/x/mod/sumdb/note (note_test.go, TestSign / TestNewVerifier):
# Copyright 2019 The Go Authors. All rights reserved. Use of this source code is governed by a
# BSD-style license (/usr/share/doc/golang-golang-x-mod-dev/copyright).
PETER_SEED = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  # 0x01 ‖ Ed25519 seed
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_NOTE = (
    PETER_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSN"
    "XgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# From c2sp.org/tlog-witness and c2sp.org/tlog-checkpoint (CC BY 4.0, the C2SP authors).
C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)


def test_signed_notes_match_gos_test_vectors():
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(PETER_SEED)[1:])
    assert notes.sign(PETER_TEXT, "PeterNeumann", key.sign, key.public_key()) == PETER_NOTE
    assert notes.vkey("PeterNeumann", notes.ED25519, key.public_key()) == PETER_VKEY
    verifier = notes.Verifier.parse(PETER_VKEY)
    assert notes.verify(PETER_NOTE, [verifier]) == (PETER_TEXT, {"PeterNeumann": None})
    for bad in (
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # length
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # algorithm
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # key hash
    ):
        with pytest.raises(notes.NoteError):
            notes.Verifier.parse(bad)
    tampered = PETER_NOTE.replace("problem is", "problem was")
    with pytest.raises(notes.NoteError, match="does not verify"):
        notes.verify(tampered, [verifier])
    stranger = notes.Verifier(
        "PeterNeumann", notes.ED25519, Ed25519PrivateKey.generate().public_key()
    )
    with pytest.raises(notes.NoteError, match="no signature of a trusted key"):
        notes.verify(PETER_NOTE, [stranger])  # same name, another key: ignored, so none left


def test_checkpoints_parse_as_the_specification_writes_them():
    checkpoint = notes.Checkpoint.parse(C2SP_CHECKPOINT)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert checkpoint.text == C2SP_CHECKPOINT
    for bad in (
        "example.com/log\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # leading zero
        "example.com/log\n12\nnot-base64\n",
        "example.com/log\n12\n",
        "example.com/log\n12\nAAAA\n",  # not 32 bytes
    ):
        with pytest.raises(notes.NoteError):
            notes.Checkpoint.parse(bad)
    with pytest.raises(notes.NoteError, match="control"):
        notes.split("a\tb\n\n— k AAAAAAA=\n")


def test_a_cosignature_binds_the_time_and_the_checkpoint():
    key = Ed25519PrivateKey.generate()
    line = notes.cosign(C2SP_CHECKPOINT, "witness.example/w1", key, timestamp=1679315147)
    raw = base64.b64decode(line.split(" ")[2])
    assert len(raw) == 4 + 8 + 64 and struct.unpack(">Q", raw[4:12]) == (1679315147,)
    verifier = notes.Verifier("witness.example/w1", notes.COSIGNATURE, key.public_key())
    assert base64.b64decode(verifier.vkey.split("+", 2)[2])[0] == notes.COSIGNATURE
    note = C2SP_CHECKPOINT + "\n" + line
    assert notes.verify(note, [verifier]) == (C2SP_CHECKPOINT, {"witness.example/w1": 1679315147})
    moved = raw[:4] + struct.pack(">Q", 1679315148) + raw[12:]
    forged = f"— witness.example/w1 {base64.b64encode(moved).decode()}\n"
    with pytest.raises(notes.NoteError):
        notes.verify(C2SP_CHECKPOINT + "\n" + forged, [verifier])


def test_tile_paths_are_c2sps():
    assert tiles.encode_index(1234067) == "x001/x234/067"
    assert tiles.Tile(0, 1234067, 256).path == "tile/0/x001/x234/067"
    assert tiles.Tile(-1, 5, 7).path == "tile/entries/005.p/7"
    assert tiles.parse("1/x001/234.p/5") == tiles.Tile(1, 1234, 5)
    for bad in ("0/1234", "0/001.p/0", "0/001.p/256", "9x/001", "0/001.p/07", "../etc"):
        with pytest.raises(tiles.TileNotFound):
            tiles.parse(bad)


# -- the log served ----------------------------------------------------------------------------


class Served:
    """A WSGI app on a loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


def start_witness(tmp_path: Path, name: str, log_key, origin: str) -> tuple[Served, Witness]:
    key = Ed25519PrivateKey.generate()
    log_verifier = notes.Verifier(origin, notes.ED25519, log_key)
    witness = Witness(
        key, name, {origin: [log_verifier]}, State(tmp_path / f"{name.replace('/', '_')}.db")
    )
    return Served(witness_app(witness)), witness


@pytest.fixture
def served(app, gw, client) -> Iterator[dict[str, Any]]:
    """The gateway on a port, with traffic, sealed; a regulator's credential."""
    counter = open_counter(gw, "teh-1")
    for _ in range(5):
        assert (
            client.post("/v1/transactions", json=INQUIRY, headers=counter.headers()).status_code
            == 201
        )
    gw.sealer.seal_all()
    supervisors.add(gw.store, "reg", "regulator", None)
    regulator = {"Authorization": f"Bearer {supervisors.issue_key(gw.store, 'reg')}"}
    server = Served(app)
    yield {"url": server.url, "counter": counter, "regulator": regulator}
    server.stop()


def test_the_checkpoint_verifies_with_the_published_key(client, gw, served):
    published = client.get("/v1/audit/public-key").get_json()
    verifier = notes.Verifier.parse(published["note_verifier_key"])
    answer = client.get("/log/checkpoint")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-cache"
    text, _ = notes.verify(answer.get_data(as_text=True), [verifier])
    checkpoint = notes.Checkpoint.parse(text)
    head = client.get("/v1/audit/tree-head").get_json()
    assert checkpoint.origin == published["origin"] == "pishkhan.example/log"
    assert (checkpoint.size, checkpoint.root.hex()) == (head["tree_size"], head["root_hash"])


def test_tiles_hold_the_tree_and_never_change(client, gw, served):
    head = client.get("/v1/audit/tree-head").get_json()
    size = head["tree_size"]
    level0 = client.get(f"/log/tile/0/000.p/{size}")
    assert level0.status_code == 200 and "immutable" in level0.headers["Cache-Control"]
    bundle = client.get(f"/log/tile/entries/000.p/{size}").get_data()
    entries, rest = [], bundle
    while rest:
        (length,) = struct.unpack(">H", rest[:2])
        entries.append(rest[2 : 2 + length])
        rest = rest[2 + length :]
    assert len(entries) == size
    leaves = [merkle.leaf_hash(entry) for entry in entries]
    assert level0.get_data() == b"".join(leaves)
    edge = merkle.CompactTree()
    edge.extend(leaves)
    assert edge.root().hex() == head["root_hash"]
    assert client.get(f"/log/tile/0/000.p/{size + 1}").status_code == 404  # not under it
    assert client.get("/log/tile/0/000").status_code == 404  # no full tile yet
    assert client.get("/log/tile/0/not-a-tile").status_code == 404


def go_check(args: list[str], tmp_path: Path) -> str:
    go = shutil.which("go")
    if go is None or not Path(GOPATH, "src/golang.org/x/mod/sumdb/tlog").is_dir():
        message = (
            "Go interop NOT RUN: no go or golang-golang-x-mod-dev (make test apt-installs them)"
        )
        if os.environ.get("PISHKHAN_REQUIRE_GO") == "1":
            pytest.fail(message)
        pytest.skip(message)
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": GOPATH,
        "GOCACHE": str(tmp_path / "gocache"),
        "GOFLAGS": "",
        "GOPROXY": "off",
    }
    binary = tmp_path / "tlogcheck"
    subprocess.run(
        [go, "build", "-o", str(binary), "."], cwd=GO_CHECK, env=env, check=True, timeout=600
    )
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def test_gos_sumdb_verifies_our_checkpoint_tiles_and_proofs(client, gw, served, tmp_path):
    """Go's golang.org/x/mod/sumdb/note checks the checkpoint's signature; sumdb/tlog reads our
    tiles (checking every hash against the signed root), proves an entry from them and checks
    the gateway's own inclusion proof, and checks both its and the gateway's consistency proof
    from an older checkpoint — over 300 entries, so full and partial tiles and level 1 are read."""
    vkey = client.get("/v1/audit/public-key").get_json()["note_verifier_key"]
    old = client.get("/log/checkpoint").get_data(as_text=True)
    old_size = notes.Checkpoint.parse(notes.split(old)[0]).size
    (tmp_path / "old.txt").write_text(old)
    counter = served["counter"]
    for _ in range(300):
        client.post("/v1/transactions", json=INQUIRY, headers=counter.headers())
    gw.sealer.seal_all()
    size = client.get("/v1/audit/tree-head").get_json()["tree_size"]
    assert size > 256 + old_size
    assert client.get("/log/tile/0/000").status_code == 200  # a full tile
    index = 270
    inclusion = client.get(
        f"/v1/audit/proof/inclusion?index={index}&tree_size={size}", headers=served["regulator"]
    ).get_json()
    consistency = client.get(
        f"/v1/audit/proof/consistency?first={old_size}&second={size}", headers=served["regulator"]
    ).get_json()["consistency_path"]

    def b64(hexes: list[str]) -> str:
        return ",".join(base64.b64encode(bytes.fromhex(h)).decode() for h in hexes)

    out = go_check(
        [
            "-url", served["url"], "-vkey", vkey, "-index", str(index),
            "-inclusion", b64(inclusion["audit_path"]),
            "-old", str(tmp_path / "old.txt"), "-consistency", b64(consistency),
        ],
        tmp_path,
    )  # fmt: skip
    assert f"ok checkpoint pishkhan.example/log {size}" in out
    assert "ok tiles" in out and f"ok inclusion {index}" in out
    assert f"ok consistency {old_size} {size}" in out
    # and Go refuses what is not ours
    stranger = notes.vkey(
        "pishkhan.example/log", notes.ED25519, Ed25519PrivateKey.generate().public_key()
    )
    binary = tmp_path / "tlogcheck"
    refused = subprocess.run(
        [str(binary), "-url", served["url"], "-vkey", stranger, "-index", "0"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode != 0 and "note.Open" in refused.stderr


# -- witnesses ---------------------------------------------------------------------------------


def signed(gw, size: int, root: bytes) -> str:
    """A checkpoint of ``size`` and ``root`` signed with the log's own key: what an operator
    who wanted to lie could make."""
    text = notes.Checkpoint(gw.sealer.origin, size, root).text
    return notes.sign(text, gw.sealer.origin, gw.signer.sign_bytes, gw.signer.public_key)


def add(witness_url: str, old: int, proof: list[bytes], note: str):
    import requests

    body = (
        f"old {old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in proof) + "\n" + note
    )
    return requests.post(witness_url + "/add-checkpoint", data=body.encode(), timeout=10)


def test_a_witness_cosigns_only_what_extends_what_it_cosigned(tmp_path, gw, client, served):
    origin = gw.sealer.origin
    server, witness = start_witness(tmp_path, "fars.example/witness", gw.signer.public_key, origin)
    try:
        first = client.get("/log/checkpoint").get_data(as_text=True)
        first_size = notes.Checkpoint.parse(notes.split(first)[0]).size
        answer = add(server.url, 0, [], first)
        assert answer.status_code == 200, answer.text
        notes.verify(notes.split(first)[0] + "\n" + answer.text, [witness.verifier])
        again = add(server.url, 0, [], first)  # stale: it has cosigned first_size since
        assert (again.status_code, again.text) == (409, f"{first_size}\n")
        assert again.headers["Content-Type"].startswith("text/x.tlog.size")
        for _ in range(3):
            client.post("/v1/transactions", json=INQUIRY, headers=served["counter"].headers())
        gw.sealer.seal_all()
        second = client.get("/log/checkpoint").get_data(as_text=True)
        size = notes.Checkpoint.parse(notes.split(second)[0]).size
        with gw.store.read() as session:
            from pishkhan_gateway.auditlog.sealer import node_lookup

            proof = merkle.consistency_path(node_lookup(session), first_size, size)
        wrong = [bytes(32), *proof[1:]]
        assert add(server.url, first_size, wrong, second).status_code == 422
        assert witness.state.evidence()  # the bad request is kept
        assert add(server.url, size + 1, proof, second).status_code == 400
        unknown = Ed25519PrivateKey.generate()
        other = notes.sign(
            notes.Checkpoint("elsewhere.example/log", 1, bytes(32)).text,
            "elsewhere.example/log",
            unknown.sign,
            unknown.public_key(),
        )
        assert add(server.url, 0, [], other).status_code == 404
        forged = notes.sign(notes.split(second)[0], origin, unknown.sign, unknown.public_key())
        assert add(server.url, first_size, proof, forged).status_code == 403
        assert add(server.url, first_size, proof, second).status_code == 200
    finally:
        server.stop()
    # a restart never forgets: the state is on disk
    again = State(witness.state.path)
    assert again.latest(origin)[0] == size


def test_the_gateway_gathers_cosignatures_and_reports_the_quorum(
    tmp_path, gw, client, served, monkeypatch
):
    from pishkhan_gateway.auditlog.witnessing import Witnessing, WitnessRef

    origin = gw.sealer.origin
    one, w1 = start_witness(tmp_path, "tehran.example/witness", gw.signer.public_key, origin)
    two, w2 = start_witness(tmp_path, "fars.example/witness", gw.signer.public_key, origin)
    try:
        gw.witnessing = Witnessing(
            gw.store, [WitnessRef(one.url, w1.verifier), WitnessRef(two.url, w2.verifier)], 2
        )
        gw.sealer.after_seal[:] = [gw.witnessing.after_seal]
        for _ in range(2):
            client.post("/v1/transactions", json=INQUIRY, headers=served["counter"].headers())
        gw.sealer.seal_all()
        served_note = client.get("/log/checkpoint").get_data(as_text=True)
        text, signers = notes.verify(served_note, [w1.verifier, w2.verifier])
        assert set(signers) == {"tehran.example/witness", "fars.example/witness"}
        health = client.get("/v1/health").get_json()["witnessing"]
        assert health["status"] == "ok" and health["cosignatures"] == 2
        scraped = client.get("/metrics").get_data(as_text=True)
        assert "pishkhan_checkpoint_cosignatures 2.0" in scraped
        assert "pishkhan_witness_quorum_met 1.0" in scraped
        assert {w["size"] for w in health["witnesses"]} == {notes.Checkpoint.parse(text).size}
        two.stop()  # one witness down: the log goes on, the quorum is not met
        client.post("/v1/transactions", json=INQUIRY, headers=served["counter"].headers())
        gw.sealer.seal_all()
        health = client.get("/v1/health").get_json()["witnessing"]
        assert health["status"] == "degraded" and health["cosignatures"] == 1
        assert any("unreachable" in (w["problem"] or "") for w in health["witnesses"])
    finally:
        one.stop()


def test_a_split_view_is_refused_by_the_witnesses_and_found_by_verify(
    tmp_path, gw, client, served, runner
):
    """The operator shows Tehran's witness one history and Fars's another of the same size:
    each witness refuses the other's once it has cosigned its own, a smaller tree after a larger
    one is refused, and ``audit verify --against`` both cosigned checkpoints reports ``forked``."""
    origin = gw.sealer.origin
    one, _ = start_witness(tmp_path, "tehran.example/witness", gw.signer.public_key, origin)
    two, _ = start_witness(tmp_path, "fars.example/witness", gw.signer.public_key, origin)
    try:
        honest = client.get("/log/checkpoint").get_data(as_text=True)
        size = notes.Checkpoint.parse(notes.split(honest)[0]).size
        # a second history of the same size, signed with the log's own key (the operator has it)
        forked = signed(gw, size, bytes(range(32)))
        cosigned_honest = add(one.url, 0, [], honest)
        cosigned_fork = add(two.url, 0, [], forked)
        assert cosigned_honest.status_code == cosigned_fork.status_code == 200
        assert add(one.url, size, [], forked).status_code == 409  # same size, another root
        assert add(two.url, size, [], honest).status_code == 409
        smaller = notes.sign(
            notes.Checkpoint(origin, size - 1, bytes(32)).text,
            origin,
            gw.signer.sign_bytes,
            gw.signer.public_key,
        )
        assert add(one.url, size - 1, [], smaller).status_code == 409  # old is not its size
        assert add(one.url, size, [], smaller).status_code == 400  # old above the size
        a = tmp_path / "tehran.txt"
        b = tmp_path / "fars.txt"
        a.write_text(honest + cosigned_honest.text.split("\n", 1)[0] + "\n")
        b.write_text(forked + cosigned_fork.text.split("\n", 1)[0] + "\n")
        result = runner.invoke(args=["audit", "verify", "--against", str(a), "--against", str(b)])
        assert result.exit_code == 1 and "forked" in result.output
        assert runner.invoke(args=["audit", "verify", "--against", str(a)]).exit_code == 0
    finally:
        one.stop()
        two.stop()


def test_a_rollback_below_the_witnessed_size_is_reported(tmp_path, gw, client, served, runner):
    """The database is restored from an older copy: the witness remembers a larger size; the
    gateway reports it at start (its sealer's first round) and ``audit verify`` names the
    witness and the size."""
    from pishkhan_gateway.auditlog.witnessing import Witnessing, WitnessRef

    origin = gw.sealer.origin
    server, witness = start_witness(
        tmp_path, "tehran.example/witness", gw.signer.public_key, origin
    )
    try:
        # the witness cosigned a longer history (as if the log had grown past this copy)
        size = client.get("/v1/audit/tree-head").get_json()["tree_size"]
        longer = signed(gw, size + 50, bytes(32))
        assert add(server.url, 0, [], longer).status_code == 200
        gw.witnessing = Witnessing(gw.store, [WitnessRef(server.url, witness.verifier)], 1)
        assert gw.witnessing.check_rollback() == {"tehran.example/witness": size + 50}
        health = client.get("/v1/health").get_json()["witnessing"]
        assert health["status"] == "rolled_back"
        assert health["witnesses"][0]["rolled_back_from"] == size + 50
        assert "pishkhan_log_rolled_back 1.0" in client.get("/metrics").get_data(as_text=True)
        from conftest import make_app

        configured = f"{server.url} {witness.verifier.vkey}"
        other = make_app(gw.store.url, tmp_path, gw.plugins, {}, WITNESSES=configured)
        result = other.test_cli_runner().invoke(args=["audit", "verify"])
        assert result.exit_code == 1
        named = f"witness tehran.example/witness cosigned a checkpoint of size {size + 50}"
        assert named in result.output
        # and a gateway starting on this database finds it in its sealer's first round
        started = other.extensions["pishkhan"]
        started.sealer.ensure_running(3600)
        for _ in range(100):
            if started.witnessing.rollback:
                break
            time.sleep(0.05)
        started.sealer.stop()
        assert started.witnessing.rollback == {"tehran.example/witness": size + 50}
        assert started.witnessing.status()["status"] == "rolled_back"
        started.store.dispose()
    finally:
        server.stop()


# -- bundles, publishing, the witness command ---------------------------------------------------


def test_a_bundle_verifies_offline_against_pinned_keys(tmp_path, gw, client, served):
    """A receipt's bundle, checked by the standalone ``tools/verify_bundle.py`` (standard
    library + cryptography) with the log's key and the witnesses' keys pinned."""
    from pishkhan_gateway.auditlog.witnessing import Witnessing, WitnessRef

    origin = gw.sealer.origin
    one, w1 = start_witness(tmp_path, "tehran.example/witness", gw.signer.public_key, origin)
    two, w2 = start_witness(tmp_path, "fars.example/witness", gw.signer.public_key, origin)
    try:
        refs = [WitnessRef(one.url, w1.verifier), WitnessRef(two.url, w2.verifier)]
        gw.witnessing = Witnessing(gw.store, refs, 2)
        gw.sealer.after_seal[:] = [gw.witnessing.after_seal]
        counter = served["counter"]
        paid = client.post(
            "/v1/transactions",
            json=pay_body(fee=20000),
            headers=counter.headers(),
        )
        assert paid.status_code == 201, paid.get_json()
        transaction = paid.get_json()["transaction_id"]
        gw.sealer.seal_all()
        answer = client.get(f"/v1/receipts/{transaction}/bundle", headers=counter.headers())
        assert answer.status_code == 200, answer.get_json()
        bundle = answer.get_json()
        assert bundle["witnessed"] is True and bundle["quorum"] == 2
    finally:
        one.stop()
        two.stop()
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    log_key = bundle["note_verifier_key"]
    script = [sys.executable, str(HERE.parent / "tools" / "verify_bundle.py"), str(path)]
    pinned = ["--log-key", log_key, "--witness", w1.verifier.vkey, "--witness", w2.verifier.vkey]
    good = subprocess.run([*script, *pinned], capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "receipt" in good.stdout and "entry" in good.stdout
    stranger = notes.Verifier(
        "fars.example/witness", notes.COSIGNATURE, Ed25519PrivateKey.generate().public_key()
    )
    wrong = ["--log-key", log_key, "--witness", stranger.vkey]
    refused = subprocess.run([*script, *wrong], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "quorum" in refused.stdout
    altered = dict(bundle, receipt={**bundle["receipt"], "office_fee": 1})
    path.write_text(json.dumps(altered))
    refused = subprocess.run([*script, *pinned], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "signature" in refused.stdout
    other_entry = dict(bundle, entry=base64.b64encode(b'{"transaction_id":"tx_x"}').decode())
    path.write_text(json.dumps(other_entry))
    refused = subprocess.run([*script, *pinned], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "not in the checkpoint" in refused.stdout
    others = client.get(
        f"/v1/receipts/{transaction}/bundle", headers=open_counter(gw, "teh-2").headers()
    )
    assert others.status_code == 404


def test_log_publish_writes_the_tiles_a_static_server_serves(runner, gw, client, served, tmp_path):
    out = tmp_path / "site"
    result = runner.invoke(args=["log", "publish", str(out)])
    assert result.exit_code == 0, result.output
    served_checkpoint = client.get("/log/checkpoint").get_data(as_text=True)
    assert (out / "checkpoint").read_text() == served_checkpoint
    size = notes.Checkpoint.parse(notes.split(served_checkpoint)[0]).size
    for tile in tiles.tiles_of(size):
        assert (out / tile.path).read_bytes() == client.get("/log/" + tile.path).get_data()


def test_the_witness_command_serves_and_prints_its_key(tmp_path, gw, client, served):
    import requests

    from conftest import _free_port

    pem = tmp_path / "log.pem"
    pem.write_text(gw.signer.public_pem)
    port = _free_port()
    command = [
        str(Path(sys.executable).parent / "pishkhan-gateway"), "witness", "serve",
        "--key", str(tmp_path / "witness.pem"), "--log-key", str(pem),
        "--name", "fars.example/witness", "--port", str(port),
    ]  # fmt: skip
    env = {**os.environ, "PISHKHAN_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        first = process.stdout.readline()
        vkey = process.stdout.readline().split(" ", 1)[1].strip()
        assert first.startswith("witness fars.example/witness")
        verifier = notes.Verifier.parse(vkey)
        note = client.get("/log/checkpoint").get_data(as_text=True)
        for _ in range(50):
            try:
                answer = add(f"http://127.0.0.1:{port}", 0, [], note)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer.status_code == 200
        notes.verify(notes.split(note)[0] + "\n" + answer.text, [verifier])
        assert oct((tmp_path / "witness.pem").stat().st_mode & 0o777) == "0o600"
    finally:
        process.terminate()
        process.wait(10)
