"""Persian words for what an answer names: the fields a request carries, the identity levels, the
evaluation's windows — so ``message_fa`` says *what* was wrong, not only that something was.

``specifics(extra)`` turns a problem's machine-readable details (``field``, ``fee_cap``,
``identity_level``, ``retry_after``, ``window``, ``priced_by``) into a Persian clause that
``GatewayError.problem`` appends to the error's own sentence."""

from __future__ import annotations

from typing import Any

from pishkhan_gateway.jalali import persian_digits, rials

FIELDS = {
    "national_code": "کد ملی",
    "citizen/national_code": "کد ملی شهروند",
    "birth_date": "تاریخ تولد",
    "citizen/birth_date": "تاریخ تولد شهروند",
    "mobile": "شماره همراه",
    "citizen/mobile": "شماره همراه شهروند",
    "otp": "کد یک‌بار مصرف",
    "citizen/otp": "کد یک‌بار مصرف",
    "office_fee": "کارمزد دفتر",
    "service": "خدمت",
    "params": "پارامترهای خدمت",
    "citizen": "مشخصات شهروند",
    "bill_id": "شناسه قبض",
    "payment_id": "شناسه پرداخت",
    "number": "شماره تلفن",
    "reason": "دلیل",
    "rating": "امتیاز",
    "complaint": "شکایت",
    "effective": "تاریخ اجرا",
    "caps": "سقف‌های تعرفه",
    "office_types": "نوع دفاتر",
    "categories": "رده‌های مکانی",
    "max_rank": "رتبه",
    "text": "متن",
}
LEVELS = {
    1: "کد ملی معتبر",
    2: "تطبیق کد ملی و تاریخ تولد با ثبت احوال",
    3: "تطبیق با ثبت احوال، مالکیت شماره همراه و کد یک‌بار مصرف",
}
WINDOWS = {
    "declaration": "خوداظهاری",
    "review": "بررسی منطقه",
    "correction": "اصلاح",
    "objection": "اعتراض",
    "closed": "پایان مهلت‌ها",
    "not_open": "آغاز نشده",
}


def field(name: str) -> str:
    """A field's Persian name (its last path segment's, or the path itself)."""
    return FIELDS.get(name) or FIELDS.get(name.rsplit("/", 1)[-1]) or name


def specifics(extra: dict[str, Any]) -> str:
    """The Persian clause for a problem's details ('' when there is nothing to add)."""
    parts = []
    if isinstance(extra.get("field"), str):
        parts.append(f"مورد: «{field(extra['field'])}»")
    if extra.get("priced_by") == "law":
        parts.append("مبلغ این خدمت به موجب قانون تعیین شده و دفتر کارمزدی دریافت نمی‌کند")
    elif isinstance(extra.get("fee_cap"), int):
        parts.append(f"سقف کارمزد: {rials(extra['fee_cap'])} ریال")
    if isinstance(extra.get("identity_level"), int) and extra["identity_level"] in LEVELS:
        level = extra["identity_level"]
        parts.append(f"سطح احراز هویت لازم: {persian_digits(level)} ({LEVELS[level]})")
    if isinstance(extra.get("window"), str):
        parts.append(f"مرحله کنونی: {WINDOWS.get(extra['window'], extra['window'])}")
    if isinstance(extra.get("retry_after"), int):
        parts.append(f"پس از {persian_digits(extra['retry_after'])} ثانیه دوباره تلاش کنید")
    return "؛ ".join(parts)
