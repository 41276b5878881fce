"""The supervisor console at ``/console``: Persian, right to left, Jalali dates, server-rendered
pages over the same oversight functions as the audit API, with the same scopes and the same
access log. A little JavaScript (``static/console/console.js``) checks inclusion proofs and tree
head signatures in the browser with WebCrypto, so a supervisor need not trust the server's word.

Sign-in takes a supervisor credential once; the session cookie (signed, HttpOnly,
SameSite=Strict) holds only the id of a session kept on the server, re-checked on every request:
signing out, 30 idle minutes, 8 hours of age, or revoking the credential ends it at once, for
every copy of the cookie. Forms carry a per-session CSRF token.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)

from pishkhan_gateway.auditlog import notes, witnessing
from pishkhan_gateway.auditlog import verify as auditing
from pishkhan_gateway.errors import Forbidden, GatewayError, Unauthorized
from pishkhan_gateway.gateway import Gateway
from pishkhan_gateway.jalali import (
    TEHRAN,
    ascii_digits,
    format_date,
    format_moment,
    persian_digits,
    rials,
)
from pishkhan_gateway.records import agencies as ledger
from pishkhan_gateway.records import reads, scorecards
from pishkhan_gateway.records import search as searches
from pishkhan_gateway.registry import offices, supervisors
from pishkhan_gateway.registry.supervisors import Scope
from pishkhan_gateway.regulation import authority, fines, officerecord
from pishkhan_gateway.regulation import licences as licence_actions
from pishkhan_gateway.web import denials, throttle
from pishkhan_gateway.web.current import gateway

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    static_folder="../../static/console",
    static_url_path="/static",
)

OUTCOME_FA = {"succeeded": "موفق", "refused": "رد شده", "failed": "ناموفق", "unknown": "نامعلوم"}
STATUS_FA = {"active": "فعال", "suspended": "تعلیق", "revoked": "لغو شده"}
ROLE_FA = {
    "regulator": "سازمان تنظیم مقررات",
    "region": "منطقه رگولاتوری",
    "province": "کارگروه استانی",
    "agency": "دستگاه",
}


# -- filters -------------------------------------------------------------------------------------


@bp.app_template_filter("fa")
def _fa(value: Any) -> str:
    if value is None:
        return "—"
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return persian_digits(text).replace(".", "٫")  # the Persian decimal separator


@bp.app_template_filter("rials")
def _rials(value: int | None) -> str:
    return rials(value)


@bp.app_template_filter("jalali")
def _jalali(value: str | dt.datetime | None) -> str:
    if value is None:
        return "—"
    moment = (
        dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return persian_digits(format_moment(moment))


@bp.app_template_filter("jalali_date")
def _jalali_date(value: str | dt.date | None) -> str:
    if value is None:
        return "—"
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return persian_digits(format_date(day))


@bp.app_template_filter("percent")
def _percent(value: float) -> str:
    return persian_digits(f"{value * 100:.1f}").replace(".", "٫") + "٪"


# -- session -------------------------------------------------------------------------------------


def _scope() -> Scope:
    """The signed-in supervisor, re-checked against the store (a revoked key ends it now)."""
    session_id = session.get("sid")
    if not isinstance(session_id, str) or not session_id:
        raise Unauthorized("sign in")
    return supervisors.session_scope(gateway().store, session_id)


def signed_in(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a session; log the access (``console_<action>``) with the view's arguments."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            try:
                g.scope = _scope()
            except Unauthorized:
                session.clear()
                return redirect(url_for("console.signin", next=request.full_path))
            denials.set_actor(supervisor=g.scope.supervisor_id)
            details = {**kwargs, **_logged_args()}
            reads.log_access(gateway().store, g.scope, f"console_{action}", details)
            return view(**kwargs)

        return wrapper

    return decorate


def _logged_args() -> dict[str, Any]:
    """The query as the access log may hold it: a national code only as its pseudonym."""
    args = {k: v for k, v in request.args.items() if v and k != "national_code"}
    if request.args.get("national_code"):
        filters = searches.Filters.parse(request.args, gateway().pseudonyms)
        args["citizen"] = filters.citizen
    return args


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


@bp.before_request
def _check_csrf() -> None:
    if request.method == "POST" and request.endpoint != "console.signin":
        sent = request.form.get("csrf", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(400, "the form has expired; reload the page")


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {
        "csrf_token": _csrf_token if request.blueprint == "console" else None,
        "OUTCOME_FA": OUTCOME_FA,
        "STATUS_FA": STATUS_FA,
        "ROLE_FA": ROLE_FA,
    }


@bp.errorhandler(GatewayError)
def _error(error: GatewayError) -> tuple[str, int]:
    denials.note(error)
    return render_template("console/error.html", error=error, scope=g.get("scope")), error.status


# -- pages ---------------------------------------------------------------------------------------


@bp.get("/")
def index() -> Response:
    return redirect(url_for("console.transactions"))


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Any:
    """Sign in with a supervisor credential (``psk_…``)."""
    error = None
    if request.method == "POST":
        credential = request.form.get("credential", "").strip()
        try:
            scope = supervisors.authenticate(gateway().store, f"Bearer {credential}")
        except Unauthorized as refused:
            error = "کلید ورود پذیرفته نشد"
            denials.note(refused, credential=credential)
            throttle.count_failure()
        else:
            session.clear()
            credential_id = credential.split(".")[0].removeprefix("psk_")
            session["sid"] = supervisors.open_session(gateway().store, credential_id)
            session.permanent = False
            reads.log_access(gateway().store, scope, "console_signin")
            target = request.args.get("next") or ""
            return redirect(target if target.startswith("/console/") else url_for(".transactions"))
    return render_template("console/signin.html", error=error, scope=None), 401 if error else 200


@bp.post("/signout")
def signout() -> Response:
    """End the session on the server, so a copy of the cookie kept from before is worthless."""
    session_id = session.get("sid")
    if isinstance(session_id, str) and session_id:
        supervisors.end_session(gateway().store, session_id)
    session.clear()
    return redirect(url_for("console.signin"))


@bp.get("/transactions")
@signed_in("search")
def transactions() -> str:
    """Search with the API's filters; CSV export of the same filters."""
    gw = gateway()
    filters = searches.Filters.parse(request.args, gw.pseudonyms)
    page = searches.search(
        gw.store, g.scope, filters, limit=50, cursor=request.args.get("cursor") or None
    )
    # Links repeat the search with the pseudonym, never with the national code typed in.
    query = {k: v for k, v in request.args.items() if v and k not in ("cursor", "national_code")}
    if filters.citizen:
        query["citizen"] = filters.citizen
    return render_template(
        "console/transactions.html",
        scope=g.scope,
        page=page,
        query=query,
        agencies=sorted(gw.plugins.agencies),
        services=sorted(s.service.id for s in gw.plugins.catalog()),
    )


@bp.get("/export.csv")
@signed_in("export")
def export() -> Response:
    gw = gateway()
    filters = searches.Filters.parse(request.args, gw.pseudonyms)
    return Response(
        stream_with_context(searches.export(gw.store, g.scope, filters, "csv")),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=pishkhan-transactions.csv"},
    )


@bp.get("/transactions/<transaction_id>")
@signed_in("transaction")
def transaction(transaction_id: str) -> str:
    """One transaction: what supervisors may see of it, its receipt, its log entry, and the
    material to check its inclusion in the signed tree in the browser."""
    gw = gateway()
    row, entry, head, proof = reads.transaction_detail(gw.store, g.scope, transaction_id)
    return render_template(
        "console/transaction.html",
        scope=g.scope,
        tx=searches.audit_view(row),
        receipt=json.loads(row.receipt) if row.receipt else None,
        entry=json.dumps(json.loads(entry), ensure_ascii=False, indent=2),
        entry_b64=base64.b64encode(entry).decode(),
        proof=proof,
        head=head.document if head else None,
        public_key=gw.signer.public_pem,
    )


@bp.get("/offices")
@signed_in("offices")
def offices_list() -> str:
    rows = reads.offices_in_scope(gateway().store, g.scope)
    return render_template("console/offices.html", scope=g.scope, offices=rows)


@bp.get("/offices/<office_id>")
@signed_in("office")
def office(office_id: str) -> str:
    """The office's licence, its scorecard for a period, daily charts and licence actions."""
    gw = gateway()
    typed = ascii_digits(request.args.get("days", "30") or "30")
    days = min(max(int(typed), 1), 366) if typed.isdecimal() and len(typed) < 6 else 30
    today = dt.datetime.now(TEHRAN).date()
    start = today - dt.timedelta(days=days - 1)
    filters = searches.Filters(start=searches.parse_moment(start.isoformat(), "from"))
    card = scorecards.scorecard(gw.store, g.scope, office_id, filters)
    licence = offices.get_office(gw.store, office_id)
    record = officerecord.record(gw.store, g.scope, office_id) if g.scope.role != "agency" else None
    return render_template(
        "console/office.html",
        scope=g.scope,
        card=card,
        licence=licence,
        record=record,
        daily=scorecards.daily(gw.store, g.scope, office_id, start, today),
        days=days,
        can={
            action: authority.may(g.scope, action, licence.province)
            for action in authority.AUTHORITY
        },
        violation_types=fines.TYPES,
        done=request.args.get("done"),
    )


@bp.post("/offices/<office_id>/<any(suspend, reinstate, revoke):action>")
@signed_in("licence_action")
def licence_action(office_id: str, action: str) -> Response:
    licence_actions.licence_action(
        gateway().store, g.scope, office_id, action, request.form.get("reason", "")
    )
    return redirect(url_for("console.office", office_id=office_id, done=action))


@bp.get("/agencies")
@signed_in("agencies")
def agencies() -> str:
    """Each agency: its health answer, breaker state, error rate over the last day and its
    availability hour by hour (calls, failures: from the verified record)."""
    gw = gateway()
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(days=1)
    states = gw.dispatcher.breaker_states()
    rows = []
    for name, agency in sorted(gw.plugins.agencies.items()):
        if g.scope.role == "agency" and g.scope.name != name:
            continue
        context = gw.agency(name)
        health = gw.plugins.health(agency=context)  # the door: a broken hook is {"ok": False}
        card = scorecards.scorecard_of_agency(gw.store, g.scope, name, since)
        hourly = ledger.availability(gw.store, g.scope, name, since, now)
        rows.append(
            {
                "name": name,
                "title_fa": agency.title_fa,
                "url": context.url,
                "timeout": context.timeout,
                "ok": bool(health.get("ok")),
                "breaker": states.get(name, "closed"),
                "hours": hourly["hours"],
                "hours_with_failures": hourly["hours_with_failures"],
                **card,
            }
        )
    return render_template("console/agencies.html", scope=g.scope, agencies=rows)


@bp.get("/supervisors")
@signed_in("supervisors")
def supervisors_list() -> str:
    """The regulator's list of supervisor credentials, each revocable with a reason."""
    if g.scope.role != "regulator":
        raise Forbidden("only the regulator manages supervisor credentials")
    rows = supervisors.credentials_of_all(gateway().store)
    return render_template(
        "console/supervisors.html", scope=g.scope, rows=rows, done=request.args.get("done")
    )


@bp.post("/supervisors/revoke")
@signed_in("revoke_supervisor_credential")
def revoke_supervisor_credential() -> Response:
    licence_actions.revoke_supervisor_key(
        gateway().store,
        g.scope,
        request.form.get("credential", ""),
        request.form.get("reason", ""),
    )
    return redirect(url_for("console.supervisors_list", done="revoked"))


@bp.get("/integrity")
@signed_in("integrity")
def integrity() -> str:
    """The latest signed tree head and checkpoint with its witnesses, checked in the browser,
    and the last ``audit verify``."""
    gw = gateway()
    return render_template(
        "console/integrity.html",
        scope=g.scope,
        head=reads.latest_head_document(gw.store),
        run=auditing.last_run(gw.store),
        public_key=gw.signer.public_pem,
        checkpoint=_checkpoint(gw),
        log_vkey=notes.vkey(gw.sealer.origin, notes.ED25519, gw.signer.public_key),
        witnessing=gw.witnessing.status(),
    )


def _checkpoint(gw: Gateway) -> str | None:
    with gw.store.read() as session:
        latest = witnessing.latest_checkpoint(session)
    return latest.note + latest.cosignatures if latest else None
