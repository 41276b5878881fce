"""The HTTP surface. The operation machinery is here: ``operations`` (one declaration per HTTP
operation and the one path through it), ``shapes`` (the shared schema pieces), ``openapi`` and
``docs`` (the document at ``/openapi.json`` and its page), ``problem`` and ``denials`` (errors as
problem+json, refusals recorded), ``throttle`` and ``publiclimits`` (failed authentications and
public endpoints per client). The JSON API by domain is in ``api/``, the supervisors' Persian
console in ``console/``, the citizens' pages in ``citizenpages``. Handlers parse and respond; they
decide nothing."""
