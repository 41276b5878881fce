"""The gateway with an in-process no-op agency (``bench.noop.inquiry``, identity level 1): every
step of a real transaction — credential, operator, licence, schema, identity L1, tariff, durable
record with its log entry, signed receipt — and no agency at all."""

from __future__ import annotations

from pishkhan_gateway import Agency, Result, Service, hookimpl
from pishkhan_gateway.app import create_app


class NoopAgency:
    @hookimpl
    def pishkhan_agencies(self) -> list[Agency]:
        return [Agency(name="bench", title_fa="سنجش", title_en="Bench", default_url=None)]

    @hookimpl
    def pishkhan_services(self) -> list[Service]:
        schema = {"type": "object", "properties": {"q": {"type": "string"}}}
        return [
            Service("bench.noop.inquiry", "bench", "استعلام سنجش", "Bench", 1, "inquiry", schema)
        ]

    @hookimpl
    def pishkhan_execute(self, params: dict) -> Result:
        return Result(data={"echo": params.get("q", "")})


app = create_app(extra_plugins=[("bench-noop", NoopAgency())])
