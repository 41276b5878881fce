"""SOAP for agency plugins: a hardened zeep client and one mapping of what can go wrong.

Public (plugins import it): ``client(wsdl, binding, url, timeout)`` builds a zeep service proxy
once per (WSDL, URL, timeout) with the WSDL read from a local file, DTDs, entities and external
references forbidden, and huge trees refused; ``call(kind, operation, **args)`` runs one operation
and turns every transport or parsing failure into the gateway's error for that service kind.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import structlog
import zeep
import zeep.exceptions
from lxml import etree

from pishkhan_gateway.errors import (
    AgencyFault,
    AgencyRejected,
    AgencyTimeout,
    AgencyUnavailable,
    GatewayError,
)
from pishkhan_gateway.sdk import agencyhttp
from pishkhan_gateway.sdk.agencyhttp import ReplyTooLarge

log = structlog.get_logger(__name__)


class CappedTransport(zeep.Transport):
    """A zeep transport on an ``agencyhttp`` session: the call ends by the dispatcher's deadline
    and a reply over ``MAX_REPLY_BYTES`` is refused while it is read, so a hostile or broken
    agency cannot make a worker buffer an unbounded body or wait on a trickle."""

    def post(self, address: str, message: Any, headers: dict[str, str]) -> Any:
        response = self.session.post(
            address, data=message, headers=headers, stream=True, timeout=self.operation_timeout
        )
        with response:
            response._content = agencyhttp.read_capped(response)
        return response


HARDENED = zeep.Settings(
    strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True, xml_huge_tree=False
)


@functools.lru_cache(maxsize=64)
def client(wsdl: str | Path, binding: str, url: str, timeout: float) -> Any:
    """A service proxy for ``binding`` (``{namespace}Name``) at ``url``; built once, then shared.

    The WSDL is a local file (``contracts/<agency>/``): nothing is fetched from the network to
    learn the contract. ``timeout`` bounds every operation (connect and read).
    """
    session = agencyhttp.session()
    transport = CappedTransport(session=session, timeout=timeout, operation_timeout=timeout)
    wsdl_client = zeep.Client(str(wsdl), transport=transport, settings=HARDENED)
    return wsdl_client.create_service(binding, url)


def unclear(kind: str, detail: str) -> GatewayError:
    # The agency may have acted: for an inquiry that is merely a failure, for a payment or a
    # request the outcome is unknown and must be reconciled.
    if kind == "inquiry":
        return AgencyFault(detail)
    return AgencyTimeout(f"{detail}; the outcome is unknown and will be reconciled")


def transport_failure(kind: str, exc: requests.exceptions.RequestException) -> GatewayError:
    """The gateway's error for a failed HTTP exchange (shared by ``soap`` and ``rest``): not
    connected means the agency did not act; a read timeout or a broken connection may mean it did.
    Past the call's deadline every failure is a timeout (``agencyhttp``'s watchdog ends a late
    exchange by shutting its socket, which looks like a broken connection). The address tried
    (scheme, host and port: a path may hold a mobile number) is logged (``agency_call_failed``),
    so an operator whose agency or sandbox moved sees where the gateway looked; the counter's
    answer does not carry internal addresses.
    """
    tried = urlsplit(getattr(getattr(exc, "request", None), "url", None) or "")
    log.warning(
        "agency_call_failed",
        address=f"{tried.scheme}://{tried.netloc}" if tried.netloc else None,
        error=type(exc).__name__,
    )
    if agencyhttp.expired():
        return AgencyTimeout("the agency did not answer within the deadline")
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return AgencyUnavailable("the agency did not accept the connection in time")
    if isinstance(exc, requests.exceptions.Timeout):
        return AgencyTimeout("the agency did not answer in time")
    if isinstance(exc, requests.exceptions.ConnectionError) and (
        "NewConnectionError" in repr(exc) or "Connection refused" in repr(exc)
    ):
        return AgencyUnavailable("the agency refused the connection")
    return unclear(kind, "the connection to the agency broke")


def _fault_code(fault: zeep.exceptions.Fault) -> str | None:
    if fault.detail is None:
        return None
    for element in fault.detail.iter():
        if isinstance(element.tag, str) and etree.QName(element).localname == "ErrorCode":
            return (element.text or "").strip() or None
    return None


def call(kind: str, operation: Callable[..., Any], **args: Any) -> Any:
    """Run one SOAP operation, mapping failures to ``AgencyRejected``/``Unavailable``/…

    A SOAP Fault with an ``ErrorCode`` in its detail (or a ``Client`` fault) is the agency's
    considered refusal: ``AgencyRejected``. A ``Server`` fault, a refused connection or HTTP 503
    means it did not act: ``AgencyUnavailable``. A read timeout, a dropped connection, another
    HTTP error or an unparseable reply leaves it unclear.
    """
    try:
        return operation(**args)
    except zeep.exceptions.Fault as fault:
        code = _fault_code(fault)
        if code or (fault.code or "").lower().endswith("client"):
            raise AgencyRejected(fault.message or "rejected", agency_code=code) from None
        raise AgencyUnavailable(f"the agency reported a server fault: {fault.message}") from None
    except requests.exceptions.RequestException as exc:
        raise transport_failure(kind, exc) from None
    except zeep.exceptions.TransportError as exc:
        if exc.status_code == 503:
            raise AgencyUnavailable("the agency answered HTTP 503") from None
        if exc.status_code == 200:  # zeep reports an unparseable reply this way (with all of it)
            reason = str(exc.message).split(".\nContent:", 1)[0][:300]
            raise unclear(kind, f"the agency's reply is not acceptable XML: {reason}") from None
        raise unclear(kind, f"the agency answered HTTP {exc.status_code}") from None
    except (
        zeep.exceptions.XMLSyntaxError,
        zeep.exceptions.XMLParseError,
        zeep.exceptions.ValidationError,
        etree.XMLSyntaxError,
    ) as exc:
        raise unclear(kind, f"the agency's reply is not valid: {type(exc).__name__}") from None
    except (zeep.exceptions.DTDForbidden, zeep.exceptions.EntitiesForbidden, ReplyTooLarge) as exc:
        raise unclear(
            kind, f"the agency's reply was refused as unsafe: {type(exc).__name__}"
        ) from None
