"""Building and serving agency sandboxes: real HTTP servers with deterministic data and faults.

Public (plugins import it). ``SoapSandbox`` is a small document/literal SOAP 1.1 server: give it
the agency's WSDL (served at ``?wsdl``, the same file as in ``contracts/``), its target namespace
and one Python function per operation (``{element: text}`` in, a dict out, or raise
``SoapFault``). ``JsonSandbox`` is the same for a REST/JSON agency: its OpenAPI file (served at
``/openapi.json``) and one function per route (or raise ``JsonError``). Every sandbox has fault
knobs, set over HTTP so tests and people can use them:

    POST   /_sandbox/faults   {"mode": "http500"|"http503"|"malformed"|"hang"|"slow_reply"
                                       |"drop_after_apply"|"oversized"
                                       |"soap_fault"|"xxe"|"xxe_http"|"dtd"
                                       |"deep_xml" (SOAP only),
                               "latency_ms": 200, "times": 1, "hang_seconds": 30,
                               "only": "PayBill"}
                              (``hang`` stalls before doing anything; ``slow_reply`` does the
                              work, then stalls before answering: the payment happened but the
                              caller times out; ``drop_after_apply`` does the work, then cuts the
                              connection; ``oversized`` answers 12 MB; ``xxe`` answers with a
                              DTD, an external entity and an entity-expansion bomb;
                              ``xxe_http`` with an external DTD and entity fetched over HTTP
                              from the sandbox itself (counted as ``xxe_fetches`` in the
                              state); ``dtd`` with only an internal DTD; ``deep_xml`` nests
                              100,000 elements; ``only``
                              limits the faults to calls whose method, path or SOAPAction
                              contains it; ``times`` counts those calls down)
    DELETE /_sandbox/faults   back to normal
    GET    /_sandbox/state    the sandbox's own ledger (what it did), as JSON
    POST   /_sandbox/reset    forget everything (fresh sample data)

A hand-written server (on lxml and werkzeug) rather than spyne: spyne is barely maintained, and a
sandbox needs little of SOAP but full control over faults and malformed replies.
``serve(apps, host, base_port)`` runs sandboxes on loopback threads (``sandbox`` command, demo,
tests).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True, load_dtd=False
)
MAX_REQUEST_BYTES = 1_000_000


# A reply an attacker controlling an agency (or the path to it) might send: an external entity
# reading a local file, and nested entities that expand exponentially ("billion laughs").
XXE_REPLY = b"""<?xml version="1.0"?>
<!DOCTYPE r [
  <!ENTITY file SYSTEM "file:///etc/passwd">
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
<soap:Body><tns:Reply xmlns:tns="NS">&file;&d;</tns:Reply></soap:Body></soap:Envelope>"""
# The same attack over the network: an external entity (and an external DTD) fetched from a URL,
# here the sandbox's own /_sandbox/fetched, which counts what reached it (``xxe_fetches`` in the
# state): a parser that resolves it leaks that it parsed, and can be steered at internal hosts.
XXE_HTTP_REPLY = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "URL/dtd" [
  <!ENTITY remote SYSTEM "URL/entity">
]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
<soap:Body><tns:Reply xmlns:tns="NS">&remote;</tns:Reply></soap:Body></soap:Envelope>"""
# Only a document type declaration, nothing external: still refused (forbid_dtd).
DTD_REPLY = b"""<?xml version="1.0"?>
<!DOCTYPE soap:Envelope [ <!ATTLIST tns:Reply injected CDATA "from-the-dtd"> ]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
<soap:Body><tns:Reply xmlns:tns="NS"/></soap:Body></soap:Envelope>"""
DEEP_XML_LEVELS = 100_000
OVERSIZED_BYTES = 12 * 1024 * 1024


def _drop_connection(request: Request) -> None:
    """Close the client's connection with no reply: the work is done, the answer is lost."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


class SoapFault(Exception):
    """Raise from an operation to answer with a SOAP Fault carrying an ``ErrorCode``."""

    def __init__(
        self, message: str, *, error_code: str | None = None, faultcode: str = "soap:Client"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.faultcode = faultcode


@dataclass
class Faults:
    """The fault knobs currently set."""

    mode: str | None = None
    latency_ms: int = 0
    times: int | None = None
    hang_seconds: float = 30.0
    only: str | None = None

    def take(self, call: str) -> tuple[str | None, int, float]:
        """The fault to apply to this call (and count it down); ``call`` names it (method,
        path, SOAPAction) for the ``only`` filter."""
        if self.only and self.only not in call:
            return None, 0, self.hang_seconds
        mode = self.mode
        if self.times is not None:
            if self.times <= 0:
                return None, self.latency_ms, self.hang_seconds
            self.times -= 1
        return mode, self.latency_ms, self.hang_seconds


Operation = Callable[[dict[str, Any]], Mapping[str, Any]]


class Sandbox:
    """What every sandbox shares: the fault knobs, the ``/_sandbox/`` controls, one lock.

    Subclasses implement ``handle(request)`` (the agency's own protocol) and may override
    ``fault_response(mode)`` for the modes whose reply depends on the protocol.
    """

    MODES: tuple[str, ...] = (
        "http500",
        "http503",
        "malformed",
        "hang",
        "slow_reply",
        "drop_after_apply",
        "oversized",
    )

    def __init__(self, *, state: Callable[[], Any], reset: Callable[[], None]) -> None:
        self._state = state
        self._reset = reset
        self.faults = Faults()
        self.lock = threading.Lock()
        # Bumped by each reset: a call stalled across a reset must not touch the fresh ledger
        # (a test's hung payment would otherwise land in the next test's sandbox).
        self.generation = 0
        self.fetched = 0  # requests to /_sandbox/fetched: a parser that followed an external URL
        self.own_url = "http://127.0.0.1/"

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        return self.respond(request)(environ, start_response)

    def respond(self, request: Request) -> Response:
        """Dispatch one HTTP request, applying the fault knobs to the agency's own calls."""
        self.own_url = request.host_url
        if request.path.startswith("/_sandbox/"):
            return self._control(request)
        if not self.is_call(request):
            return self.handle(request)
        call = f"{request.method} {request.path} {request.headers.get('SOAPAction', '')}"
        with self.lock:
            mode, latency_ms, hang_seconds = self.faults.take(call)
            generation = self.generation
        if latency_ms:
            time.sleep(latency_ms / 1000)
        if mode == "hang":
            time.sleep(hang_seconds)
        if (latency_ms or mode == "hang") and generation != self.generation:
            return Response("the sandbox was reset during this call", status=503)
        if mode == "http500":
            return Response("internal error", status=500, mimetype="text/plain")
        if mode == "http503":
            return Response("unavailable", status=503, mimetype="text/plain")
        if mode == "oversized":
            return Response(self.oversized(), mimetype=self.mimetype)
        if mode not in (None, "hang", "slow_reply", "drop_after_apply"):
            return self.fault_response(mode)
        response = self.handle(request)
        if mode == "slow_reply":
            time.sleep(hang_seconds)
        if mode == "drop_after_apply":
            _drop_connection(request)
        return response

    mimetype = "application/octet-stream"

    def is_call(self, request: Request) -> bool:
        """Whether ``request`` is one of the agency's operations (faults apply to those only)."""
        return True

    def handle(self, request: Request) -> Response:
        """Answer one call of the agency's protocol."""
        raise NotImplementedError

    def fault_response(self, mode: str) -> Response:
        """The reply for a protocol-specific fault mode."""
        raise NotImplementedError

    def oversized(self) -> Iterator[bytes]:
        """A well-formed reply of 12 MB, streamed."""
        raise NotImplementedError

    def _control(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox/fetched"):
            with self.lock:
                self.fetched += 1
            return Response(b"<!ENTITY leaked 'yes'>", mimetype="text/xml")
        if path == "/_sandbox/state" and request.method == "GET":
            with self.lock:
                state = {**self._state(), "xxe_fetches": self.fetched}
            return Response(json.dumps(state, ensure_ascii=False), mimetype="application/json")
        if path == "/_sandbox/reset" and request.method == "POST":
            with self.lock:
                self._reset()
                self.faults = Faults()
                self.generation += 1
                self.fetched = 0
            return Response(status=204)
        if path == "/_sandbox/faults" and request.method == "DELETE":
            with self.lock:
                self.faults = Faults()
            return Response(status=204)
        if path == "/_sandbox/faults" and request.method == "POST":
            knobs = request.get_json(silent=True) or {}
            mode = knobs.get("mode")
            if mode is not None and mode not in self.MODES:
                return Response(f"mode must be one of {self.MODES}", status=400)
            with self.lock:
                self.faults = Faults(
                    mode=mode,
                    latency_ms=int(knobs.get("latency_ms", 0)),
                    times=knobs.get("times"),
                    hang_seconds=float(knobs.get("hang_seconds", 30)),
                    only=knobs.get("only"),
                )
            return Response(status=204)
        return Response("unknown sandbox control", status=404)


class SoapSandbox(Sandbox):
    """A document/literal SOAP 1.1 sandbox for one agency (adds ``soap_fault`` and ``xxe``).

    Operations take the request's children as ``{element: text}`` and return a mapping whose
    values are text, or lists of mappings (repeated elements with children), or raise
    ``SoapFault``.
    """

    MODES = (*Sandbox.MODES, "soap_fault", "xxe", "xxe_http", "dtd", "deep_xml")
    mimetype = "text/xml"

    def __init__(
        self,
        *,
        wsdl: Path,
        namespace: str,
        operations: Mapping[str, Operation],
        state: Callable[[], Any],
        reset: Callable[[], None],
    ) -> None:
        super().__init__(state=state, reset=reset)
        self.wsdl = Path(wsdl)
        self.namespace = namespace
        self.operations = dict(operations)

    def is_call(self, request: Request) -> bool:
        return request.method == "POST"

    def handle(self, request: Request) -> Response:
        if request.method == "GET" and "wsdl" in {k.lower() for k in request.args}:
            return Response(self.wsdl.read_bytes(), mimetype="text/xml")
        if request.method != "POST":
            return Response("POST a SOAP envelope, or GET ?wsdl", status=405)
        return self._soap(request)

    def fault_response(self, mode: str) -> Response:
        if mode == "malformed":
            return Response(
                b"<soap:Envelope xmlns:soap='" + SOAP_ENV.encode() + b"'><soap:Bo",
                mimetype="text/xml",
            )
        if mode == "soap_fault":
            return self._fault(SoapFault("sandbox injected server fault", faultcode="soap:Server"))
        if mode == "deep_xml":
            return Response(self._deep(), mimetype="text/xml")
        reply = {"xxe": XXE_REPLY, "xxe_http": XXE_HTTP_REPLY, "dtd": DTD_REPLY}[mode]
        url = f"{self.own_url}_sandbox/fetched".encode()
        reply = reply.replace(b"URL", url).replace(b"NS", self.namespace.encode())
        return Response(reply, mimetype="text/xml")

    def _deep(self) -> Iterator[bytes]:
        """An envelope whose body nests ``DEEP_XML_LEVELS`` elements (small, but deep)."""
        yield b"<soap:Envelope xmlns:soap='" + SOAP_ENV.encode() + b"'><soap:Body>"
        yield b"<a>" * DEEP_XML_LEVELS
        yield b"</a>" * DEEP_XML_LEVELS
        yield b"</soap:Body></soap:Envelope>"

    def oversized(self) -> Iterator[bytes]:
        yield b"<soap:Envelope xmlns:soap='" + SOAP_ENV.encode() + b"'><soap:Body><x>"
        block = (b"<y>" + b"z" * 1017 + b"</y>") * 64  # 64 KB writes: as fast as a sender can
        for _ in range(OVERSIZED_BYTES // len(block)):
            yield block
        yield b"</x></soap:Body></soap:Envelope>"

    def _soap(self, request: Request) -> Response:
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return self._fault(SoapFault("request too large"))
        try:
            envelope = etree.fromstring(request.get_data(), parser=_SAFE_PARSER)
            body = envelope.find(f"{{{SOAP_ENV}}}Body")
            call = next(iter(body)) if body is not None else None
        except (etree.XMLSyntaxError, StopIteration):
            return self._fault(SoapFault("malformed SOAP envelope"))
        if call is None or etree.QName(call).namespace != self.namespace:
            return self._fault(SoapFault("no operation in the SOAP body"))
        name = etree.QName(call).localname
        operation = self.operations.get(name)
        if operation is None:
            return self._fault(SoapFault(f"unknown operation {name}"))
        args = {
            etree.QName(child).localname: (child.text or "")
            for child in call
            if isinstance(child.tag, str)
        }
        try:
            with self.lock:
                result = operation(args)
        except SoapFault as fault:
            return self._fault(fault)
        return self._envelope(f"{name}Response", result)

    def _fill(self, parent: Any, fields: Mapping[str, Any]) -> None:
        for key, value in fields.items():
            if value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                child = etree.SubElement(parent, f"{{{self.namespace}}}{key}")
                if isinstance(item, Mapping):
                    self._fill(child, item)
                else:
                    child.text = str(item).lower() if isinstance(item, bool) else str(item)

    def _envelope(self, element: str, fields: Mapping[str, Any]) -> Response:
        envelope = etree.Element(
            f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "tns": self.namespace}
        )
        body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
        self._fill(etree.SubElement(body, f"{{{self.namespace}}}{element}"), fields)
        return Response(
            etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), mimetype="text/xml"
        )

    def _fault(self, fault: SoapFault) -> Response:
        envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
        body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
        element = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
        etree.SubElement(element, "faultcode").text = fault.faultcode
        etree.SubElement(element, "faultstring").text = fault.message
        if fault.error_code:
            detail = etree.SubElement(element, "detail")
            etree.SubElement(
                detail, f"{{{self.namespace}}}ErrorCode", nsmap={"tns": self.namespace}
            ).text = fault.error_code
        return Response(
            etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
            status=500,
            mimetype="text/xml",
        )


class JsonError(Exception):
    """Raise from a JSON route to answer ``status`` with ``{"error": code, "message": ...}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


JsonRoute = Callable[..., Mapping[str, Any]]


class JsonSandbox(Sandbox):
    """A REST/JSON sandbox: ``routes`` maps ``"METHOD /path/<name>"`` (werkzeug rule syntax) to
    ``fn(body: dict, query: dict, **path_args) -> dict``; ``openapi`` (the contract file) is served
    at ``/openapi.json``. Errors are ``JsonError``."""

    mimetype = "application/json"

    def __init__(
        self,
        *,
        openapi: Path,
        routes: Mapping[str, JsonRoute],
        state: Callable[[], Any],
        reset: Callable[[], None],
    ) -> None:
        super().__init__(state=state, reset=reset)
        self.openapi = Path(openapi)
        rules = []
        self._routes: dict[str, JsonRoute] = {}
        for index, (spec, fn) in enumerate(routes.items()):
            method, path = spec.split(" ", 1)
            rules.append(Rule(path, methods=[method], endpoint=str(index)))
            self._routes[str(index)] = fn
        self._map = Map(rules)

    def is_call(self, request: Request) -> bool:
        return request.path != "/openapi.json"

    def handle(self, request: Request) -> Response:
        if request.path == "/openapi.json":
            return Response(self.openapi.read_bytes(), mimetype="application/json")
        try:
            endpoint, path_args = self._map.bind_to_environ(request.environ).match()
        except HTTPException as exc:
            return self._json(exc.code or 404, {"error": "not_found", "message": str(exc)})
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return self._json(413, {"error": "too_large", "message": "request too large"})
        body = request.get_json(silent=True) if request.data else {}
        if not isinstance(body, dict):
            return self._json(400, {"error": "bad_json", "message": "the body must be an object"})
        try:
            with self.lock:
                result = self._routes[endpoint](body, dict(request.args), **path_args)
        except JsonError as error:
            return self._json(error.status, {"error": error.code, "message": error.message})
        return self._json(200, result)

    def fault_response(self, mode: str) -> Response:
        return Response(b'{"debt": 12', mimetype="application/json")

    def oversized(self) -> Iterator[bytes]:
        yield b'{"padding": ['
        block = (b'"' + b"z" * 1021 + b'",') * 64
        for _ in range(OVERSIZED_BYTES // len(block)):
            yield block
        yield b'"z"]}'

    @staticmethod
    def _json(status: int, payload: Mapping[str, Any]) -> Response:
        return Response(
            json.dumps(payload, ensure_ascii=False), status=status, mimetype="application/json"
        )


@dataclass
class RunningSandbox:
    """A sandbox served on a loopback thread."""

    name: str
    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def serve(
    apps: Iterable[tuple[str, Callable[..., Any]]],
    host: str = "127.0.0.1",
    base_port: int = 0,
    ports: Mapping[str, int] | None = None,
) -> list[RunningSandbox]:
    """Serve each ``(name, wsgi_app)`` in a thread: on ``ports[name]`` when given, else on
    ``base_port + i`` (0: any free port)."""
    running = []
    for offset, (name, app) in enumerate(apps):
        if ports is not None:
            port = ports.get(name, 0)
        else:
            port = base_port + offset if base_port else 0
        server = make_server(host, port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{name}", daemon=True)
        thread.start()
        running.append(RunningSandbox(name, f"http://{host}:{server.server_port}/", server, thread))
    return running
