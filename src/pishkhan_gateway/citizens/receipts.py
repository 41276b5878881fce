"""Receipts: fetching, verifying, and the printable Persian page with its QR code.

A receipt is signed at record time (``pipeline.record.sign_receipt``). It is
genuine when its signature verifies with the gateway's key *and* it equals the receipt the
gateway recorded for that transaction. The printed page carries a QR code of a short public
check URL (``/v1/receipts/{id}/check?s=<signature prefix>``): scanning it shows whether the
paper in hand is genuine, without the whole receipt in the code.
"""

from __future__ import annotations

import io
import json
from typing import Any

import qrcode
import qrcode.image.svg
from sqlalchemy import select

from pishkhan_gateway.crypto.signing import Signer, verify
from pishkhan_gateway.store import Store
from pishkhan_gateway.store.tables import Transaction

CHECK_PREFIX = 16  # signature characters in the QR's check URL: 96 bits, plenty against guessing


def stored(store: Store, transaction_id: str) -> dict[str, Any] | None:
    """The receipt recorded for a transaction, or None."""
    with store.read() as session:
        receipt = session.scalar(
            select(Transaction.receipt).where(Transaction.id == transaction_id)
        )
    return json.loads(receipt) if receipt else None


def check(store: Store, signer: Signer, receipt: Any) -> dict[str, Any]:
    """Is ``receipt`` genuine and unaltered? ``{"valid": bool, "reason": ...}``."""
    if not isinstance(receipt, dict) or "signature" not in receipt:
        return {"valid": False, "reason": "not a signed receipt"}
    if receipt.get("key_id") not in signer.keyring:
        return {"valid": False, "reason": "signed by an unknown key"}
    if not verify(receipt, signer.keyring):
        return {"valid": False, "reason": "the signature does not match: the receipt was altered"}
    recorded = stored(store, str(receipt.get("transaction_id", "")))
    if recorded != receipt:
        return {"valid": False, "reason": "the gateway recorded no such receipt"}
    return {
        "valid": True,
        "reason": "genuine and unaltered",
        "transaction_id": receipt["transaction_id"],
        "log_index": receipt["log_index"],
    }


def check_by_prefix(store: Store, transaction_id: str, prefix: str) -> dict[str, Any] | None:
    """The recorded receipt if ``prefix`` starts its signature (what the QR code carries)."""
    receipt = stored(store, transaction_id)
    if receipt is None or len(prefix) < CHECK_PREFIX or not receipt["signature"].startswith(prefix):
        return None
    return receipt


def check_url(base_url: str, receipt: dict[str, Any]) -> str:
    """The URL printed as the receipt's QR code."""
    signature = receipt["signature"][:CHECK_PREFIX]
    safe = signature.replace("+", "-").replace("/", "_")
    return f"{base_url.rstrip('/')}/v1/receipts/{receipt['transaction_id']}/check?s={safe}"


def qr_svg(text: str) -> str:
    """An inline SVG QR code of ``text``."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg") :]  # inline: without the XML declaration
