#!/usr/bin/env python3
"""Check a Pishkhan Gateway proof bundle offline, with pinned keys, without the gateway's code.

    python verify_bundle.py BUNDLE.json --log-key VKEY [--witness VKEY ...] [--quorum K]

A bundle (``GET /v1/receipts/{id}/bundle``) holds a signed receipt, the exact bytes of its log
entry, an RFC 6962 inclusion proof, and a C2SP checkpoint with witnesses' cosignatures. This
checks, using only the standard library and ``cryptography``:

1. the checkpoint is a signed note (c2sp.org/signed-note) signed by ``--log-key`` — the log's
   verifier key, pinned by you (``note_verifier_key`` of ``GET /v1/audit/public-key``);
2. at least ``--quorum`` of the ``--witness`` keys cosigned it (c2sp.org/tlog-cosignature,
   ``cosignature/v1``);
3. the entry is in the tree the checkpoint commits to (leaf SHA-256(0x00 ‖ entry), RFC 9162
   §2.1.3.2);
4. the entry is the receipt's: same transaction id and log index;
5. the receipt's Ed25519 signature verifies with the same pinned log key (over the RFC 8785
   canonical JSON of the receipt without ``signature``; for a receipt — strings and integers —
   that is sorted, compact, UTF-8 JSON).

Prints what was checked and exits 0, or names the first failure and exits 1.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import struct
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

DASH = "\u2014"


class Failed(Exception):
    pass


def parse_vkey(text: str, kind: int) -> tuple[str, bytes, Ed25519PublicKey]:
    name, key_id, data = text.strip().split("+", 2)
    raw = base64.b64decode(data, validate=True)
    if raw[0] != kind or len(raw) != 33:
        raise Failed(f"{name}: not a key of type {kind:#04x}")
    digest = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if digest.hex() != key_id.lower():
        raise Failed(f"{name}: the key ID does not match the key")
    return name, digest, Ed25519PublicKey.from_public_bytes(raw[1:])


def note_parts(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    cut = note.rfind("\n\n")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    signatures = []
    for line in lines:
        dash, name, data = line.split(" ")
        if dash != DASH:
            raise Failed("not a signature line")
        signatures.append((name, base64.b64decode(data, validate=True)))
    return text, signatures


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def included(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def check(bundle: dict, log_vkey: str, witness_vkeys: list[str], quorum: int) -> list[str]:
    done = []
    name, key_id, log_key = parse_vkey(log_vkey, 0x01)
    text, signatures = note_parts(bundle["checkpoint"])
    mine = [sig for n, sig in signatures if n == name and sig[:4] == key_id]
    if not mine:
        raise Failed("the checkpoint has no signature of the pinned log key")
    try:
        log_key.verify(mine[0][4:], text.encode())
    except InvalidSignature:
        raise Failed("the checkpoint's log signature does not verify") from None
    origin, size_text, root_b64, *_ = text.split("\n")
    size, root = int(size_text), base64.b64decode(root_b64)
    done.append(f"checkpoint {origin} {size} signed by {name}")
    cosigned = []
    for vkey in witness_vkeys:
        w_name, w_id, w_key = parse_vkey(vkey, 0x04)
        for n, sig in signatures:
            if n == w_name and sig[:4] == w_id and len(sig) == 76:
                (moment,) = struct.unpack(">Q", sig[4:12])
                message = f"cosignature/v1\ntime {moment}\n".encode() + text.encode()
                try:
                    w_key.verify(sig[12:], message)
                except InvalidSignature:
                    raise Failed(f"the cosignature of {w_name} does not verify") from None
                cosigned.append(w_name)
    if len(cosigned) < quorum:
        raise Failed(f"{len(cosigned)} of the pinned witnesses cosigned; the quorum is {quorum}")
    done.append(f"cosigned by {', '.join(cosigned) or 'no pinned witness'} (quorum {quorum})")
    entry = base64.b64decode(bundle["entry"])
    index = int(bundle["log_index"])
    path = [base64.b64decode(h) for h in bundle["inclusion_proof"]]
    if int(bundle["tree_size"]) != size:
        raise Failed("the bundle's tree size is not the checkpoint's")
    if not included(hashlib.sha256(b"\x00" + entry).digest(), index, size, path, root):
        raise Failed("the entry is not in the checkpoint's tree")
    done.append(f"entry {index} included")
    decoded = json.loads(entry)
    receipt = dict(bundle["receipt"])
    if decoded.get("transaction_id") != receipt.get("transaction_id"):
        raise Failed("the entry is another transaction's")
    if int(receipt.get("log_index", -1)) != index:
        raise Failed("the receipt names another log index")
    signature = base64.b64decode(receipt.pop("signature"))
    body = json.dumps(receipt, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    public_der = log_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if receipt.get("key_id") != hashlib.sha256(public_der).hexdigest():
        raise Failed("the receipt is signed by another key than the pinned log key")
    try:
        log_key.verify(signature, body.encode())
    except InvalidSignature:
        raise Failed("the receipt's signature does not verify") from None
    done.append(f"receipt {receipt['transaction_id']} genuine")
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--log-key", required=True, help="the log's note verifier key (pinned)")
    parser.add_argument("--witness", action="append", default=[], help="a witness vkey (pinned)")
    parser.add_argument("--quorum", type=int, default=None, help="default: all --witness keys")
    args = parser.parse_args()
    with open(args.bundle, encoding="utf-8") as f:
        bundle = json.load(f)
    quorum = len(args.witness) if args.quorum is None else args.quorum
    try:
        for line in check(bundle, args.log_key, args.witness, quorum):
            print("ok", line)
    except (Failed, ValueError, KeyError) as exc:
        print(f"FAILED: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
