"""An open-loop HTTP load driver: requests on a fixed schedule, whatever the server does.

    python bench/openloop.py URL --rate 500 --seconds 15 --body-file body.json [--header K:V ...]

Prints one JSON object: p50/p99 of admitted (2xx) answers and of refusals (429/503), counts of
errors and of requests the driver itself could not send in time. Each latency is measured from
the request's *due* time, not from when it was written, so a server that stalls cannot hide the
queue behind it (the "coordinated omission" a closed loop like wrk suffers from).

One asyncio loop over raw keep-alive HTTP/1.1 connections, opened as needed (up to
``--connections``): a few tens of microseconds of the driver's CPU per request, where a thread
pool of ``requests`` sessions costs about a millisecond and falls behind on this 2-core machine
at the rates we measure. wrk2 (wrk's open-loop fork) is not packaged by Debian; locust's constant
throughput is per user, which is a closed loop again. Hence written here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

BEHIND = 2.0  # a request the driver could not send within this many seconds is not sent


class Driver:
    def __init__(self, url: str, body: bytes, headers: dict[str, str], connections: int) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        lines = [
            f"POST {parts.path or '/'} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.open = 0
        self.limit = connections
        self.results: list[tuple[int, float]] = []  # (status, seconds since due); -1: not sent

    async def one(self, due: float) -> None:
        if time.perf_counter() - due > BEHIND or (not self.idle and self.open >= self.limit):
            self.results.append((-1, 0.0))
            return
        for reused in (bool(self.idle), False):
            connection = self.idle.pop() if reused else None
            try:
                if connection is None:
                    self.open += 1
                    connection = await asyncio.open_connection(self.host, self.port)
                connection[1].write(self.request)
                status = await asyncio.wait_for(self.answer(connection[0]), timeout=5)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                self.open -= 1
                if connection is not None:
                    connection[1].close()
                if reused and isinstance(exc, (ConnectionError, asyncio.IncompleteReadError)):
                    continue  # the server closed an idle keep-alive connection: a fresh one
                self.results.append((0, time.perf_counter() - due))
                return
            self.results.append((status, time.perf_counter() - due))
            self.idle.append(connection)
            return

    @staticmethod
    async def answer(reader: asyncio.StreamReader) -> int:
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        return status

    async def run(self, rate: float, seconds: float) -> None:
        count = int(rate * seconds)
        start = time.perf_counter() + 0.2
        tasks = []
        for i in range(count):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.ensure_future(self.one(due)))
        await asyncio.gather(*tasks)


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p * len(values)))] * 1000 if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=512)
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    with open(args.body_file, "rb") as f:
        driver = Driver(
            args.url, f.read(), {k: v.strip() for k, v in headers.items()}, args.connections
        )
    asyncio.run(driver.run(args.rate, args.seconds))
    results = driver.results
    ok = sorted(t for s, t in results if 200 <= s < 300)
    refused = sorted(t for s, t in results if s in (429, 503))
    unsent = sum(1 for s, _ in results if s == -1)
    print(
        json.dumps(
            {
                "p50": percentile(ok, 0.50),
                "p99": percentile(ok, 0.99),
                "admitted": len(ok),
                "refused": len(refused),
                "refused_p99": percentile(refused, 0.99),
                "errors": sum(1 for s, _ in results if not (200 <= s < 300 or s in (429, 503, -1))),
                "sent": len(results) - unsent,
                "unsent": unsent,
            }
        )
    )


if __name__ == "__main__":
    main()
