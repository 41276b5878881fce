"""The terms of the telecom agency's contract that both sides read: where its published
contract lives and the names it declares. The adapter (``plugin``) and the sandbox agency
(``sandbox``) each import these; neither imports the other's values, so the sandbox's own prices
can catch an adapter's wrong quote."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CONTRACT = Path(str(resources.files("pishkhan_telecom").joinpath("contract")))
OPENAPI = CONTRACT / "openapi.json"
