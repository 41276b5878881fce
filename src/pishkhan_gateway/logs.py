"""Structured JSON logs (structlog), one shape for our events and for stdlib loggers.

Configured once by ``configure_logging`` before the app is built. Every line carries the request
id (bound per request with contextvars). A redaction processor removes anything shaped like a
national code or a mobile number from every event, whoever logged it: personal data must never
reach a log even by mistake.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_DIGIT = "[0-9۰-۹٠-٩]"
_PERSONAL = re.compile(
    rf"(?<![0-9۰-۹٠-٩])(?:(?:\+98|0098|0)?9{_DIGIT}{{9}}|{_DIGIT}{{10}})(?![0-9۰-۹٠-٩])"
)
REDACTED = "[redacted]"
_configured = False


def redact_text(text: str) -> str:
    """``text`` with national-code- and mobile-shaped digit runs replaced."""
    return _PERSONAL.sub(REDACTED, text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def redact_personal_data(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact personal data in every field (and in exception text)."""
    for key, value in list(event.items()):
        event[key] = _redact(value)
    return event


def _render_exception_then_redact(
    logger: Any, name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event = structlog.processors.format_exc_info(logger, name, event)
    return redact_personal_data(logger, name, event)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (test runners and daemons swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    """Route structlog and stdlib logging through one JSON renderer on stderr (idempotent)."""
    global _configured
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if not _configured:
        structlog.configure(
            processors=[
                *shared,
                redact_personal_data,
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=True,
        )
        formatter = structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _render_exception_then_redact,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
        )
        handler = _StderrHandler()
        handler.setFormatter(formatter)
        handler.set_name("pishkhan")
        root = logging.getLogger()
        root.handlers = [h for h in root.handlers if h.get_name() != "pishkhan"]
        root.addHandler(handler)
        _configured = True
    logging.getLogger().setLevel(level.upper())
