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
    ├── ServiceError            unknown_service, invalid_params
    ├── IdentityError           invalid_national_code, identity_mismatch, citizen_deceased,
    │                           mobile_not_owned, otp_required, otp_invalid, otp_rate_limited,
    │                           identity_unavailable
    ├── TariffError             tariff_exceeded
    ├── IdempotencyError        idempotency_conflict, idempotency_in_progress
    └── AgencyError             agency_rejected, agency_unavailable, agency_timeout, agency_error

Agency plugins raise ``InvalidParams``, ``AgencyRejected``, ``AgencyUnavailable`` and
``AgencyTimeout`` (exported from ``pishkhan_gateway``); everything else is the core's.
"""

from __future__ import annotations

from typing import Any, ClassVar


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
        """The RFC 9457 body (without ``transaction_id``, which the recorder adds)."""
        body = {
            "type": f"https://pishkhan.example/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            "message_fa": self.message_fa,
        }
        body.update(self.extra)
        return body


def _error(
    name: str,
    base: type[GatewayError],
    code: str,
    status: int,
    title: str,
    fa: str,
    outcome: str | None = None,
) -> type[GatewayError]:
    attrs: dict[str, Any] = {
        "code": code,
        "status": status,
        "title": title,
        "message_fa": fa,
        "__doc__": f"{title} ({code}, HTTP {status}).",
    }
    if outcome:
        attrs["outcome"] = outcome
    return type(name, (base,), attrs)


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


InvalidRequest = _error(
    "InvalidRequest",
    RequestError,
    "invalid_request",
    400,
    "The request is malformed",
    "درخواست نامعتبر است",
)
UnsupportedMediaType = _error(
    "UnsupportedMediaType",
    RequestError,
    "unsupported_media_type",
    415,
    "Send application/json",
    "نوع محتوا باید application/json باشد",
)
PayloadTooLarge = _error(
    "PayloadTooLarge",
    RequestError,
    "payload_too_large",
    413,
    "The request body is too large",
    "حجم درخواست بیش از حد مجاز است",
)
HeadersTooLarge = _error(
    "HeadersTooLarge",
    RequestError,
    "headers_too_large",
    431,
    "A request header (or all of them together) is too large",
    "سرآیندهای درخواست بیش از حد بزرگ است",
)
NotFound = _error("NotFound", RequestError, "not_found", 404, "Not found", "یافت نشد")
InternalError = _error(
    "InternalError",
    GatewayError,
    "internal_error",
    500,
    "Internal error; the request id identifies it",
    "خطای داخلی درگاه",
)
NotSealedYet = _error(
    "NotSealedYet",
    GatewayError,
    "not_sealed_yet",
    503,
    "The log has not sealed this entry yet; retry shortly",
    "این رکورد هنوز در درخت ثبت مهر نشده است؛ کمی بعد دوباره تلاش کنید",
)
SealedDataInvalid = _error(
    "SealedDataInvalid",
    GatewayError,
    "sealed_data_invalid",
    500,
    "The sealed personal data does not open: it was moved, altered, or its key is not held",
    "داده‌های شخصی مهرشده باز نمی‌شود: جابه‌جا یا دستکاری شده یا کلید آن در دسترس نیست",
)
MethodNotAllowed = _error(
    "MethodNotAllowed",
    RequestError,
    "method_not_allowed",
    405,
    "Method not allowed",
    "این روش درخواست مجاز نیست",
)

Unauthorized = _error(
    "Unauthorized",
    AuthenticationError,
    "unauthorized",
    401,
    "The office credential is missing, unknown or revoked",
    "اعتبارنامه دفتر نامعتبر یا باطل شده است",
)
Forbidden = _error(
    "Forbidden",
    AuthenticationError,
    "forbidden",
    403,
    "This credential may not do that",
    "این اعتبارنامه مجاز به این کار نیست",
)
OperatorNotRegistered = _error(
    "OperatorNotRegistered",
    AuthenticationError,
    "operator_not_registered",
    403,
    "The operator is not registered to this office",
    "متصدی برای این دفتر ثبت نشده است",
)

OfficeSuspended = _error(
    "OfficeSuspended",
    LicenceError,
    "office_suspended",
    403,
    "The office is suspended",
    "مجوز دفتر تعلیق شده است",
)
OfficeRevoked = _error(
    "OfficeRevoked",
    LicenceError,
    "office_revoked",
    403,
    "The office licence is revoked",
    "مجوز دفتر لغو شده است",
)
LicenceExpired = _error(
    "LicenceExpired",
    LicenceError,
    "licence_expired",
    403,
    "The office licence has expired",
    "مجوز دفتر منقضی شده است",
)

UnknownService = _error(
    "UnknownService",
    ServiceError,
    "unknown_service",
    404,
    "Unknown or disabled service",
    "خدمت ناشناخته یا غیرفعال است",
)


class InvalidParams(ServiceError):
    """A parameter is missing or invalid; ``field`` names it (plugins raise this too)."""

    code = "invalid_params"
    status = 422
    title = "Invalid service parameters"
    message_fa = "پارامترهای خدمت نامعتبر است"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(detail, field=field, **extra)
        self.field = field


InvalidNationalCode = _error(
    "InvalidNationalCode",
    IdentityError,
    "invalid_national_code",
    422,
    "The national code is not valid",
    "کد ملی نامعتبر است",
)
IdentityMismatch = _error(
    "IdentityMismatch",
    IdentityError,
    "identity_mismatch",
    422,
    "The national code and birth date do not match the Civil Registry",
    "کد ملی و تاریخ تولد با اطلاعات ثبت احوال مطابقت ندارد",
)
CitizenDeceased = _error(
    "CitizenDeceased",
    IdentityError,
    "citizen_deceased",
    422,
    "The Civil Registry records this person as deceased",
    "این شخص در ثبت احوال فوت شده ثبت شده است",
)
MobileNotOwned = _error(
    "MobileNotOwned",
    IdentityError,
    "mobile_not_owned",
    422,
    "The mobile number is not registered to this national code",
    "شماره همراه به نام این کد ملی نیست",
)
OtpRequired = _error(
    "OtpRequired",
    IdentityError,
    "otp_required",
    401,
    "A one-time code sent to the citizen's mobile is required",
    "کد یکبار مصرف ارسال شده به همراه شهروند لازم است",
)
OtpInvalid = _error(
    "OtpInvalid",
    IdentityError,
    "otp_invalid",
    401,
    "The one-time code is wrong or expired",
    "کد یکبار مصرف نادرست یا منقضی است",
)


class TooManyFailures(AuthenticationError):
    """Too many failed authentications from this client (``too_many_failures``, 429)."""

    code = "too_many_failures"
    status = 429
    title = "Too many failed authentications; try again later"
    message_fa = "تعداد تلاش‌های ناموفق ورود بیش از حد مجاز است؛ بعداً دوباره تلاش کنید"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class RateLimited(RequestError):
    """An office or operator used up its transaction quota (``rate_limited``, 429)."""

    code = "rate_limited"
    status = 429
    title = "Too many transactions; wait before the next one"
    message_fa = "تعداد تراکنش‌ها از سقف مجاز بیشتر شده است؛ کمی بعد دوباره تلاش کنید"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class Overloaded(RequestError):
    """The worker is at its limit of transactions in flight (``overloaded``, 503): nothing was
    recorded or executed; retry after ``Retry-After``."""

    code = "overloaded"
    status = 503
    title = "The gateway is at capacity; retry shortly"
    message_fa = "درگاه در این لحظه پر است؛ چند لحظه بعد دوباره تلاش کنید"
    outcome = "failed"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class OtpRateLimited(IdentityError):
    """Too many one-time codes were sent to this mobile lately (``otp_rate_limited``, 429)."""

    code = "otp_rate_limited"
    status = 429
    title = "Too many one-time codes for this mobile; try again later"
    message_fa = "تعداد درخواست کد یکبار مصرف برای این شماره بیش از حد مجاز است"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


IdentityUnavailable = _error(
    "IdentityUnavailable",
    IdentityError,
    "identity_unavailable",
    503,
    "Identity cannot be verified right now",
    "احراز هویت در حال حاضر ممکن نیست",
    outcome="failed",
)


class TariffExceeded(TariffError):
    """``office_fee`` is above the cap in force (the attempt is a recorded violation)."""

    code = "tariff_exceeded"
    status = 422
    title = "The office fee exceeds the approved tariff"
    message_fa = "کارمزد دفتر بیش از تعرفه مصوب است"

    def __init__(self, *, fee_cap: int, office_fee: int, schedule: str | None) -> None:
        super().__init__(
            f"office_fee {office_fee} rials is above the cap of {fee_cap} rials",
            fee_cap=fee_cap,
            office_fee=office_fee,
            tariff_schedule=schedule,
        )
        self.fee_cap = fee_cap


IdempotencyConflict = _error(
    "IdempotencyConflict",
    IdempotencyError,
    "idempotency_conflict",
    409,
    "This Idempotency-Key was used with a different request",
    "این کلید یکتایی قبلاً با درخواست دیگری استفاده شده است",
)
IdempotencyInProgress = _error(
    "IdempotencyInProgress",
    IdempotencyError,
    "idempotency_in_progress",
    409,
    "A request with this Idempotency-Key is still being processed",
    "درخواستی با این کلید یکتایی در حال پردازش است",
)


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


class AgencyUnavailable(AgencyError):
    """The agency could not be reached and nothing was sent to it (plugins raise this).

    Raise it only when the agency certainly did not act (connection refused, HTTP 503 before
    processing, circuit open); when in doubt raise ``AgencyTimeout``.
    """

    code = "agency_unavailable"
    status = 503
    title = "The agency is unavailable"
    message_fa = "سامانه دستگاه ارائه‌دهنده در دسترس نیست"

    def __init__(self, detail: str | None = None, *, retry_after: int = 30) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


AgencyTimeout = _error(
    "AgencyTimeout",
    AgencyError,
    "agency_timeout",
    504,
    "The agency did not answer in time",
    "دستگاه ارائه‌دهنده در زمان مقرر پاسخ نداد",
)
AgencyTimeout.__doc__ = (
    "The agency may or may not have acted (plugins raise this): for a payment or request the "
    "transaction is recorded as ``unknown`` and settled by reconciliation, never retried."
)
AgencyFault = _error(
    "AgencyFault",
    AgencyError,
    "agency_error",
    502,
    "The agency answered with something the gateway cannot use",
    "پاسخ دستگاه ارائه‌دهنده قابل استفاده نیست",
)

ALL_ERRORS: tuple[type[GatewayError], ...] = (
    InternalError,
    NotSealedYet,
    SealedDataInvalid,
    HeadersTooLarge,
    Forbidden,
    InvalidRequest,
    UnsupportedMediaType,
    PayloadTooLarge,
    NotFound,
    MethodNotAllowed,
    Overloaded,
    RateLimited,
    Unauthorized,
    OperatorNotRegistered,
    TooManyFailures,
    OfficeSuspended,
    OfficeRevoked,
    LicenceExpired,
    UnknownService,
    InvalidParams,
    InvalidNationalCode,
    IdentityMismatch,
    CitizenDeceased,
    MobileNotOwned,
    OtpRequired,
    OtpInvalid,
    OtpRateLimited,
    IdentityUnavailable,
    TariffExceeded,
    IdempotencyConflict,
    IdempotencyInProgress,
    AgencyRejected,
    AgencyUnavailable,
    AgencyTimeout,
    AgencyFault,
)
