"""The console's appointments page: per office in scope, today's queue, and the last and next
days' places, bookings, served and no-show, with a chart each and the days over capacity marked
— which offices are overrun, as a figure. The same functions as the API
(``citizens/crowding.py``, ``bookings.py``); the route hangs on the console's blueprint."""

from __future__ import annotations

import datetime as dt

from flask import g, render_template

from pishkhan_gateway.citizens import bookings, crowding
from pishkhan_gateway.registry.offices import today
from pishkhan_gateway.web.console.base import bp, signed_in
from pishkhan_gateway.web.current import gateway

DAYS_BACK, DAYS_AHEAD = 7, 6


@bp.get("/appointments")
@signed_in("appointments")
def appointments_overview() -> str:
    first, last = today() - dt.timedelta(days=DAYS_BACK), today() + dt.timedelta(days=DAYS_AHEAD)
    rows = crowding.crowding(gateway().store, g.scope, first, last)
    offices: dict[str, dict] = {}
    for row in rows:
        entry = offices.setdefault(
            row["office"], {"name": row["name"], "province": row["province"], "days": []}
        )
        entry["days"].append({**row, "jalali": row["date"].replace("-", "/")})
    for office_id, entry in offices.items():
        entry["days"].reverse()  # the charts draw the newest day first, from the right
        entry["over"] = [d for d in entry["days"] if d["over_capacity"]]
        entry["queue"] = bookings.queue(gateway(), office_id, today())  # today's queue
    return render_template("console/appointments.html", scope=g.scope, offices=offices)
