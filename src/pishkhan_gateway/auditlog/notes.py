"""C2SP signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint) and Ed25519
witness cosignatures (c2sp.org/tlog-cosignature, ``cosignature/v1``).

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID ‖ signature)``. The key ID is the first four bytes of
SHA-256(name ‖ 0x0A ‖ type ‖ public key): type 0x01 for the log's Ed25519 note signature over the
text, 0x04 for a witness's cosignature, whose signature is an 8-byte big-endian POSIX time
followed by Ed25519 over ``cosignature/v1\\ntime <t>\\n`` + the checkpoint text. A verifier key
("vkey") is ``<name>+<key ID hex>+base64(type ‖ public key)``, as Go's
``golang.org/x/mod/sumdb/note.NewVerifier`` takes it.

Written here: the formats are a few lines each, and no maintained Python library implements
them; Go's ``sumdb/note`` verifies what this writes in ``test_witnessed_log.py``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
COSIGNATURE = 0x04
DASH = "\u2014"
MAX_SIGNATURES = 64


class NoteError(ValueError):
    """A note, checkpoint, key or signature that is malformed or does not verify."""


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, kind: int, public: bytes) -> bytes:
    """SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"a key name is non-empty, without spaces or '+': {name!r}")
    return name


def vkey(name: str, kind: int, key: Ed25519PublicKey) -> str:
    """The verifier key string of ``key`` under ``name`` for signature type ``kind``."""
    public = raw_public(key)
    return (
        f"{_check_name(name)}+{key_id(name, kind, public).hex()}+"
        f"{base64.b64encode(bytes([kind]) + public).decode()}"
    )


@dataclass(frozen=True)
class Verifier:
    """A trusted key: name, type (0x01 note signature, 0x04 cosignature) and public key."""

    name: str
    kind: int
    key: Ed25519PublicKey

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.kind, raw_public(self.key))

    @property
    def vkey(self) -> str:
        return vkey(self.name, self.kind, self.key)

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """From a vkey string (its key ID must match)."""
        try:
            name, hash_hex, data = text.strip().split("+", 2)  # base64 may hold a "+" too
            raw = base64.b64decode(data, validate=True)
            kind, public = raw[0], raw[1:]
            if kind not in (ED25519, COSIGNATURE) or len(public) != 32:
                raise ValueError("not an Ed25519 note or cosignature key")
            verifier = cls(_check_name(name), kind, Ed25519PublicKey.from_public_bytes(public))
            if verifier.id.hex() != hash_hex.lower():
                raise ValueError("the key ID does not match the key")
        except (ValueError, IndexError, binascii.Error) as exc:
            raise NoteError(f"not a verifier key: {exc}") from None
        return verifier


@dataclass(frozen=True)
class Signature:
    name: str
    id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        data = base64.b64encode(self.id + self.signature).decode()
        return f"{DASH} {self.name} {data}\n"


def split(note: str | bytes) -> tuple[str, list[Signature]]:
    """The text (with its final newline) and the signature lines of a note."""
    if isinstance(note, bytes):
        try:
            note = note.decode()
        except UnicodeDecodeError:
            raise NoteError("a note is UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise NoteError("a note has no control characters but newlines")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("a note is text, a blank line and signature lines, each ending in \\n")
    text, lines = note[: cut + 1], note[cut + 2 :].splitlines()
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note has 1 to {MAX_SIGNATURES} signature lines")
    signatures = []
    for line in lines:
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"not a signature line: {line[:80]!r}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error:
            raise NoteError("a signature is base64") from None
        if len(raw) < 5:
            raise NoteError("a signature is a key ID and at least one byte")
        signatures.append(Signature(_check_name(parts[1]), raw[:4], raw[4:]))
    return text, signatures


def sign(
    text: str, name: str, sign_bytes: Callable[[bytes], bytes], public: Ed25519PublicKey
) -> str:
    """The note of ``text`` signed (type 0x01) by the key behind ``sign_bytes``."""
    if not text.endswith("\n"):
        raise NoteError("a note's text ends in a newline")
    signature = Signature(
        name, key_id(name, ED25519, raw_public(public)), sign_bytes(text.encode())
    )
    return text + "\n" + signature.line


def cosignature_message(text: str, timestamp: int) -> bytes:
    """What an Ed25519 ``cosignature/v1`` signs."""
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def cosign(text: str, name: str, key: Ed25519PrivateKey, timestamp: int | None = None) -> str:
    """A witness's cosignature line over checkpoint ``text``."""
    moment = int(time.time()) if timestamp is None else timestamp
    signed = key.sign(cosignature_message(text, moment))
    public = raw_public(key.public_key())
    return Signature(
        name, key_id(name, COSIGNATURE, public), struct.pack(">Q", moment) + signed
    ).line


def verify(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[str, dict[str, int | None]]:
    """Verify a note against trusted keys: its text, and for each trusted key whose signature
    verified, its name → the cosignature time (None for a plain note signature). Signatures of
    unknown keys are ignored; a known key's bad signature rejects the note; no verified
    signature rejects it too."""
    text, signatures = split(note)
    known = {(v.name, v.id): v for v in verifiers}
    verified: dict[str, int | None] = {}
    for signature in signatures:
        verifier = known.get((signature.name, signature.id))
        if verifier is None:
            continue
        try:
            if verifier.kind == COSIGNATURE:
                if len(signature.signature) != 72:
                    raise InvalidSignature
                (moment,) = struct.unpack(">Q", signature.signature[:8])
                verifier.key.verify(signature.signature[8:], cosignature_message(text, moment))
                verified[verifier.name] = moment
            else:
                verifier.key.verify(signature.signature, text.encode())
                verified[verifier.name] = None
        except InvalidSignature:
            raise NoteError(f"the signature of {verifier.name} does not verify") from None
    if not verified:
        raise NoteError("no signature of a trusted key")
    return text, verified


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP checkpoint's text: origin, tree size, root hash, extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(line == "" for line in lines[:-1]):
            raise NoteError("a checkpoint is origin, size and root hash lines")
        origin, size, root = lines[0], lines[1], lines[2]
        if not size.isdigit() or (size != "0" and size.startswith("0")) or not size.isascii():
            raise NoteError("a checkpoint's size is a decimal without leading zeroes")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("a checkpoint's root is base64") from None
        if len(digest) != 32:
            raise NoteError("a checkpoint's root is a 32-byte hash")
        return cls(origin, int(size), digest, tuple(lines[3:-1]))
