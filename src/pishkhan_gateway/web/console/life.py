"""The console's office's-life pages: requests recommended and decided, revocation requests,
violation cases and objections ruled on — each form calling the same regulation functions as the
API (``web/api/licences.py``, ``web/api/cases.py``), with the same authority table deciding who
sees which form. The routes hang on the console's blueprint (``base.py``: sessions, CSRF, the
access log)."""

from __future__ import annotations

from typing import Any

from flask import Response, g, redirect, request, url_for

from pishkhan_gateway.errors import InvalidRequest
from pishkhan_gateway.jalali import ascii_digits
from pishkhan_gateway.regulation import lifecycle, violations
from pishkhan_gateway.web.console.base import bp, signed_in
from pishkhan_gateway.web.current import gateway

ACTION_FA = {
    "suspend": "تعلیق",
    "reinstate": "رفع تعلیق",
    "revoke": "لغو مجوز",
    "revocation_request": "درخواست لغو مجوز از سازمان",
    "recommend": "نظر کارگروه استانی",
    "approve": "تأیید",
    "refuse": "رد",
    "violation": "پرونده تخلف",
    "rule": "رأی درباره اعتراض",
}
KIND_FA = {"renewal": "تمدید پروانه", "transfer": "انتقال امتیاز", "relocation": "تغییر نشانی"}
URL_KIND = {"renewal": "renewal", "transfer": "transfer", "relocation": "relocate"}
DETAIL_FA = {
    "expires_on": "پایان اعتبار",
    "late": "پس از پایان اعتبار",
    "holder": "دارنده جدید",
    "city": "شهر",
    "address": "نشانی",
    "category": "رده مکانی",
}
STATE_FA = {
    "requested": "درخواست شده",
    "recommended": "با نظر استان",
    "approved": "تأیید شده",
    "refused": "رد شده",
    "open": "باز",
    "decided": "رأی صادر شده",
    "objected": "اعتراض شده",
    "upheld": "رأی تأیید شد",
    "overturned": "رأی نقض شد",
}
VIOLATION_FA = {
    "overcharging": "دریافت وجه مازاد بر تعرفه",
    "forged_documents": "جعل یا مخدوش کردن مدارک",
    "unapproved_relocation": "تغییر نشانی بدون موافقت",
    "hours": "رعایت نکردن ساعات کاری",
    "other": "سایر",
}
EVENT_FA = {
    "renewal_requested": "درخواست تمدید",
    "renewal_recommended": "نظر استان درباره تمدید",
    "licence_renewed": "تمدید پروانه",
    "renewal_refused": "رد تمدید",
    "transfer_requested": "درخواست انتقال امتیاز",
    "transfer_recommended": "نظر استان درباره انتقال",
    "licence_transferred": "انتقال امتیاز",
    "transfer_refused": "رد انتقال",
    "relocation_requested": "درخواست تغییر نشانی",
    "relocation_recommended": "نظر استان درباره تغییر نشانی",
    "office_relocated": "تغییر نشانی",
    "relocation_refused": "رد تغییر نشانی",
    "revocation_requested": "درخواست لغو از سازمان",
    "suspended": "تعلیق",
    "reinstated": "رفع تعلیق",
    "revoked": "لغو پروانه",
}


@bp.app_context_processor
def _words() -> dict[str, Any]:
    """The Persian names the office page shows."""
    return {
        "ACTION_FA": ACTION_FA,
        "KIND_FA": KIND_FA,
        "URL_KIND": URL_KIND,
        "STATE_FA": STATE_FA,
        "DETAIL_FA": DETAIL_FA,
        "VIOLATION_FA": VIOLATION_FA,
        "EVENT_FA": EVENT_FA,
    }


def _done(office_id: str, what: str) -> Response:
    return redirect(url_for("console.office", office_id=office_id, done=what) + "#record")


@bp.post("/offices/<office_id>/revocation-request")
@signed_in("revocation_request")
def revocation_request(office_id: str) -> Response:
    lifecycle.request_revocation(
        gateway().store, g.scope, office_id, request.form.get("reason", "")
    )
    return _done(office_id, "revocation_request")


@bp.post("/offices/<office_id>/<any(renewal, transfer, relocate):kind>/recommend")
@signed_in("recommend")
def recommend(office_id: str, kind: str) -> Response:
    lifecycle.recommend(
        gateway().store,
        g.scope,
        office_id,
        "relocation" if kind == "relocate" else kind,
        request.form.get("support") != "no",
        request.form.get("reason", ""),
    )
    return _done(office_id, "recommend")


@bp.post(
    "/offices/<office_id>/<any(renewal, transfer, relocate):kind>/<any(approve, refuse):verdict>"
)
@signed_in("decide_request")
def decide_request(office_id: str, kind: str, verdict: str) -> Response:
    lifecycle.decide(
        gateway().store,
        g.scope,
        office_id,
        "relocation" if kind == "relocate" else kind,
        verdict == "approve",
        request.form.get("reason", ""),
        request.form.get("effective") or None,
    )
    return _done(office_id, verdict)


@bp.post("/offices/<office_id>/violations")
@signed_in("violation")
def violation(office_id: str) -> Response:
    """Open a case and decide it (the console's form does both; the API can also just open)."""
    form = request.form
    transactions = [t.strip() for t in form.get("transactions", "").split(",") if t.strip()]
    body: dict[str, Any] = {
        "type": form.get("type"),
        "transactions": transactions,
        "description": form.get("description") or None,
        "decision": {
            "points": _whole(form.get("points"), "points"),
            "fine": _whole(form.get("fine"), "fine"),
            "reason": form.get("reason", ""),
            "suspend": form.get("suspend") == "yes",
        },
    }
    if form.get("complaint"):
        body["complaint"] = form["complaint"]
    violations.open_case(gateway().store, g.scope, office_id, body)
    return _done(office_id, "violation")


def _whole(typed: str | None, field: str) -> int:
    """A whole number typed in a form (Persian digits and separators accepted)."""
    text = ascii_digits((typed or "0").strip()).replace(",", "").replace("٬", "")
    if not text.isdecimal() or len(text) > 18:
        raise InvalidRequest(f"{field}: a whole number", field=field)
    return int(text)


@bp.post("/offices/<office_id>/violations/<case_id>/rule")
@signed_in("rule_objection")
def rule(office_id: str, case_id: str) -> Response:
    violations.rule(
        gateway().store,
        g.scope,
        office_id,
        case_id,
        request.form.get("uphold") == "yes",
        request.form.get("reason", ""),
    )
    return _done(office_id, "rule")
