"""Every way a request can be refused or fail, as one hierarchy.

Each error carries a stable ``code`` (the public contract, DESIGN.md §2), an HTTP ``status``, an
English ``title`` and a Persian ``message_fa``; one Flask handler turns any of them into
``application/problem+json`` (RFC 9457). ``outcome`` says how the attempt is recorded in the
transaction log: ``refused`` (the gateway or the agency said no; nothing happened), ``failed`` (it
could not be done; nothing happened) or ``unknown`` (it may have happened; reconcile settles it).

    GatewayError
    ├── InternalError           internal_error
    ├── NotSealedYet            not_sealed_yet
    ├── SealedDataInvalid       sealed_data_invalid
    ├── RequestError            invalid_request, unsupported_media_type, payload_too_large,
    │                           headers_too_large, not_found, method_not_allowed, overloaded,
    │                           rate_limited
    ├── AuthenticationError     unauthorized, forbidden, operator_not_registered,
    │                           too_many_failures
    ├── LicenceError            office_suspended, office_revoked, licence_expired
    ├── ServiceError            unknown_service, service_not_entitled, invalid_params
    ├── IdentityError           invalid_national_code, identity_mismatch, citizen_deceased,
    │                           mobile_not_owned, otp_required, otp_invalid, otp_rate_limited,
    │                           identity_unavailable
    ├── TariffError             tariff_exceeded
    ├── IdempotencyError        idempotency_conflict, idempotency_in_progress,
    │                           outcome_unknown
    └── AgencyError             agency_rejected, agency_unavailable, agency_timeout, agency_error

The six that tell the client when to retry (``rate_limited``, ``overloaded``,
``too_many_failures``, ``otp_rate_limited``, ``outcome_unknown``, ``agency_unavailable``) also
derive from the
``RetryAfter`` mixin, which sets the ``Retry-After`` header. ``all_errors()`` lists every concrete
error by walking the classes (no hand-kept list).

Agency plugins raise ``InvalidParams``, ``AgencyRejected``, ``AgencyUnavailable`` and
``AgencyTimeout`` (exported from ``pishkhan_gateway``); everything else is the core's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pishkhan_gateway.persian import specifics


class GatewayError(Exception):
    """Base of every error the gateway reports to a client."""

    code: ClassVar[str] = "gateway_error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Gateway error"
    message_fa: ClassVar[str] = "خطای درگاه"
    outcome: ClassVar[str] = "failed"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 body (without ``transaction_id``, which the recorder adds). Its
        ``message_fa`` is the class's sentence and, in Persian, what was wrong (``persian``)."""
        clause = specifics({**self.extra, "retry_after": getattr(self, "retry_after", None)})
        body = {
            "type": f"https://pishkhan.example/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "message_fa": f"{self.message_fa}؛ {clause}" if clause else self.message_fa,
        }
        body.update({k: v for k, v in self.extra.items() if v is not None})  # absent, not null
        return body


class RetryAfter(GatewayError):
    """An error that tells the client when to try again: ``Retry-After`` in seconds, the class's
    ``retry_after`` unless the raiser knows better."""

    retry_after: ClassVar[int] = 60

    def __init__(
        self, detail: str | None = None, *, retry_after: int | None = None, **extra: Any
    ) -> None:
        super().__init__(detail, **extra)
        self.retry_after = self.retry_after if retry_after is None else retry_after
        self.headers = {"Retry-After": str(self.retry_after)}


class RequestError(GatewayError):
    """The HTTP request itself is unusable."""

    outcome = "refused"


class AuthenticationError(GatewayError):
    """The office credential or the operator is not accepted."""

    outcome = "refused"


class LicenceError(GatewayError):
    """The office may not serve right now."""

    outcome = "refused"
    status = 403


class ServiceError(GatewayError):
    """The service or its parameters are not acceptable."""

    outcome = "refused"


class IdentityError(GatewayError):
    """The citizen's identity is not verified at the level the service needs."""

    outcome = "refused"


class TariffError(GatewayError):
    """The office fee breaks the approved tariff."""

    outcome = "refused"


class IdempotencyError(GatewayError):
    """The Idempotency-Key cannot be honoured as sent."""

    outcome = "refused"


class AgencyError(GatewayError):
    """The agency said no, or could not be reached."""

    outcome = "failed"


class InvalidRequest(RequestError):
    """The request is malformed (invalid_request, HTTP 400)."""

    code = "invalid_request"
    status = 400
    title = "The request is malformed"
    message_fa = "درخواست نامعتبر است"


class UnsupportedMediaType(RequestError):
    """Send application/json (unsupported_media_type, HTTP 415)."""

    code = "unsupported_media_type"
    status = 415
    title = "Send application/json"
    message_fa = "نوع محتوا باید application/json باشد"


class PayloadTooLarge(RequestError):
    """The request body is too large (payload_too_large, HTTP 413)."""

    code = "payload_too_large"
    status = 413
    title = "The request body is too large"
    message_fa = "حجم درخواست بیش از حد مجاز است"


class HeadersTooLarge(RequestError):
    """A request header (or all of them together) is too large (headers_too_large, HTTP 431)."""

    code = "headers_too_large"
    status = 431
    title = "A request header (or all of them together) is too large"
    message_fa = "سرآیندهای درخواست بیش از حد بزرگ است"


class NotFound(RequestError):
    """Not found (not_found, HTTP 404)."""

    code = "not_found"
    status = 404
    title = "Not found"
    message_fa = "یافت نشد"


class InternalError(GatewayError):
    """Internal error; the request id identifies it (internal_error, HTTP 500)."""

    code = "internal_error"
    status = 500
    title = "Internal error; the request id identifies it"
    message_fa = "خطای داخلی درگاه"


class NotSealedYet(GatewayError):
    """The log has not sealed this entry yet; retry shortly (not_sealed_yet, HTTP 503)."""

    code = "not_sealed_yet"
    status = 503
    title = "The log has not sealed this entry yet; retry shortly"
    message_fa = "این رکورد هنوز در درخت ثبت مهر نشده است؛ کمی بعد دوباره تلاش کنید"


class SealedDataInvalid(GatewayError):
    """The sealed personal data does not open: it was moved, altered, or its key is not held
    (sealed_data_invalid, HTTP 500)."""

    code = "sealed_data_invalid"
    status = 500
    title = "The sealed personal data does not open: it was moved, altered, or its key is not held"
    message_fa = "داده‌های شخصی مهرشده باز نمی‌شود: جابه‌جا یا دستکاری شده یا کلید آن در دسترس نیست"


class MethodNotAllowed(RequestError):
    """Method not allowed (method_not_allowed, HTTP 405)."""

    code = "method_not_allowed"
    status = 405
    title = "Method not allowed"
    message_fa = "این روش درخواست مجاز نیست"


class Unauthorized(AuthenticationError):
    """The credential (an office's or a supervisor's) is missing, unknown or revoked
    (unauthorized, HTTP 401); the detail says which kind the operation takes."""

    code = "unauthorized"
    status = 401
    title = "The credential is missing, unknown or revoked"
    message_fa = "اعتبارنامه نامعتبر است، فرستاده نشده یا باطل شده است"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        # RFC 9110 §11.6.1: a 401 names how to authenticate (RFC 6750's Bearer scheme)
        self.headers = {"WWW-Authenticate": 'Bearer realm="pishkhan-gateway"'}


class Forbidden(AuthenticationError):
    """This credential may not do that (forbidden, HTTP 403)."""

    code = "forbidden"
    status = 403
    title = "This credential may not do that"
    message_fa = "این اعتبارنامه مجاز به این کار نیست"


class OperatorNotRegistered(AuthenticationError):
    """The operator is not registered to this office (operator_not_registered, HTTP 403)."""

    code = "operator_not_registered"
    status = 403
    title = "The operator is not registered to this office"
    message_fa = "متصدی برای این دفتر ثبت نشده است"


class OfficeSuspended(LicenceError):
    """The office is suspended (office_suspended, HTTP 403)."""

    code = "office_suspended"
    status = 403
    title = "The office is suspended"
    message_fa = "مجوز دفتر تعلیق شده است"


class OfficeRevoked(LicenceError):
    """The office licence is revoked (office_revoked, HTTP 403)."""

    code = "office_revoked"
    status = 403
    title = "The office licence is revoked"
    message_fa = "مجوز دفتر لغو شده است"


class LicenceExpired(LicenceError):
    """The office licence has expired (licence_expired, HTTP 403)."""

    code = "licence_expired"
    status = 403
    title = "The office licence has expired"
    message_fa = "مجوز دفتر منقضی شده است"


class UnknownService(ServiceError):
    """Unknown or disabled service (unknown_service, HTTP 404)."""

    code = "unknown_service"
    status = 404
    title = "Unknown or disabled service"
    message_fa = "خدمت ناشناخته یا غیرفعال است"


class SlotFull(RequestError):
    """Every counter at this slot is booked (slot_full, HTTP 409): choose another slot."""

    code = "slot_full"
    status = 409
    title = "This appointment slot is full"
    message_fa = "همه نوبت‌های این ساعت پر شده است؛ ساعت دیگری انتخاب کنید"


class SlotUnavailable(RequestError):
    """Not a slot this office offers: outside its hours, a closed day, past, or too far ahead
    (slot_unavailable, HTTP 422)."""

    code = "slot_unavailable"
    status = 422
    title = "The office offers no appointment at this time"
    message_fa = "دفتر در این زمان نوبت نمی‌دهد"


class AppointmentLimit(RetryAfter):
    """This mobile has booked as many appointments as a day allows (appointment_limit, HTTP
    429)."""

    code = "appointment_limit"
    status = 429
    outcome = "refused"
    title = "Too many appointments for this mobile today"
    message_fa = "سقف نوبت‌های امروز برای این شماره همراه پر شده است"
    retry_after = 3600


class EvaluationWindowClosed(RequestError):
    """This step of the evaluation belongs to another window (evaluation_window_closed, HTTP
    409); ``window`` names the one open now."""

    code = "evaluation_window_closed"
    status = 409
    title = "This step of the evaluation is outside its window"
    message_fa = "مهلت این مرحله از ارزیابی نیست"


class FeedbackAlreadyGiven(RequestError):
    """This receipt has been rated already: one rating (and complaint) per receipt
    (feedback_already_given, HTTP 409)."""

    code = "feedback_already_given"
    status = 409
    title = "This receipt has already been rated"
    message_fa = "برای این رسید قبلاً نظر ثبت شده است"


class ServiceNotEntitled(ServiceError):
    """The regulator or the office's province has not entitled this office to sell the service
    (its type, location category or rank) (service_not_entitled, HTTP 403)."""

    code = "service_not_entitled"
    status = 403
    title = "This office is not entitled to sell this service"
    message_fa = "این دفتر مجاز به ارائه این خدمت نیست"


class InvalidParams(ServiceError):
    """A parameter is missing or invalid; ``field`` names it (plugins raise this too)."""

    code = "invalid_params"
    status = 422
    title = "Invalid service parameters"
    message_fa = "پارامترهای خدمت نامعتبر است"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail, field=field, **extra)
        self.field = field


class InvalidNationalCode(IdentityError):
    """The national code is not valid (invalid_national_code, HTTP 422)."""

    code = "invalid_national_code"
    status = 422
    title = "The national code is not valid"
    message_fa = "کد ملی نامعتبر است"


class IdentityMismatch(IdentityError):
    """The national code and birth date do not match the Civil Registry
    (identity_mismatch, HTTP 422)."""

    code = "identity_mismatch"
    status = 422
    title = "The national code and birth date do not match the Civil Registry"
    message_fa = "کد ملی و تاریخ تولد با اطلاعات ثبت احوال مطابقت ندارد"


class CitizenDeceased(IdentityError):
    """The Civil Registry records this person as deceased (citizen_deceased, HTTP 422)."""

    code = "citizen_deceased"
    status = 422
    title = "The Civil Registry records this person as deceased"
    message_fa = "این شخص در ثبت احوال فوت شده ثبت شده است"


class MobileNotOwned(IdentityError):
    """The mobile number is not registered to this national code (mobile_not_owned, HTTP 422)."""

    code = "mobile_not_owned"
    status = 422
    title = "The mobile number is not registered to this national code"
    message_fa = "شماره همراه به نام این کد ملی نیست"


class OtpRequired(IdentityError):
    """A one-time code sent to the citizen"s mobile is required (otp_required, HTTP 401)."""

    code = "otp_required"
    status = 401
    title = "A one-time code sent to the citizen's mobile is required"
    message_fa = "کد یکبار مصرف ارسال شده به همراه شهروند لازم است"


class OtpInvalid(IdentityError):
    """The one-time code is wrong or expired (otp_invalid, HTTP 401)."""

    code = "otp_invalid"
    status = 401
    title = "The one-time code is wrong or expired"
    message_fa = "کد یکبار مصرف نادرست یا منقضی است"


class TooManyFailures(RetryAfter, AuthenticationError):
    """Too many failed authentications from this client (``too_many_failures``, 429)."""

    retry_after = 60
    code = "too_many_failures"
    status = 429
    title = "Too many failed authentications; try again later"
    message_fa = "تعداد تلاش‌های ناموفق ورود بیش از حد مجاز است؛ بعداً دوباره تلاش کنید"


class RateLimited(RetryAfter, RequestError):
    """An office or operator used up its transaction quota (``rate_limited``, 429)."""

    retry_after = 60
    code = "rate_limited"
    status = 429
    title = "Too many transactions; wait before the next one"
    message_fa = "تعداد تراکنش‌ها از سقف مجاز بیشتر شده است؛ کمی بعد دوباره تلاش کنید"


class Overloaded(RetryAfter, RequestError):
    """The worker is at its limit of transactions in flight (``overloaded``, 503): nothing was
    recorded or executed; retry after ``Retry-After``."""

    retry_after = 1
    code = "overloaded"
    status = 503
    title = "The gateway is at capacity; retry shortly"
    message_fa = "درگاه در این لحظه پر است؛ چند لحظه بعد دوباره تلاش کنید"
    outcome = "failed"


class OtpRateLimited(RetryAfter, IdentityError):
    """Too many one-time codes were sent to this mobile lately (``otp_rate_limited``, 429)."""

    retry_after = 60
    code = "otp_rate_limited"
    status = 429
    title = "Too many one-time codes for this mobile; try again later"
    message_fa = "تعداد درخواست کد یکبار مصرف برای این شماره بیش از حد مجاز است"


class IdentityUnavailable(IdentityError):
    """Identity cannot be verified right now (identity_unavailable, HTTP 503)."""

    code = "identity_unavailable"
    status = 503
    title = "Identity cannot be verified right now"
    message_fa = "احراز هویت در حال حاضر ممکن نیست"
    outcome = "failed"


class TariffExceeded(TariffError):
    """``office_fee`` is above the cap in force (the attempt is a recorded violation)."""

    code = "tariff_exceeded"
    status = 422
    title = "The office fee exceeds the approved tariff"
    message_fa = "کارمزد دفتر بیش از تعرفه مصوب است"

    def __init__(
        self, *, fee_cap: int, office_fee: int, schedule: str | None, priced_by: str = "regulator"
    ) -> None:
        why = {
            "law": ": the fee is set by law and is the agency's amount; the office adds nothing",
            "unpriced": ": no approved tariff for this service yet",
        }.get(priced_by, "")
        super().__init__(
            f"office_fee {office_fee} rials is above the cap of {fee_cap} rials{why}",
            fee_cap=fee_cap,
            office_fee=office_fee,
            tariff_schedule=schedule,
            priced_by=priced_by,
        )
        self.fee_cap = fee_cap


class IdempotencyConflict(IdempotencyError):
    """This Idempotency-Key was used with a different request (idempotency_conflict, HTTP 409)."""

    code = "idempotency_conflict"
    status = 409
    title = "This Idempotency-Key was used with a different request"
    message_fa = "این کلید یکتایی قبلاً با درخواست دیگری استفاده شده است"


class IdempotencyInProgress(IdempotencyError):
    """A request with this Idempotency-Key is still being processed
    (idempotency_in_progress, HTTP 409)."""

    code = "idempotency_in_progress"
    status = 409
    title = "A request with this Idempotency-Key is still being processed"
    message_fa = "درخواستی با این کلید یکتایی در حال پردازش است"


class OutcomeUnknown(RetryAfter, IdempotencyError):
    """The first attempt under this Idempotency-Key ended unclearly at the agency and is not
    settled yet (``outcome_unknown``, 409): do not pay again; retry after ``Retry-After`` (the
    next reconcile run), and the answer will be the settled outcome."""

    code = "outcome_unknown"
    status = 409
    title = "The outcome of the first attempt with this key is not known yet"
    message_fa = "نتیجه نخستین تلاش با این کلید یکتایی هنوز معلوم نیست؛ دوباره پرداخت نکنید"
    retry_after = 60


class AgencyRejected(AgencyError):
    """The agency refused the operation; ``reason`` is its own words (plugins raise this)."""

    code = "agency_rejected"
    status = 422
    title = "The agency rejected the request"
    message_fa = "دستگاه ارائه‌دهنده درخواست را رد کرد"
    outcome = "refused"

    def __init__(
        self, reason: str, *, agency_code: str | None = None, reason_fa: str | None = None
    ) -> None:
        super().__init__(
            reason, agency_reason=reason, agency_code=agency_code, agency_reason_fa=reason_fa
        )
        self.reason = reason
        self.agency_code = agency_code


class AgencyUnavailable(RetryAfter, AgencyError):
    """The agency could not be reached and nothing was sent to it (plugins raise this).

    Raise it only when the agency certainly did not act (connection refused, HTTP 503 before
    processing, circuit open); when in doubt raise ``AgencyTimeout``.
    """

    retry_after = 30
    code = "agency_unavailable"
    status = 503
    title = "The agency is unavailable"
    message_fa = "سامانه دستگاه ارائه‌دهنده در دسترس نیست"


class AgencyTimeout(AgencyError):
    """The agency may or may not have acted (plugins raise this): for a payment or request the
    transaction is recorded as ``unknown`` and settled by reconciliation, never retried."""

    code = "agency_timeout"
    status = 504
    title = "The agency did not answer in time"
    message_fa = "دستگاه ارائه‌دهنده در زمان مقرر پاسخ نداد"


class AgencyFault(AgencyError):
    """The agency answered with something the gateway cannot use (agency_error, HTTP 502)."""

    code = "agency_error"
    status = 502
    title = "The agency answered with something the gateway cannot use"
    message_fa = "پاسخ دستگاه ارائه‌دهنده قابل استفاده نیست"


def all_errors() -> tuple[type[GatewayError], ...]:
    """Every concrete error (a class that sets its own ``code``), in definition order: the
    registry the OpenAPI document and the docs meta-test read, derived rather than kept by hand."""
    found: list[type[GatewayError]] = []
    stack: list[type[GatewayError]] = [GatewayError]
    while stack:
        cls = stack.pop(0)
        if cls is not GatewayError and "code" in vars(cls) and cls not in found:
            found.append(cls)
        stack.extend(cls.__subclasses__())
    return tuple(found)


class WrongState(RequestError):
    """The request or case is not at the step this action belongs to (wrong_state, HTTP 409):
    e.g. approving a renewal the province has not recommended, deciding a decided case."""

    code = "wrong_state"
    status = 409
    title = "This action does not fit the request's or case's current state"
    message_fa = "این اقدام با وضعیت کنونی درخواست یا پرونده سازگار نیست"


class RenewalNotOpen(RequestError):
    """A renewal asked for more than three months before the licence expires
    (renewal_not_open, HTTP 409; ``opens_on`` says when it may be asked)."""

    code = "renewal_not_open"
    status = 409
    title = "A renewal may be requested from three months before the licence expires"
    message_fa = "درخواست تمدید پروانه از سه ماه پیش از پایان اعتبار آن پذیرفته می‌شود"


class ObjectionWindowClosed(RequestError):
    """An objection to a decided violation after its seven days (objection_window_closed,
    HTTP 409)."""

    code = "objection_window_closed"
    status = 409
    title = "An objection must be made within seven days of the decision"
    message_fa = "مهلت هفت‌روزه اعتراض به این تصمیم گذشته است"


class ScheduleDropsServices(RequestError):
    """A tariff schedule would stop pricing services the schedule before it priced — every office
    could then charge nothing for them — without ``--amend`` or ``--drop``
    (schedule_drops_services, HTTP 409; ``services`` names them)."""

    code = "schedule_drops_services"
    status = 409
    title = "The schedule would stop pricing services the one before it priced"
    message_fa = "این جدول تعرفه، خدماتی را که در جدول قبلی تعرفه داشتند بی‌تعرفه می‌کند"
