"""A sandbox city hall: two permits, renewals remembered by the gateway's tracking id."""

from pishkhan_cityhall.plugin import CONTRACT
from pishkhan_gateway import JsonError, JsonSandbox

PERMITS = {"100001": "1405-12-29", "100002": "1403-06-31"}


def create_sandbox():
    renewals = {}

    def permit(body, query, permit_no):
        if permit_no not in PERMITS:
            raise JsonError(404, "NO_PERMIT", "no such permit")
        expired = PERMITS[permit_no] < "1405"
        return {"status": "expired" if expired else "valid", "expires": PERMITS[permit_no]}

    def renew(body, query, permit_no):
        permit(body, query, permit_no)
        if body["tracking_id"] in renewals:  # a tracking id seen before: what was done, again
            return renewals[body["tracking_id"]]
        renewal = {"renewal_no": f"R{len(renewals) + 1:05d}", "expires": "1406-12-29"}
        renewals[body["tracking_id"]] = renewal
        return renewal

    def renewal(body, query, tracking_id):
        if tracking_id not in renewals:
            raise JsonError(404, "NOT_FOUND", "no renewal with this tracking id")
        return renewals[tracking_id]

    return JsonSandbox(
        openapi=CONTRACT / "openapi.json",
        routes={
            "GET /permits/<permit_no>": permit,
            "POST /permits/<permit_no>/renewals": renew,
            "GET /renewals/<tracking_id>": renewal,
        },
        state=lambda: {"renewals": renewals},
        reset=renewals.clear,
    )
