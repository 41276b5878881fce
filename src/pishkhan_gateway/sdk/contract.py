"""An agency's contract files, read the same way by its plugin, the core and the test kit.

``contracts/<agency>/services.json`` declares the agency's counter services::

    {"agency": "postbank",
     "services": {"postbank.bill.pay": {"title_fa": "…", "title_en": "…", "identity_level": 1,
                                        "kind": "payment", "params_schema": {…},
                                        "result_schema": {…}, "registry_id": "…"}}}

A plugin builds its ``pishkhan_services`` answer with ``declared_services(path)``, so what it
offers is what the contract says; the test kit checks the two still agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pishkhan_gateway.sdk.values import Service

FIELDS = ("title_fa", "title_en", "identity_level", "kind", "params_schema")


def read_services(path: Path) -> dict[str, Any]:
    """The parsed ``services.json``."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def declared_services(path: Path) -> list[Service]:
    """The ``Service`` objects the contract at ``path`` declares, in file order."""
    document = read_services(path)
    return [
        Service(
            id=service_id,
            agency=document["agency"],
            title_fa=spec["title_fa"],
            title_en=spec["title_en"],
            identity_level=spec["identity_level"],
            kind=spec["kind"],
            params_schema=spec["params_schema"],
            result_schema=spec.get("result_schema"),
            description=spec.get("description", ""),
            registry_id=spec.get("registry_id"),
        )
        for service_id, spec in document["services"].items()
    ]
