"""The HTTP surface, by audience: ``offices`` (the counter), ``audit`` (supervisors and the
public log), ``console`` (the supervisors' Persian web pages), ``system`` (health, metrics, keys);
with ``openapi`` (the document at ``/openapi.json``), ``problem`` (errors as problem+json) and
``throttle`` (failed authentications per client). Handlers parse and respond; they decide
nothing."""
