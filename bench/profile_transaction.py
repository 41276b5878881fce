"""Where one transaction's time goes, in process (no HTTP server, no load driver).

    python bench/profile_transaction.py [--count 3000] [--database-url URL] [--html out.html]

Runs the no-op L1 inquiry of ``http_bench.py`` row (2) through Flask's test client on a fresh
SQLite database (``synchronous=FULL``) and prints the mean CPU and wall time per transaction,
then a pyinstrument profile of the same loop. Use it before and after a change to the hot path
and record both in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from pyinstrument import Profiler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from http_bench import CITIZEN, gateway_env, prepare  # noqa: E402

BODY = {
    "service": "bench.noop.inquiry",
    "citizen": {"national_code": CITIZEN},
    "params": {"q": "x"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--database-url")
    parser.add_argument("--html", help="also write the profile as HTML here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pishkhan-profile-"))
    db_url = args.database_url or f"sqlite:///{work / 'gateway.db'}"
    headers = prepare(db_url, work)
    os.environ.update(gateway_env(work, db_url, {"PISHKHAN_SEAL_INTERVAL_SECONDS": "3600"}))
    import noop_app

    client = noop_app.app.test_client()

    def run(n: int) -> None:
        for _ in range(n):
            response = client.post("/v1/transactions", json=BODY, headers=headers)
            assert response.status_code == 201, response.text

    run(200)  # warm up: imports, caches, the first connections
    cpu, wall = time.process_time(), time.perf_counter()
    run(args.count)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{args.count} transactions: {wall / args.count * 1000:.3f} ms wall, "
        f"{cpu / args.count * 1000:.3f} ms CPU each"
    )
    profiler = Profiler(interval=0.0002)
    with profiler:
        run(args.count)
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        Path(args.html).write_text(profiler.output_html())


if __name__ == "__main__":
    main()
