"""The Civil Registry sandbox: a SOAP server over a small register of invented people.

``GetPerson`` answers from ``sample_people.json``; ``RequestDuplicateBirthCertificate`` registers
one open request per person (a second is ``ALREADY_REQUESTED``; one person has a request open from
the start, the refusal example), refuses the deceased and a wrong
fee, and remembers the gateway's tracking id so ``RequestStatus`` can settle an unknown outcome.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from typing import Any

from pishkhan_civilregistry.terms import NAMESPACE, WSDL
from pishkhan_gateway import SoapFault, SoapSandbox, parse_date

# The agency's own price, kept apart from the adapter's: a wrong quote is refused here.
DUPLICATE_FEE = 300_000  # rials: the registry's own fee for a duplicate certificate

READY_AFTER = dt.timedelta(days=7)
OPEN_REQUEST_FOR = "4032152314"  # محمد صادقی, who already has a duplicate request open


def sample_people() -> dict[str, dict[str, Any]]:
    """The register: national code → person, birth dates as Gregorian dates."""
    text = resources.files("pishkhan_civilregistry").joinpath("sample_people.json").read_text()
    people = {}
    for person in json.loads(text)["people"]:
        people[person["national_code"]] = {**person, "birth_date": parse_date(person["birth_date"])}
    return people


class Registry:
    """The registry's books."""

    def __init__(self) -> None:
        self.people = sample_people()
        self.reset()

    def reset(self) -> None:
        # One request already open, made at a registry office before the sample day: a second
        # one for the same person is the sandbox's refusal example (``ALREADY_REQUESTED``).
        self.requests: dict[str, dict[str, Any]] = {
            "registry-office-1": {
                "national_code": OPEN_REQUEST_FOR,
                "request_no": "CR00000000",
                "ready_on": "2026-01-01",
                "reason": "lost",
            }
        }
        self.calls: dict[str, int] = {
            "GetPerson": 0,
            "RequestDuplicateBirthCertificate": 0,
            "RequestStatus": 0,
        }

    def get_person(self, args: dict[str, str]) -> dict[str, Any]:
        self.calls["GetPerson"] += 1
        person = self.people.get(args.get("NationalCode", ""))
        if person is None:
            return {"Found": False}
        return {
            "Found": True,
            "FirstName": person["first_name"],
            "LastName": person["last_name"],
            "BirthDate": person["birth_date"].isoformat(),
            "Alive": person["alive"],
        }

    def request_duplicate(self, args: dict[str, str]) -> dict[str, Any]:
        self.calls["RequestDuplicateBirthCertificate"] += 1
        code, tracking_id = args.get("NationalCode", ""), args.get("TrackingId", "")
        person = self.people.get(code)
        if person is None or person["birth_date"].isoformat() != args.get("BirthDate"):
            raise SoapFault("no such person in the register", error_code="NOT_FOUND")
        if not person["alive"]:
            raise SoapFault("the person is deceased", error_code="DECEASED")
        if not tracking_id:
            raise SoapFault("TrackingId is required", error_code="INVALID_REQUEST")
        if int(args.get("Fee") or -1) != DUPLICATE_FEE:
            raise SoapFault("the fee does not match the tariff", error_code="FEE_MISMATCH")
        if any(r["national_code"] == code for r in self.requests.values()):
            raise SoapFault(
                "a duplicate certificate request is already open", error_code="ALREADY_REQUESTED"
            )
        request_no = f"CR{len(self.requests) + 1:08d}"
        ready_on = dt.date.today() + READY_AFTER
        self.requests[tracking_id] = {
            "national_code": code,
            "request_no": request_no,
            "ready_on": ready_on.isoformat(),
            "reason": args.get("Reason", ""),
        }
        return {"RequestNo": request_no, "ReadyOn": ready_on.isoformat()}

    def request_status(self, args: dict[str, str]) -> dict[str, Any]:
        self.calls["RequestStatus"] += 1
        request = self.requests.get(args.get("TrackingId", ""))
        if request is None:
            return {"Status": "not_found"}
        return {
            "Status": "registered",
            "RequestNo": request["request_no"],
            "ReadyOn": request["ready_on"],
            "Reason": request["reason"],
        }

    def state(self) -> dict[str, Any]:
        # The ledger without national codes: requests by tracking id, and call counts.
        return {
            "requests": {
                k: {key: v for key, v in r.items() if key != "national_code"}
                for k, r in self.requests.items()
            },
            "calls": self.calls,
        }


def create_sandbox() -> SoapSandbox:
    """A fresh Civil Registry sandbox (WSGI app)."""
    registry = Registry()
    return SoapSandbox(
        wsdl=WSDL,
        namespace=NAMESPACE,
        operations={
            "GetPerson": registry.get_person,
            "RequestDuplicateBirthCertificate": registry.request_duplicate,
            "RequestStatus": registry.request_status,
        },
        state=registry.state,
        reset=registry.reset,
    )
