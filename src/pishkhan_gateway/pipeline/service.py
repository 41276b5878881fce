"""Step 3: the service. A service some plugin declared, and params valid against its schema and
its plugin's own checks (``pishkhan_check_params``, through the door)."""

from __future__ import annotations

from pishkhan_gateway.errors import InvalidParams, UnknownService
from pishkhan_gateway.pipeline.request import TransactionRequest
from pishkhan_gateway.plugins.door import Plugins, RegisteredService
from pishkhan_gateway.schemas import first_error


def resolve_service(plugins: Plugins, request: TransactionRequest) -> RegisteredService:
    """The registered service the request names, or ``UnknownService`` / ``InvalidParams``."""
    service = plugins.service(request.service)
    if service is None:
        raise UnknownService(f"no service {request.service!r}; see GET /v1/services")
    error = first_error(service.params_validator, request.params)
    if error is not None:
        where, message = error
        raise InvalidParams(f"{where}: {message}", field=where)
    plugins.check_params(service=service, params=request.params)
    return service
